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

/// `ferry doctor` (CLI.md "Deployment check"): the deployment a configuration describes, checked
/// the way links fail in production. Every probe is bounded in time; nothing secret is printed;
/// the only change is a probe object written, read back and deleted.
public struct Doctor: Sendable {
    /// One check's outcome, a line of the report.
    public struct Check: Sendable, Equatable, Codable {
        /// The stable dotted name, e.g. `storage.probe`.
        public var check: String
        /// `ok`, `warn`, `fail` or `skip`.
        public var status: Status
        /// What was found.
        public var detail: String
        /// What to do about it; nil when ok.
        public var fix: String?

        /// The outcome of a check.
        public enum Status: String, Sendable, Codable {
            case ok, warn, fail, skip
        }

        /// Creates a check.
        public init(_ check: String, _ status: Status, _ detail: String, fix: String? = nil) {
            self.check = check
            self.status = status
            self.detail = detail
            self.fix = fix
        }

        enum CodingKeys: String, CodingKey { case check, status, detail, fix }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(check, forKey: .check)
            try c.encode(status, forKey: .status)
            try c.encode(detail, forKey: .detail)
            try c.encode(fix, forKey: .fix)  // null when ok, as CLI.md shows
        }
    }

    let configuration: FerryConfiguration
    /// The variables the configuration was read from (environment, then the --config file).
    let variables: [String: String]
    let logger: Logger
    /// This host's clock; a test hook shifts it (debug builds only, `FERRY_TEST_CLOCK_OFFSET`).
    let now: @Sendable () -> Date
    /// How long any one probe may take.
    let timeout: TimeAmount

    /// Creates a doctor for a parsed configuration.
    public init(
        configuration: FerryConfiguration, variables: [String: String], logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }, timeout: TimeAmount = .seconds(5)
    ) {
        self.configuration = configuration
        self.variables = variables
        self.logger = logger
        self.now = now
        self.timeout = timeout
    }

    /// Every variable Ferry reads (README "Configuration"); anything else named `FERRY_*` is a typo.
    static let knownVariables: Set<String> = [
        "FERRY_LISTEN", "FERRY_PUBLIC_URL", "FERRY_DATA_DIR", "FERRY_DATABASE_URL", "FERRY_DATABASE_POOL",
        "FERRY_DATABASE_TIMEOUT", "FERRY_STORAGE", "FERRY_S3_ENDPOINT", "FERRY_S3_REGION", "FERRY_S3_PATH_STYLE",
        "FERRY_S3_PUBLIC_ENDPOINT", "FERRY_SIGNING_KEYS", "FERRY_LINK_TTL", "FERRY_LINK_TTL_MAX",
        "FERRY_PROXY_MAX_BYTES", "FERRY_MAX_UPLOAD_BYTES", "FERRY_ALLOWED_TYPES", "FERRY_CORS_ORIGINS",
        "FERRY_BOOTSTRAP_TOKEN", "FERRY_BOOTSTRAP_PASSWORD", "FERRY_TRUSTED_PROXIES", "FERRY_UPLOAD_EXPIRY",
        "FERRY_SHUTDOWN_GRACE", "FERRY_METRICS_TOKEN", "FERRY_CLOUDFRONT_DOMAIN", "FERRY_CLOUDFRONT_KEY_PAIR_ID",
        "FERRY_CLOUDFRONT_PRIVATE_KEY_FILE", "FERRY_CLOUDFRONT_HASH",
        // The client's, harmless in a server's environment.
        "FERRY_URL", "FERRY_TOKEN", "FERRY_LINK_PASSWORD", "FERRY_TEST_CLOCK_OFFSET",
    ]

    /// Runs every check, in order.
    public func run() async -> [Check] {
        var checks = configurationChecks()
        checks += await catalogChecks()
        checks += await storageChecks()
        checks.append(signingKeysCheck())
        checks += await serviceChecks()
        return checks
    }

    // MARK: Configuration

    func configurationChecks() -> [Check] {
        var checks = [Check("config.parse", .ok, "every variable parses (the same code as `ferry serve`)")]
        let unknown = variables.keys.filter { $0.hasPrefix("FERRY_") && !Self.knownVariables.contains($0) }.sorted()
        checks.append(
            unknown.isEmpty
                ? Check("config.unknown_variables", .ok, "no unknown FERRY_* variable")
                : Check(
                    "config.unknown_variables", .warn, "unknown variables (typos?): \(unknown.joined(separator: ", "))",
                    fix: "Rename or remove them; README \"Configuration\" lists every variable Ferry reads."))
        let url = URL(string: configuration.publicURL)
        let host = url?.host ?? ""
        let loopback = host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
        if configuration.isSecure || loopback {
            checks.append(Check("config.public_url", .ok, "public URL \(configuration.publicURL)"))
        } else {
            checks.append(
                Check(
                    "config.public_url", .warn,
                    "public URL \(configuration.publicURL) is plain http on a non-loopback host: links and session cookies travel in clear and cookies lack Secure",
                    fix: "Put TLS in front and set FERRY_PUBLIC_URL=https://..."))
        }
        if case .s3 = configuration.storage, configuration.linkTTLMax > LinkIssuer.storageTTLMax {
            checks.append(
                Check(
                    "config.link_ttl", .warn,
                    "FERRY_LINK_TTL_MAX is \(configuration.linkTTLMax) s, above the 7 days a storage link can live",
                    fix: "Set FERRY_LINK_TTL_MAX=604800 or less; longer links are refused for storage delivery."))
        } else {
            checks.append(
                Check(
                    "config.link_ttl", .ok, "link TTL \(configuration.linkTTL) s, at most \(configuration.linkTTLMax) s"
                ))
        }
        return checks
    }

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
        if let fresh = notStartedYet {
            let parent = Self.nearestExisting(fresh.catalog)
            return [
                FileManager.default.isWritableFile(atPath: parent)
                    ? Check(
                        "catalog.reachable", .ok,
                        "no catalog yet: `ferry serve` creates \(fresh.catalog) at first start")
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
            let linkChecks = try await withBackends { opened in
                let (back, part) = try await bounded {
                    let upload = try await opened.store.beginUpload(key: key, sizeHint: Int64(content.count))
                    try await upload.write(ByteBuffer(bytes: content))
                    try await upload.commit()
                    var back: [UInt8] = []
                    try await opened.store.read(key: key, range: nil) { back += Array($0.readableBytesView) }
                    var part: [UInt8] = []
                    try await opened.store.read(key: key, range: 5...10) { part += Array($0.readableBytesView) }
                    return (back, part)
                }
                // While the probe exists: the links the store signs, fetched as clients will.
                let linkChecks = await storageLinkChecks(opened.store, key: key, content: content)
                try await bounded { try await opened.store.delete(key: key) }
                guard back == content, part == Array(content[5...10]) else {
                    throw DoctorFailure("the probe read back other bytes than were written")
                }
                return linkChecks
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

    /// The store's clock against this host's, from the `Date` of any answer (SigV4 refuses
    /// requests more than 15 minutes off, and presigned links die early or late).
    func clockSkewCheck(_ settings: S3BlobStore.Configuration) async -> Check {
        let client = Self.httpClient()
        defer { _ = client.shutdown() }
        do {
            let response = try await client.execute(
                HTTPClientRequest(url: settings.endpoint.description + "/"), timeout: timeout)
            guard let text = response.headers.first(name: "date"), let date = HTTPDate.parse(text) else {
                return Check("storage.clock", .skip, "the store sent no Date header")
            }
            let skew = Int(now().timeIntervalSince(date).rounded())
            if abs(skew) >= 900 {
                return Check(
                    "storage.clock", .fail,
                    "this host's clock is \(skew) s off the store's: S3 refuses signatures past 15 minutes",
                    fix: "Synchronise the clock (chrony, systemd-timesyncd) on this host.")
            }
            if abs(skew) > 60 {
                return Check(
                    "storage.clock", .warn, "this host's clock is \(skew) s off the store's",
                    fix: "Synchronise the clock; links expire by the store's clock.")
            }
            return Check("storage.clock", .ok, "clock within \(abs(skew)) s of the store's")
        } catch {
            return Check(
                "storage.clock", .fail, "the store at \(settings.endpoint) does not answer: \(Self.describe(error))",
                fix: "Check FERRY_S3_ENDPOINT and that the store is reachable from this host.")
        }
    }

    /// The bucket's CORS rules let every origin that fetches storage links from a browser (Ferry's
    /// own web app, and `FERRY_CORS_ORIGINS`) make ranged GET and HEAD requests and read the
    /// headers a download manager needs.
    func corsCheck(_ settings: S3BlobStore.Configuration) async -> Check {
        let client = S3Client(configuration: settings, logger: logger)
        let rules: [S3Client.CORSRule]
        do {
            rules = try await bounded { try await client.getBucketCors() }
            await client.shutdown()
        } catch {
            await client.shutdown()
            return Check("storage.cors", .skip, "cannot read the bucket's CORS rules: \(Self.describe(error))")
        }
        let origins =
            [configuration.publicOrigin] + configuration.corsOrigins.filter { $0 != configuration.publicOrigin }
        let needed = ["etag", "content-range", "content-length"]
        var problems: [String] = []
        for origin in origins {
            for method in ["GET", "HEAD"] {
                let matching = rules.filter { $0.allows(origin: origin, method: method) }
                guard !matching.isEmpty else {
                    problems.append("\(method) from \(origin) is not allowed")
                    continue
                }
                if method == "GET",
                    !matching.contains(where: { $0.allowedHeaders.contains { $0 == "*" || $0.lowercased() == "range" } }
                    )
                {
                    problems.append("the Range header from \(origin) is not allowed")
                }
                if method == "GET",
                    !matching.contains(where: { rule in
                        let exposed = Set(rule.exposeHeaders.map { $0.lowercased() })
                        return needed.allSatisfy(exposed.contains)
                    })
                {
                    problems.append("ETag, Content-Range and Content-Length are not all exposed to \(origin)")
                }
            }
        }
        if problems.isEmpty {
            return Check(
                "storage.cors", .ok, "the bucket's CORS rules let \(origins.joined(separator: ", ")) fetch ranges")
        }
        return Check(
            "storage.cors", .fail,
            "browsers cannot download storage links: " + problems.prefix(4).joined(separator: "; "),
            fix:
                "Add a CORS rule to the bucket (aws s3api put-bucket-cors): AllowedOrigins \(origins.joined(separator: ", ")), AllowedMethods GET and HEAD, AllowedHeaders Range (or *), ExposeHeaders ETag, Content-Range, Content-Length."
        )
    }

    /// Lifecycle rules that would abort a tus upload's multipart upload (or delete blobs) before
    /// `FERRY_UPLOAD_EXPIRY`, the lack of any abort rule (abandoned parts are billed), and
    /// versioning (deleted blobs would live on as noncurrent versions).
    func bucketRulesChecks(_ settings: S3BlobStore.Configuration) async -> [Check] {
        let client = S3Client(configuration: settings, logger: logger)
        var checks: [Check] = []
        let expiryDays = Double(configuration.uploadExpiry) / 86_400
        do {
            let rules = try await bounded { try await client.getBucketLifecycle() }.filter { $0.status == "Enabled" }
            let aborts = rules.compactMap(\.abortIncompleteAfterDays)
            let expirations = rules.compactMap(\.expirationDays)
            if let soonest = aborts.min(), Double(soonest) < expiryDays {
                checks.append(
                    Check(
                        "storage.lifecycle", .fail,
                        "a lifecycle rule aborts multipart uploads after \(soonest) day(s), sooner than FERRY_UPLOAD_EXPIRY (\(configuration.uploadExpiry) s): a resumable upload would lose its parts",
                        fix:
                            "Set DaysAfterInitiation to at least \(Int(expiryDays.rounded(.up))) (plus a day), or lower FERRY_UPLOAD_EXPIRY."
                    ))
            } else if let soonest = expirations.min() {
                checks.append(
                    Check(
                        "storage.lifecycle", .fail,
                        "a lifecycle rule deletes objects after \(soonest) day(s): files would lose their bytes",
                        fix:
                            "Remove the Expiration rule from the bucket (or its prefix); Ferry deletes what it no longer needs."
                    ))
            } else if aborts.isEmpty {
                checks.append(
                    Check(
                        "storage.lifecycle", .warn, "no rule aborts incomplete multipart uploads",
                        fix:
                            "Add AbortIncompleteMultipartUpload with DaysAfterInitiation \(Int(expiryDays.rounded(.up)) + 1): parts a crash leaves are billed until aborted (Ferry's janitor aborts those it knows)."
                    ))
            } else {
                checks.append(
                    Check(
                        "storage.lifecycle", .ok,
                        "unfinished multipart uploads are aborted after \(aborts.min() ?? 0) days"))
            }
        } catch {
            checks.append(Check("storage.lifecycle", .skip, "cannot read the lifecycle rules: \(Self.describe(error))"))
        }
        do {
            let versioning = try await bounded { try await client.getBucketVersioning() }
            checks.append(
                versioning == "Enabled"
                    ? Check(
                        "storage.versioning", .warn,
                        "versioning is on: blobs Ferry deletes stay as noncurrent versions (billed, and readable by whoever can read versions)",
                        fix: "Suspend versioning, or add a NoncurrentVersionExpiration rule.")
                    : Check("storage.versioning", .ok, "versioning is off"))
        } catch {
            checks.append(Check("storage.versioning", .skip, "cannot read versioning: \(Self.describe(error))"))
        }
        await client.shutdown()
        return checks
    }

    func temporaryCredentialsCheck(_ settings: S3BlobStore.Configuration) -> Check {
        guard settings.credentials.sessionToken != nil else {
            return Check("storage.credentials", .ok, "long-lived credentials (no AWS_SESSION_TOKEN)")
        }
        if configuration.linkTTLMax > 3600 {
            return Check(
                "storage.credentials", .warn,
                "temporary credentials (AWS_SESSION_TOKEN) with FERRY_LINK_TTL_MAX \(configuration.linkTTLMax) s: a presigned link dies with the credentials that signed it, often within an hour",
                fix: "Use long-lived credentials for signing, or keep FERRY_LINK_TTL_MAX within the credentials' life.")
        }
        return Check("storage.credentials", .ok, "temporary credentials, links at most \(configuration.linkTTLMax) s")
    }

    // MARK: Links

    func signingKeysCheck() -> Check {
        if let keys = configuration.signingKeys {
            guard keys.allSatisfy({ $0.secret.count >= 32 }) else {
                return Check(
                    "links.signing_keys", .fail, "a key of FERRY_SIGNING_KEYS is shorter than 256 bits",
                    fix: "Use 32 random bytes per key: head -c 32 /dev/urandom | base64")
            }
            return Check("links.signing_keys", .ok, "\(keys.count) key(s) from FERRY_SIGNING_KEYS, 256 bits or more")
        }
        let path = configuration.dataDirectory + "/signing-keys"
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            return Check(
                "links.signing_keys", .ok, "no key yet: `ferry serve` generates \(path) (mode 0600) at first start")
        }
        let mode = ((attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0) & 0o777
        if mode & 0o077 != 0 {
            return Check(
                "links.signing_keys", .fail,
                "\(path) has mode \(String(mode, radix: 8)): others can read the key that signs every link",
                fix: "chmod 600 \(path), and rotate the key if others may have read it.")
        }
        let owner = (attributes[.ownerAccountID] as? NSNumber)?.uint32Value
        if let owner, owner != getuid() {
            return Check(
                "links.signing_keys", .warn, "\(path) belongs to uid \(owner), not this user (\(getuid()))",
                fix: "Run ferry as the key's owner, or chown the file to it.")
        }
        return Check("links.signing_keys", .ok, "\(path): mode 600, this user's")
    }

    // MARK: The running service

    func serviceChecks() async -> [Check] {
        let client = Self.httpClient()
        defer { _ = client.shutdown() }
        let base = configuration.publicURL
        var checks: [Check] = []
        for path in ["/healthz", "/readyz"] {
            let name = "service" + path.replacingOccurrences(of: "/", with: ".")
            do {
                let response = try await client.execute(HTTPClientRequest(url: base + path), timeout: timeout)
                if response.status.code == 200 {
                    checks.append(Check(name, .ok, "\(base)\(path) answers 200"))
                } else {
                    checks.append(
                        Check(
                            name, .fail, "\(base)\(path) answers \(response.status.code)",
                            fix: path == "/readyz"
                                ? "The node runs but its catalog or storage does not answer; see its log."
                                : "Something else answers at FERRY_PUBLIC_URL; check the proxy in front."))
                }
            } catch {
                checks.append(
                    Check(
                        name, .skip,
                        "nothing answers at \(base)\(path) (\(Self.describe(error))): the service is not running there",
                        fix: "Start `ferry serve`, or check that FERRY_PUBLIC_URL is the address users reach."))
            }
        }
        return checks
    }

    // MARK: Helpers

    /// Runs `body`, failing when it takes longer than `timeout`.
    func bounded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let limit = Duration.nanoseconds(timeout.nanoseconds)
        return try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw DoctorFailure("no answer within \(limit)")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// An HTTP client that fails at once on a refused connection (instead of retrying it until
    /// the deadline), for probes.
    static func httpClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// `path` or its nearest ancestor that exists.
    static func nearestExisting(_ path: String) -> String {
        var url = URL(fileURLWithPath: path).standardizedFileURL
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" { url.deleteLastPathComponent() }
        return url.path
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? FerryError { return error.message }
        if let error = error as? DoctorFailure { return error.description }
        return String(describing: error).prefix(300).description
    }
}

/// Why a probe failed, in words.
struct DoctorFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
