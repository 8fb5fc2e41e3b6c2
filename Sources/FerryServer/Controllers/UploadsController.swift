import Crypto
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Resumable uploads: tus 1.0.0 at `/v1/uploads` with the creation, creation-with-upload,
/// termination, checksum and expiration extensions (API.md "Resumable uploads"). The upload's
/// state lives in the catalog and its bytes in the store after every PATCH, so any node continues
/// it; a lease in the catalog keeps two PATCHes from writing one upload at once.
struct UploadsController: Sendable {
    typealias Context = FerryRequestContext
    let services: FerryServices

    /// How long a PATCH's lease on an upload lasts unless renewed: a writer that died (its node
    /// killed) blocks the upload this long at most. A writer renews it before writing again once a
    /// quarter of it has passed, so a writer that stalled past it stops before it writes another
    /// byte (another writer may hold the upload by then). Nodes' clocks must agree within a few
    /// seconds (the catalog compares lease times of different nodes).
    static let leaseTime: TimeInterval = 30
    /// How long a completed upload's `HEAD` keeps answering with its file.
    static let completedKept: TimeInterval = 86_400

    func addRoutes(to router: Router<Context>) {
        let uploads = router.group("v1/uploads").add(middleware: TusMiddleware())
        uploads.on("", method: .options, use: options)
        uploads.post("", use: create)
        uploads.on("{id}", method: .head, use: head)
        uploads.patch("{id}", use: patch)
        uploads.delete("{id}", use: delete)
    }

    /// `OPTIONS`: what this server speaks (no credentials needed).
    @Sendable func options(_ request: Request, context: Context) async throws -> Response {
        Response(
            status: .noContent,
            headers: [
                .tusVersion: Tus.version, .tusExtension: Tus.extensions,
                .tusMaxSize: String(services.configuration.maxUploadBytes),
                .tusChecksumAlgorithm: Tus.checksumAlgorithms,
            ])
    }

