import AsyncHTTPClient
import FerryCatalogPostgres
import FerryCore
import FerrySigV4
import FerryStorageS3
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

extension Doctor {
    // MARK: Catalog and storage

    /// Runs `body` with the backends open, bounded in time; nil (and a failed check) when they
    /// cannot be opened.
    /// The catalog is opened without migrating (a doctor changes nothing but its probe object).
    func withBackends<T: Sendable>(_ body: @Sendable (Backends.Opened) async throws -> T) async throws -> T {
        let configuration = configuration
        let logger = logger
        let opened = try await bounded { try await Backends.open(configuration, logger: logger) }
        let services = opened.services
        let running = Task {
            try await withThrowingDiscardingTaskGroup { group in
                for service in services { group.addTask { try await service.run() } }
            }
        }
        func close() async {
            await opened.close()
            running.cancel()
            _ = await running.result
        }
        do {
            let result = try await body(opened)
            await close()
            return result
        } catch {
            await close()
            throw error
        }
    }

    /// Whether this is the embedded default before its first start: nothing to open yet, and
    /// opening would create it.
    var notStartedYet: (catalog: String, blobs: String)? {
        guard case .sqlite(let path) = configuration.database, case .local(let root) = configuration.storage,
            !FileManager.default.fileExists(atPath: path), !FileManager.default.fileExists(atPath: root)
        else { return nil }
        return (path, root)
    }

    func catalogChecks() async -> [Check] {
        // (A fresh embedded default is checked without creating anything.)
        if case .sqlite(let path) = configuration.database, !FileManager.default.fileExists(atPath: path) {
            let parent = Self.nearestExisting(path)
            return [
                FileManager.default.isWritableFile(atPath: parent)
                    ? Check(
                        "catalog.reachable", .ok,
                        "no catalog yet: `ferry serve` creates \(path) at first start")
                    : Check(
                        "catalog.reachable", .fail, "\(parent) is not writable: the catalog cannot be created",
                        fix: "Set FERRY_DATA_DIR to a directory this user may write.")
            ]
        }
        do {
            let postgresChecks = try await withBackends { opened in
                try await bounded { try await opened.catalog.ping() }
                guard let postgres = opened.catalog as? PostgresCatalog else { return [Check]() }
                return try await bounded { [self] in try await postgresSchemaAndClock(postgres) }
            }
            let kind = if case .postgres = configuration.database { "PostgreSQL" } else { "SQLite" }
            return [Check("catalog.reachable", .ok, "the \(kind) catalog answers")] + postgresChecks
        } catch {
            return [
                Check(
                    "catalog.reachable", .fail, "the catalog does not answer: \(Self.describe(error))",
                    fix: "Check FERRY_DATABASE_URL (host, port, credentials) and that the database is running.")
            ]
        }
    }

    /// PostgreSQL: the schema against this binary's migrations, and the database's clock.
    func postgresSchemaAndClock(_ postgres: PostgresCatalog) async throws -> [Check] {
        var checks: [Check] = []
        switch try await postgres.schemaState() {
        case .current(let version):
            checks.append(Check("catalog.schema", .ok, "schema version \(version), this binary's"))
        case .older(let applied, let known):
            checks.append(
                Check(
                    "catalog.schema", .warn,
                    applied.map { "schema version \($0), older than this binary's \(known)" } ?? "no Ferry schema yet",
                    fix: "Nothing to do: the next `ferry serve` migrates it (under a lock, once for all nodes)."))
        case .newer(let applied, let known):
            checks.append(
                Check(
                    "catalog.schema", .fail,
                    "schema version \(applied) was written by a newer Ferry; this binary knows \(known)",
                    fix: "Run the same (or a newer) ferry version on every node."))
        }
        let skew = Int(now().timeIntervalSince(try await postgres.databaseTime()).rounded())
        checks.append(
            abs(skew) > 30
                ? Check(
                    "catalog.clock", .warn, "this host's clock is \(skew) s off the database's",
                    fix: "Synchronise the clocks (chrony, systemd-timesyncd): every node judges link expiry by its own."
                )
                : Check("catalog.clock", .ok, "clock within \(abs(skew)) s of the database's"))
        checks.append(await notifyCheck(postgres))
        return checks
    }

