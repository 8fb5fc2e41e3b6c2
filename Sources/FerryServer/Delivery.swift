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

    /// One piece of a response body: literal bytes (multipart framing) or a range of the blob.
    enum Segment: Sendable {
        case literal(ByteBuffer)
        case blob(ClosedRange<Int64>?)

        var length: Int64 {
            switch self {
            case .literal(let buffer): Int64(buffer.readableBytes)
            case .blob(let range): range.map { $0.upperBound - $0.lowerBound + 1 } ?? 0
            }
        }
    }

    func respond(file: FileRecord, request: Request, options: Options) async throws -> Response {
        var headers: HTTPFields = [
            .eTag: file.etag.description,
            .lastModified: HTTPDate.format(file.lastModified),
            .reprDigest: file.reprDigest,
            .acceptRanges: "bytes",
            .cacheControl: options.cacheControl,
            .xContentTypeOptions: "nosniff",
        ]
        let honorRange: Bool
        switch Preconditions(request.headers).evaluate(etag: file.etag, lastModified: file.lastModified) {
        case .failed:
            let error = FerryError(
                .preconditionFailed,
                "The file no longer matches your If-Match/If-Unmodified-Since; its ETag is \(file.etag).")
            await auditFailure(file: file, request: request, options: options, code: error.code.rawValue)
            throw error
        case .notModified:
            return Response(status: .notModified, headers: headers)
        case .proceed(let honor):
            honorRange = honor
        }

        headers[.contentDisposition] = options.disposition.headerValue
        let resolution = honorRange ? ByteRange.resolve(header: request.headers[.range], size: file.size) : .full
        let status: HTTPResponse.Status
        let segments: [Segment]
        let rangeText: String?
        switch resolution {
        case .unsatisfiable:
            let error = FerryError(
                .rangeNotSatisfiable,
                "The requested range lies outside the file, which is \(file.size) bytes long.")
            await auditFailure(file: file, request: request, options: options, code: error.code.rawValue)
            throw RangeNotSatisfiable(error: error, size: file.size)
        case .full:
            status = .ok
            headers[.contentType] = file.contentType
            segments = file.size > 0 ? [.blob(0...(file.size - 1))] : []
            rangeText = nil
        case .partial(let requested):
            let ranges = ByteRange.coalesce(requested)
            status = .partialContent
            rangeText = ranges.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")
            if ranges.count == 1 {
                headers[.contentType] = file.contentType
                headers[.contentRange] = ByteRange.contentRange(ranges[0], size: file.size)
                segments = [.blob(ranges[0])]
            } else {
                let boundary = Identifier.make()
                headers[.contentType] = "multipart/byteranges; boundary=\(boundary)"
                segments = Self.multipart(ranges, size: file.size, contentType: file.contentType, boundary: boundary)
            }
        }
        let length = segments.reduce(Int64(0)) { $0 + $1.length }
        headers[.contentLength] = String(length)
        if request.method == .head {
            return Response(status: status, headers: headers, body: ResponseBody())
        }

        var detail = options.auditDetail
        detail["bytes"] = .int(length)
        if let rangeText { detail["range"] = .string(rangeText) }
        // The store's read is opened before the head is committed: a store that cannot start it
        // is a JSON error (503), never a 200 whose body never comes (API.md "Observability").
        var opened: (any BlobReader)?
        if case .blob(let range)? = segments.first(where: { if case .blob = $0 { true } else { false } }) {
            do {
                opened = try await services.store.openRead(key: file.blobKey, range: range)
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
        let first = opened
        let body = ResponseBody(contentLength: Int(length)) { [services, detail] writer in
            var firstReader = first
            var sent: Int64 = 0
            var clientFailed = false
            services.metrics.transferStarted()
            defer { services.metrics.transferEnded() }
            do {
                for segment in segments {
                    switch segment {
                    case .literal(let buffer):
                        do { try await writer.write(buffer) } catch {
                            clientFailed = true
                            throw error
                        }
                        sent += Int64(buffer.readableBytes)
                        services.metrics.sent(buffer.readableBytes)
                    case .blob(let range):
                        let reader: any BlobReader
                        if let opened = firstReader {
                            reader = opened
                            firstReader = nil
                        } else {
                            reader = try await services.store.openRead(key: file.blobKey, range: range)
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
        return Response(status: status, headers: headers, body: body)
    }

    /// The segments of a `multipart/byteranges` body (RFC 9110 section 14.6).
    static func multipart(
        _ ranges: [ClosedRange<Int64>], size: Int64, contentType: String, boundary: String
    )
        -> [Segment]
    {
        var segments: [Segment] = []
        for (index, range) in ranges.enumerated() {
            let head =
                (index == 0 ? "" : "\r\n") + "--\(boundary)\r\nContent-Type: \(contentType)\r\n"
                + "Content-Range: \(ByteRange.contentRange(range, size: size))\r\n\r\n"
            segments.append(.literal(ByteBuffer(string: head)))
            segments.append(.blob(range))
        }
        segments.append(.literal(ByteBuffer(string: "\r\n--\(boundary)--\r\n")))
        return segments
    }

    func event(_ name: String, file: FileRecord, options: Options, detail: [String: AuditValue]) -> AuditEvent {
        AuditEvent(
            at: services.now(), event: name, actor: options.actor, fileID: file.id, clientIP: options.clientIP,
            detail: detail)
    }

    func auditFailure(file: FileRecord, request: Request, options: Options, code: String) async {
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
