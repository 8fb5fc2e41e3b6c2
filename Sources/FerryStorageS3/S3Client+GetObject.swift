import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

// GetObject: the streamed read of proxied downloads, with its read-ahead (`ReadAhead`) and its
// resumption after a broken body.
extension S3Client {
    /// `GetObject` of `range` (or the whole object), streamed into `consumer` chunk by chunk.
    public func getObject(
        key: String, range: ClosedRange<Int64>? = nil, into consumer: (ByteBuffer) async throws -> Void
    ) async throws {
        try await getObjectBatches(key: key, range: range) { chunks in
            for chunk in chunks { try await consumer(chunk) }
        }
    }

    /// `GetObject` of `range` (or the whole object), streamed into `consumer` in batches: up to
    /// `readAhead` bytes are read from the network while `consumer` works, and each call hands over
    /// everything that has arrived since the last one. A 5xx or a body that breaks is retried; a
    /// broken body resumes from the next byte with `If-Match`, so the consumer never sees bytes of
    /// two objects. Errors thrown by `consumer` end the call as they are.
    public func getObjectBatches(
        key: String, range: ClosedRange<Int64>? = nil, readAhead: Int = 1 << 20,
        into consumer: ([ByteBuffer]) async throws -> Void
    ) async throws {
        var delivered: Int64 = 0
        var etag: String?
        var attempt = 0
        while true {
            attempt += 1
            let deliveredBefore = delivered
            var headers: [(String, String)] = []
            let start = (range?.lowerBound ?? 0) + delivered
            if let range {
                headers.append(("Range", "bytes=\(start)-\(range.upperBound)"))
            } else if delivered > 0 {
                headers.append(("Range", "bytes=\(start)-"))
            }
            if let etag { headers.append(("If-Match", etag)) }
            let (url, signedHeaders) = signed(
                method: .GET, key: key, headers: headers, payloadHash: Self.emptyPayloadHash)
            let body = ReadAhead(window: readAhead)
            let task: HTTPClient.Task<Void>
            do {
                task = http.execute(
                    request: try HTTPClient.Request(url: url, method: .GET, headers: signedHeaders), delegate: body,
                    eventLoop: .indifferent, logger: logger)
            } catch {
                throw S3Error(operation: "GetObject", status: nil, code: "InvalidRequest", message: "\(error)")
            }
            let failure: S3Error
            do {
                defer { body.abandon(task) }  // a no-op once the body has ended
                try await withTaskCancellationHandler {
                    let head: HTTPResponseHead
                    do {
                        head = try await body.head()
                    } catch {
                        throw S3Error(
                            operation: "GetObject", status: nil, code: "Unreachable", message: String(describing: error)
                        )
                    }
                    let status = Int(head.status.code)
                    let resuming = range != nil || delivered > 0
                    guard status == (resuming ? 206 : 200) else {
                        var text: [UInt8] = []
                        while text.count < 64 * 1024, let chunks = try? await body.next() {
                            for chunk in chunks { text += chunk.readableBytesView }
                        }
                        throw S3Error.from(
                            operation: "GetObject", status: status, body: text,
                            requestID: head.headers.first(name: "x-amz-request-id"))
                    }
                    if etag == nil { etag = head.headers.first(name: "etag") }
                    while true {
                        let next: [ByteBuffer]?
                        do {
                            next = try await body.next()
                        } catch {
                            throw S3Error(
                                operation: "GetObject", status: nil, code: "Interrupted",
                                message: String(describing: error))
                        }
                        guard let chunks = next else { break }
                        for chunk in chunks { delivered += Int64(chunk.readableBytes) }
                        try await consumer(chunks)
                    }
                } onCancel: {
                    body.abandon(task)
                }
                if let range, delivered != Int64(range.count) {
                    throw S3Error(
                        operation: "GetObject", status: nil, code: "ShortRead",
                        message: "got \(delivered) of \(range.count) bytes")
                }
                return
            } catch let error as S3Error {
                failure = error
            }
            if Task.isCancelled { throw CancellationError() }
            if delivered > deliveredBefore && failure.status == nil {
                // The body broke after bytes came through: S3 works. Most often the client paused
                // longer than the read timeout (AsyncHTTPClient's timer runs while the window is
                // full). Resume at once from the next byte; only failures in a row without
                // progress count against `maxAttempts`, so a slow client is never cut off.
                logger.debug(
                    "S3 GetObject interrupted after progress; resuming",
                    metadata: ["delivered": "\(delivered)", "error": "\(failure)"])
                attempt = 0
                continue
            }
            guard failure.isRetryable, attempt < configuration.maxAttempts else {
                var final = failure
                final.attempts = attempt
                throw final
            }
            // A 5xx, or the connection broke before any byte: again, after a backoff.
            logger.warning(
                "S3 GetObject failed; retrying",
                metadata: ["delivered": "\(delivered)", "attempt": "\(attempt)", "error": "\(failure)"])
            try await backoff(attempt: attempt)
        }
    }
}