    func storageChecks() async -> [Check] {
        var checks: [Check] = []
        let key = "doctor-probe/" + Identifier.make()
        let content = Array("ferry doctor probe \(Identifier.make())".utf8)
        if let fresh = notStartedYet {
            checks.append(
                Check("storage.probe", .skip, "no blob store yet: `ferry serve` creates \(fresh.blobs) at first start"))
            checks.append(freeSpaceCheck(fresh.blobs))
            return checks
        }
        do {
            // The store alone: probing it must not create a catalog that does not exist yet.
            let configuration = configuration
            let logger = logger
            let (store, close) = try await bounded { try await Backends.openStore(configuration, logger: logger) }
            let linkChecks: [Check]
            do {
                let (back, part) = try await bounded {
                    let upload = try await store.beginUpload(key: key, sizeHint: Int64(content.count))
                    try await upload.write(ByteBuffer(bytes: content))
                    try await upload.commit()
                    var back: [UInt8] = []
                    try await store.read(key: key, range: nil) { back += Array($0.readableBytesView) }
                    var part: [UInt8] = []
                    try await store.read(key: key, range: 5...10) { part += Array($0.readableBytesView) }
                    return (back, part)
                }
                // While the probe exists: the links the store signs, fetched as clients will.
                var checks = await storageLinkChecks(store, key: key, content: content)
                if case .s3(let settings) = configuration.storage {
                    checks.append(await anonymousAccessCheck(settings, key: key))
                }
                try await bounded { try await store.delete(key: key) }
                guard back == content, part == Array(content[5...10]) else {
                    throw DoctorFailure("the probe read back other bytes than were written")
                }
                linkChecks = checks
                await close()
            } catch {
                await close()
                throw error
            }
            checks.append(Check("storage.probe", .ok, "wrote, read back, range-read and deleted a probe object"))
            checks += linkChecks
        } catch {
            checks.append(
                Check(
                    "storage.probe", .fail, "the store failed the probe: \(Self.describe(error))",
                    fix: "Check FERRY_STORAGE and, on S3, the endpoint, bucket and credentials."))
        }
        switch configuration.storage {
        case .local(let root):
            checks.append(freeSpaceCheck(root))
        case .s3(let settings):
            checks.append(await clockSkewCheck(settings))
            checks.append(temporaryCredentialsCheck(settings))
            checks.append(await corsCheck(settings))
            checks += await bucketRulesChecks(settings)
        }
        return checks
    }

    /// A presigned GET of the probe through `FERRY_S3_PUBLIC_ENDPOINT` (the host clients reach; the
    /// Host is signed) answers its bytes; and one dated four minutes back is still accepted (some
    /// S3-compatible stores refuse a signing time in the past, and nodes' clocks differ).
    func storageLinkChecks(_ store: any BlobStore, key: String, content: [UInt8]) async -> [Check] {
        let at = now()
        func fetch(signedAt: Date) async throws -> (url: String, status: Int, body: [UInt8])? {
            guard
                let signed = try await store.signedURL(
                    for: key,
                    request: SignedURLRequest(
                        expiresAt: at.addingTimeInterval(300), now: signedAt, contentType: "text/plain",
                        contentDisposition: "attachment; filename=\"probe.txt\"")),
                signed.strategy == "storage"
            else { return nil }
            let client = Self.httpClient()
            defer { _ = client.shutdown() }
            // Short: the HTTP client retries a refused connection until this deadline.
            let response = try await client.execute(HTTPClientRequest(url: signed.url), timeout: .seconds(3))
            let body = try await response.body.collect(upTo: 1 << 20)
            let host = URL(string: signed.url)?.host ?? "?"
            return (host, Int(response.status.code), Array(body.readableBytesView))
        }
        var checks: [Check] = []
        do {
            guard let direct = try await fetch(signedAt: at) else { return [] }
            if direct.status == 200, direct.body == content {
                checks.append(
                    Check(
                        "storage.public_endpoint", .ok,
                        "a presigned GET through \(direct.url) answers the probe's bytes"))
            } else {
                checks.append(
                    Check(
                        "storage.public_endpoint", .fail,
                        "a presigned GET through \(direct.url) answered \(direct.status)",
                        fix:
                            "Set FERRY_S3_PUBLIC_ENDPOINT to the store's address as clients reach it (the Host is signed)."
                    ))
            }
        } catch {
            checks.append(
                Check(
                    "storage.public_endpoint", .fail,
                    "a presigned GET through the public endpoint failed: \(Self.describe(error))",
                    fix: "Set FERRY_S3_PUBLIC_ENDPOINT to an address of the store that this host and clients reach."))
            return checks
        }
        do {
            if let backdated = try await fetch(signedAt: at.addingTimeInterval(-240)) {
                checks.append(
                    backdated.status == 200
                        ? Check("storage.presign_backdated", .ok, "a presigned URL dated 4 minutes back is accepted")
                        : Check(
                            "storage.presign_backdated", .warn,
                            "the store refuses a presigned URL dated 4 minutes back (\(backdated.status))",
                            fix:
                                "Keep every node's clock within seconds of the store's; links signed on a node slightly behind will fail."
                        ))
            }
        } catch {
            checks.append(Check("storage.presign_backdated", .skip, "could not fetch: \(Self.describe(error))"))
        }
        return checks
    }

    func freeSpaceCheck(_ root: String) -> Check {
        let path = Self.nearestExisting(root)
        guard let attributes = try? FileManager.default.attributesOfFileSystem(forPath: path),
            let free = (attributes[.systemFreeSize] as? NSNumber)?.int64Value
        else { return Check("storage.free_space", .skip, "cannot read the free space under \(path)") }
        if free < configuration.maxUploadBytes {
            return Check(
                "storage.free_space", .warn,
                "\(free) bytes free under \(path), less than FERRY_MAX_UPLOAD_BYTES (\(configuration.maxUploadBytes))",
                fix: "Free space or lower FERRY_MAX_UPLOAD_BYTES; an upload that does not fit fails with 507.")
        }
        return Check("storage.free_space", .ok, "\(free) bytes free under \(path)")
    }
}
