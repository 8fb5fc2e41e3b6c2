import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Serves a file's bytes with the ranges and conditions of RFC 9110 sections 13-14, everywhere
/// bytes are served (`/content`, `/t/`, `/d/`). Memory per transfer is one store chunk.
struct Delivery: Sendable {
    let services: FerryServices

    /// How this particular response presents the file and who it is audited for.
    struct Options: Sendable {
        var disposition: ContentDisposition
        var cacheControl: String = "private, no-store"
        var actor: String?
        var clientIP: String?
        /// Extra audit detail, e.g. `link_id` and `via` for signed links.
        var auditDetail: [String: AuditValue] = [:]
        /// Runs once the answer is known to carry bytes (a GET answered 200 or 206) and the store's
        /// read has started, before the head is committed: a limited link takes its download here,
        /// so HEAD, 304, 416 and a store that cannot serve never take one. Throwing refuses.
        var beforeBytes: (@Sendable () async throws -> Void)?
    }

    /// What is served: a file's current version or a bundle's archive, with how to read a range of it.
    struct Representation: Sendable {
        /// The audit's `file_id`: the file's or the bundle's id.
        var id: String
        var size: Int64
        var etag: EntityTag
        var lastModified: Date
        var contentType: String
        /// RFC 9530 `Repr-Digest`, when the whole content's digest is known.
        var reprDigest: String?
        /// Opens a reader of `range` (the store read starts before the head is committed).
        var open: @Sendable (ClosedRange<Int64>) async throws -> any BlobReader
    }

    func respond(file: FileRecord, request: Request, options: Options) async throws -> Response {
        let store = services.store
        let key = file.blobKey
        let size = file.size
        let smallBlobs = services.smallBlobs
        return try await respond(
            Representation(
                id: file.id, size: file.size, etag: file.etag, lastModified: file.lastModified,
                contentType: file.contentType, reprDigest: file.reprDigest,
                open: { range in
                    guard SmallBlobCache.keeps(size: size) else {
                        return try await store.openRead(key: key, range: range)
                    }
                    let whole = try await smallBlobs.blob(key: key, size: size, store: store)
                    let part = whole.getSlice(
                        at: Int(range.lowerBound), length: Int(range.upperBound - range.lowerBound + 1))
                    return SmallBlobCache.BufferReader(part ?? ByteBuffer())
                }),
            request: request, options: options)
    }