    // MARK: Creation

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let configuration = services.configuration
        guard let lengthText = request.headers[.uploadLength], let length = Int64(lengthText), length >= 0 else {
            throw FerryError(
                .badRequest, "Send Upload-Length with the upload's size in bytes (deferred lengths are not supported).")
        }
        guard length <= configuration.maxUploadBytes else {
            throw FerryError(
                .tooLarge, "The file is larger than this server's limit of \(configuration.maxUploadBytes) bytes.")
        }
        let metadata = try Tus.metadata(request.headers[.uploadMetadata])
        guard let rawName = metadata["filename"], !rawName.isEmpty else {
            throw FerryError(.badRequest, "Upload-Metadata must name the file: filename <base64 of the name>.")
        }
        let name = try FileName.validate(rawName)
        guard let contentType = MediaType.ofUpload(contentType: metadata["filetype"], fileName: name) else {
            throw FerryError(.badRequest, "The filetype '\(metadata["filetype"] ?? "")' is not a media type.")
        }
        guard MediaType.isAllowed(contentType, by: configuration.allowedTypes) else {
            throw FerryError(
                .typeNotAllowed,
                "Files of type \(contentType) are not accepted here; allowed: \(configuration.allowedTypes?.joined(separator: ", ") ?? "")."
            )
        }
        var expected: String?
        if let hex = metadata["sha256"] {
            guard let bytes = Hex.decode(hex), bytes.count == 32 else {
                throw FerryError(.badRequest, "The sha256 metadata must be 64 hex characters.")
            }
            expected = Hex.encode(bytes)
        }
        var fileID = Identifier.make()
        var replaces: String?
        if let target = metadata["file_id"] {
            fileID = try await services.authorize(fileID: target, principal: principal, for: .manage).id
            replaces = fileID
        }
        let key = "\(fileID)/\(Identifier.make())"
        let now = services.now()
        let storeState = try await services.store.beginResumable(key: key, length: length)
        let upload = UploadRecord(
            id: Identifier.make(), creatorID: principal.userID, creatorName: principal.username, replaces: replaces,
            name: name, contentType: contentType, length: length, expectedSHA256: expected, blobKey: key,
            storeState: storeState, createdAt: now,
            expiresAt: now.addingTimeInterval(Double(configuration.uploadExpiry)))
        do {
            try await services.catalog.createUpload(upload)
        } catch {
            await services.store.discardResumable(key: key, state: storeState)
            throw error
        }
        var headers: HTTPFields = [
            .location: "\(configuration.publicURL)/v1/uploads/\(upload.id)",
            .uploadExpires: HTTPDate.format(upload.expiresAt),
        ]
        // creation-with-upload: the body is the first chunk.
        if MediaType.essence(request.headers[.contentType] ?? "") == Tus.patchContentType {
            let written = try await write(
                upload.id, request: request, context: context, principal: principal, offset: "0")
            headers.append(contentsOf: written)
        } else if length == 0 {
            // Nothing to send: the upload is complete at once.
            headers.append(
                contentsOf: try await write(
                    upload.id, request: request, context: context, principal: principal, offset: "0", empty: true))
        }
        return Response(status: .created, headers: headers)
    }

    // MARK: Offset, PATCH, termination

    @Sendable func head(_ request: Request, context: Context) async throws -> Response {
        let upload = try await visibleUpload(try context.parameters.require("id"), context: context)
        var headers: HTTPFields = [
            .uploadOffset: String(upload.offset), .uploadLength: String(upload.length), .cacheControl: "no-store",
            .uploadExpires: HTTPDate.format(upload.expiresAt),
        ]
        if let file = upload.completedFileID { headers[.ferryFileID] = file }
        return Response(status: .ok, headers: headers)
    }

    @Sendable func patch(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.require("id")
        _ = try await visibleUpload(id, context: context)
        let headers = try await write(
            id, request: request, context: context, principal: principal, offset: request.headers[.uploadOffset])
        return Response(status: .noContent, headers: headers)
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        let upload = try await visibleUpload(try context.parameters.require("id"), context: context)
        let holder = Identifier.make()
        switch try await services.catalog.leaseUpload(
            id: upload.id, holder: holder, now: services.now(), until: services.now().addingTimeInterval(Self.leaseTime)
        )
        {
        case .missing: throw Self.gone
        case .locked: throw Self.locked
        case .taken(let current):
            if current.completedFileID == nil {
                await services.store.discardResumable(key: current.blobKey, state: current.storeState)
            }
            _ = try await services.catalog.deleteUpload(id: current.id)
            await services.uploadHashes.remove(current.id)
        }
        return Response(status: .noContent)
    }

    /// The upload, if the caller created it or is an admin; 404 otherwise (others may not know it
    /// exists), and for an unfinished upload past its expiry.
    func visibleUpload(_ id: String, context: Context) async throws -> UploadRecord {
        let principal = try context.requirePrincipal()
        guard Identifier.isWellFormed(id), let upload = try await services.catalog.upload(id: id),
            upload.creatorID == principal.userID || principal.isAdmin,
            upload.completedFileID != nil || upload.expiresAt > services.now()
        else { throw Self.gone }
        return upload
    }

    static let gone = FerryError(.notFound, "No such upload: it was completed long ago, deleted, or expired.")
    static let locked = FerryError(
        .uploadLocked,
        "Another request is writing this upload right now (or one that broke off; it lets go within \(Int(leaseTime)) seconds); retry in a moment.",
        retryAfter: 5)

    /// Writes the request's body at `offset` under the upload's lease, records what was stored,
    /// and completes the upload when its last byte arrived. Returns the response's tus headers.
    func write(
        _ id: String, request: Request, context: Context, principal: Principal, offset: String?, empty: Bool = false
    ) async throws -> HTTPFields {
        let holder = Identifier.make()
        let now = services.now()
        let upload: UploadRecord
        switch try await services.catalog.leaseUpload(
            id: id, holder: holder, now: now, until: now.addingTimeInterval(Self.leaseTime))
        {
        case .missing: throw Self.gone
        case .locked: throw Self.locked
        case .taken(let taken): upload = taken
        }
        do {
            let headers = try await write(
                upload, holder: holder, request: request, context: context, principal: principal, offset: offset,
                empty: empty)
            try? await services.catalog.releaseUpload(id: id, holder: holder)
            return headers
        } catch {
            try? await services.catalog.releaseUpload(id: id, holder: holder)
            throw error
        }
    }

    private func write(
        _ upload: UploadRecord, holder: String, request: Request, context: Context, principal: Principal,
        offset: String?, empty: Bool
    ) async throws -> HTTPFields {
        if let file = upload.completedFileID {
            // Already complete (a retried last PATCH): say so again.
            return [.uploadOffset: String(upload.offset), .ferryFileID: file]
        }
        let declared = request.headers[.contentLength].flatMap { Int64($0) }
        if !empty,
            let refusal = Tus.refusePatch(
                upload: upload, offsetHeader: offset, contentType: request.headers[.contentType],
                contentLength: declared)
        {
            throw refusal
        }
        let checksum = try Tus.checksum(request.headers[.uploadChecksum])
        var hasher = try await hasher(for: upload)
        var chunkSHA1 = checksum?.algorithm == "sha1" ? Insecure.SHA1() : nil
        var chunkSHA256 = checksum?.algorithm == "sha256" ? SHA256() : nil
        let append = try await services.store.appendResumable(
            key: upload.blobKey, state: upload.storeState, offset: upload.offset)
        var failure: (any Error)?
        var received: Int64 = 0
        var renewed = ContinuousClock.now
        if !empty {
            do {
                for try await buffer in request.body {
                    received += Int64(buffer.readableBytes)
                    guard upload.offset + received <= upload.length else {
                        throw FerryError(
                            .badRequest, "The chunk goes past the upload's length of \(upload.length) bytes.")
                    }
                    // The lease first: a writer that lost it must not write another byte.
                    if ContinuousClock.now - renewed > .seconds(Self.leaseTime / 4) {
                        try await renew(upload.id, holder: holder)
                        renewed = ContinuousClock.now
                    }
                    hasher.update(buffer)
                    buffer.withUnsafeReadableBytes {
                        chunkSHA1?.update(bufferPointer: $0)
                        chunkSHA256?.update(bufferPointer: $0)
                    }
                    try await append.write(buffer)
                }
            } catch {
                // What arrived is kept (unless a checksum must vouch for the whole chunk).
                failure = error
            }
        }
        let stored = try await append.finish()
        if let checksum {
            let digest = chunkSHA1.map { Array($0.finalize()) } ?? chunkSHA256.map { Array($0.finalize()) } ?? []
            if failure != nil || digest != checksum.digest {
                if let failure { throw failure }
                throw FerryError(
                    .chunkChecksumMismatch,
                    "The chunk does not match its Upload-Checksum (\(checksum.algorithm)); nothing of it was kept. Send it again."
                )
            }
        }
        let newOffset = upload.offset + stored.stored
        guard
            try await services.catalog.advanceUpload(
                id: upload.id, holder: holder,
                progress: UploadProgress(offset: newOffset, storeState: stored.state, blockSHA256: hasher.blocks))
        else { throw Self.locked }
        if let failure {
            await services.uploadHashes.put(upload.id, hasher)
            throw failure
        }
        if newOffset < upload.length {
            await services.uploadHashes.put(upload.id, hasher)
            return [.uploadOffset: String(newOffset)]
        }
        var done = upload
        done.offset = newOffset
        done.storeState = stored.state
        let file = try await complete(done, hasher: hasher, principal: principal, request: request, context: context)
        return [.uploadOffset: String(newOffset), .ferryFileID: file.id]
    }

    /// Extends the lease; another holder having taken it (this writer stalled past it) ends the write.
    func renew(_ id: String, holder: String) async throws {
        let now = services.now()
        guard
            case .taken = try await services.catalog.leaseUpload(
                id: id, holder: holder, now: now, until: now.addingTimeInterval(Self.leaseTime))
        else { throw Self.locked }
    }

    /// This node's running hasher, or one rebuilt from the catalog's block hashes and the bytes of
    /// the current block (at most 8 MiB read back); the whole-content hash is then left to
    /// completion.
    func hasher(for upload: UploadRecord) async throws -> UploadHasher {
        if let kept = await services.uploadHashes.take(upload.id, at: upload.offset) { return kept }
        if upload.offset == 0 { return .fresh }
        var hasher = UploadHasher(
            whole: nil, crc: nil, blocks: upload.blockSHA256,
            offset: Int64(upload.blockSHA256.count) * FileRecord.blockSize)
        if hasher.offset < upload.offset {
            let partial = try await services.store.resumableBytes(
                key: upload.blobKey, state: upload.storeState, range: hasher.offset...(upload.offset - 1))
            hasher.update(partial)
        }
        return hasher
    }

    /// The last byte arrived: the blob is made visible, verified, and published as the file or its
    /// new version, exactly as a one-shot upload would be.
    func complete(
        _ upload: UploadRecord, hasher: UploadHasher, principal: Principal, request: Request, context: Context
    ) async throws -> FileRecord {
        await services.uploadHashes.remove(upload.id)
        try await services.store.finishResumable(key: upload.blobKey, state: upload.storeState, length: upload.length)
        let sha256: String
        let crc32: UInt32
        if let whole = hasher.whole, let crc = hasher.crc {
            sha256 = Hex.encode(whole.finalize())
            crc32 = crc.value
        } else {
            // Another node hashed the start: read the content back once.
            var digest = SHA256()
            var crc = CRC32()
            try await services.store.read(key: upload.blobKey, range: nil) { chunk in
                chunk.withUnsafeReadableBytes {
                    digest.update(bufferPointer: $0)
                    crc.update($0)
                }
            }
            sha256 = Hex.encode(digest.finalize())
            crc32 = crc.value
        }
        if let expected = upload.expectedSHA256, expected != sha256 {
            try? await services.store.delete(key: upload.blobKey)
            _ = try? await services.catalog.deleteUpload(id: upload.id)
            throw FerryError(
                .checksumMismatch,
                "The uploaded bytes have SHA-256 \(sha256), not the \(expected) of the sha256 metadata; nothing was stored."
            )
        }
        let content = FileContent(
            size: upload.length, contentType: upload.contentType, sha256: sha256, blobKey: upload.blobKey,
            blockSHA256: hasher.allBlocks, crc32: crc32)
        let clientIP = services.clientIP(request, context: context)
        let publisher = FilePublisher(services: services)
        let file: FileRecord
        if let target = upload.replaces {
            let current = try await services.authorize(fileID: target, principal: principal, for: .manage)
            file = try await publisher.replace(current, with: content, principal: principal, clientIP: clientIP)
        } else {
            let fileID = String(upload.blobKey.split(separator: "/")[0])
            file = try await publisher.create(
                fileID: fileID, name: upload.name, content: content, principal: principal, clientIP: clientIP)
        }
        try await services.catalog.completeUpload(id: upload.id, fileID: file.id)
        return file
    }
}