    func respond(_ file: Representation, request: Request, options: Options) async throws -> Response {
        var headers: HTTPFields = [
            .eTag: file.etag.description,
            .lastModified: HTTPDate.format(file.lastModified),
            .acceptRanges: "bytes",
            .cacheControl: options.cacheControl,
            .xContentTypeOptions: "nosniff",
        ]
        if let digest = file.reprDigest { headers[.reprDigest] = digest }
        let plan = DeliveryPlan.make(
            size: file.size, etag: file.etag, lastModified: file.lastModified, contentType: file.contentType,
            conditions: Preconditions(request.headers), range: request.headers[.range], boundary: Identifier.make)
        let body: DeliveryPlan.Body
        switch plan {
        case .notModified:
            return Response(status: .notModified, headers: headers)
        case .preconditionFailed:
            let error = FerryError(
                .preconditionFailed,
                "The file no longer matches your If-Match/If-Unmodified-Since; its ETag is \(file.etag).")
            await auditFailure(file: file, request: request, options: options, code: error.code.rawValue)
            throw error
        case .rangeNotSatisfiable:
            let error = FerryError(
                .rangeNotSatisfiable,
                "The requested range lies outside the file, which is \(file.size) bytes long.")
            await auditFailure(file: file, request: request, options: options, code: error.code.rawValue)
            throw RangeNotSatisfiable(error: error, size: file.size)
        case .send(let planned):
            body = planned
        }
        headers[.contentDisposition] = options.disposition.headerValue
        headers[.contentType] = body.contentType
        if let contentRange = body.contentRange { headers[.contentRange] = contentRange }
        let length = body.length
        headers[.contentLength] = String(length)
        let status = HTTPResponse.Status(code: body.status)
        if request.method == .head {
            return Response(status: status, headers: headers, body: ResponseBody())
        }

        var detail = options.auditDetail
        detail["bytes"] = .int(length)
        // API.md: `download.*` details hold `bytes` and `range`; null when the whole was asked for.
        detail["range"] = body.rangeText.map(AuditValue.string) ?? .null
        // The store's read is opened before the head is committed: a store that cannot start it
        // is a JSON error (503), never a 200 whose body never comes (API.md "Observability").
        var opened: (any BlobReader)?
        if let range = body.firstRange {
            do {
                opened = try await file.open(range)
            } catch {
                services.logger.error(
                    "storage read could not start", metadata: ["file_id": "\(file.id)", "error": "\(error)"])
                await auditFailure(file: file, request: request, options: options, code: "storage_error")
                throw error
            }
        }
        if let beforeBytes = options.beforeBytes {
            do {
                try await beforeBytes()
            } catch {
                await opened?.close()
                throw error
            }
        }
        await services.audit.record(event("download.started", file: file, options: options, detail: detail))
        let parts = body.parts
        if parts.count == 1, case .bytes = parts[0], let opened, length <= Self.singleWriteLimit {
            let whole = try await readWhole(opened, length: length, file: file, request: request, options: options)
            services.metrics.sent(whole.readableBytes)
            await services.audit.record(event("download.completed", file: file, options: options, detail: detail))
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: whole))
        }
        let first = opened
        let responseBody = ResponseBody(contentLength: Int(length)) { [services, detail] writer in
            var firstReader = first
            var sent: Int64 = 0
            var clientFailed = false
            services.metrics.transferStarted()
            defer { services.metrics.transferEnded() }
            do {
                for part in parts {
                    switch part {
                    case .literal(let buffer):
                        do { try await writer.write(buffer) } catch {
                            clientFailed = true
                            throw error
                        }
                        sent += Int64(buffer.readableBytes)
                        services.metrics.sent(buffer.readableBytes)
                    case .bytes(let range):
                        let reader: any BlobReader
                        if let opened = firstReader {
                            reader = opened
                            firstReader = nil
                        } else {
                            reader = try await file.open(range)
                        }
                        do {
                            while let chunks = try await reader.next() {
                                do {
                                    if chunks.count == 1 {
                                        try await writer.write(chunks[0])
                                    } else {
                                        try await writer.write(contentsOf: chunks)  // one flush
                                    }
                                } catch {
                                    clientFailed = true
                                    throw error
                                }
                                let bytes = chunks.reduce(0) { $0 + $1.readableBytes }
                                sent += Int64(bytes)
                                services.metrics.sent(bytes)
                            }
                        } catch {
                            await reader.close()
                            throw error
                        }
                        await reader.close()
                    }
                }
                // The last bytes may still be on their way: a client gone now is a client abort too.
                do { try await writer.finish(nil) } catch {
                    clientFailed = true
                    throw error
                }
                var done = detail
                done["bytes"] = .int(sent)
                await services.audit.record(event("download.completed", file: file, options: options, detail: done))
            } catch {
                await firstReader?.close()
                var failed = detail
                failed["bytes"] = .int(sent)
                failed["code"] = .string(clientFailed ? "client_aborted" : "storage_error")
                await services.audit.record(event("download.failed", file: file, options: options, detail: failed))
                if !clientFailed {
                    services.logger.error(
                        "storage read failed mid-transfer", metadata: ["file_id": "\(file.id)", "error": "\(error)"])
                }
                // Throwing after the head went out makes the server cut the connection: the client
                // sees a short body and resumes with a range.
                throw error
            }
        }
        return Response(status: status, headers: headers, body: responseBody)
    }

    /// Bodies up to this size are read whole before the head goes out, and the head and body leave
    /// in one write (Hummingbird's single-buffer path: one syscall, no hop per part). A store that
    /// fails here still gets a JSON error, as nothing was sent yet. `download.completed` is recorded
    /// when the bytes are handed to the connection, as for a streamed body's last write: at this
    /// size the kernel's socket buffer takes them whether or not the client is still reading.
    static let singleWriteLimit: Int64 = 64 * 1024

    /// All `length` bytes of `reader` in one buffer; a read that fails or comes up short is audited
    /// `download.failed` `storage_error` and thrown (before the head is committed).
    func readWhole(
        _ reader: any BlobReader, length: Int64, file: Representation, request: Request, options: Options
    ) async throws -> ByteBuffer {
        do {
            return try await reader.collect(length: length)
        } catch {
            services.logger.error("storage read failed", metadata: ["file_id": "\(file.id)", "error": "\(error)"])
            await auditFailure(file: file, request: request, options: options, code: "storage_error")
            throw error
        }
    }

    func event(_ name: String, file: Representation, options: Options, detail: [String: AuditValue]) -> AuditEvent {
        AuditEvent(
            at: services.now(), event: name, actor: options.actor, fileID: file.id, clientIP: options.clientIP,
            detail: detail)
    }

    func auditFailure(file: Representation, request: Request, options: Options, code: String) async {
        guard request.method != .head else { return }
        var detail = options.auditDetail
        detail["code"] = .string(code)
        await services.audit.record(event("download.failed", file: file, options: options, detail: detail))
    }
}

/// A 416: the JSON error plus `Content-Range: bytes */size`.
struct RangeNotSatisfiable: Error {
    var error: FerryError
    var size: Int64

    var response: Response {
        error.response(headers: [.contentRange: ByteRange.unsatisfiedContentRange(size: size), .acceptRanges: "bytes"])
    }
}

extension Preconditions {
    /// The conditional headers of a request.
    init(_ headers: HTTPFields) {
        self.init(
            ifMatch: headers[.ifMatch], ifNoneMatch: headers[.ifNoneMatch], ifModifiedSince: headers[.ifModifiedSince],
            ifUnmodifiedSince: headers[.ifUnmodifiedSince], ifRange: headers[.ifRange])
    }
}
