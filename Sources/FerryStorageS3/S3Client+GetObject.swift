import AsyncHTTPClient
import FerryCore
import Logging
import NIOCore
import NIOHTTP1
import Tracing

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

    /// `GetObject` of `range` (or the whole object), streamed into `consumer` in batches (see
    /// `S3ObjectReader`). Errors thrown by `consumer` end the call as they are.
    public func getObjectBatches(
        key: String, range: ClosedRange<Int64>? = nil, readAhead: Int = 1 << 20,
        into consumer: ([ByteBuffer]) async throws -> Void
    ) async throws {
        let reader = S3ObjectReader(client: self, key: key, range: range, readAhead: readAhead)
        do {
            try await reader.open()
            while let chunks = try await reader.next() { try await consumer(chunks) }
        } catch {
            await reader.close()
            throw error
        }
        await reader.close()
    }
}

/// One `GetObject` of `range` (or the whole object), read in batches: up to `readAhead` bytes are
/// read from the network while the consumer works, and each `next()` hands over everything that
/// has arrived since the last one. `open()` returns once S3 has answered with the object's head,
/// so a missing object or an unreachable store fails before a response head is sent to a client.
/// A 5xx or a body that breaks is retried; a broken body resumes from the next byte with
/// `If-Match`, so the consumer never sees bytes of two objects.
public actor S3ObjectReader: BlobReader {
    let client: S3Client
    let key: String
    let range: ClosedRange<Int64>?
    let readAhead: Int
    private var delivered: Int64 = 0
    private var etag: String?
    /// The response being read, once a head with the expected status arrived.
    private var current: (body: ReadAhead, task: HTTPClient.Task<Void>)?
    /// Failures in a row without progress (they count against `maxAttempts`).
    private var attempt = 0
    /// What was delivered when the current response was opened.
    private var deliveredAtOpen: Int64 = 0
    private var finished = false

    /// A reader dropped without `close()` still releases its connection.
    deinit {
        if let (body, task) = current { body.abandon(task) }
    }

    /// Creates a reader; nothing is sent before `open()` or `next()`.
    public init(client: S3Client, key: String, range: ClosedRange<Int64>?, readAhead: Int) {
        self.client = client
        self.key = key
        self.range = range
        self.readAhead = readAhead
    }

    /// Sends the GET (again, with backoff, on retryable failures) until S3 answers with the head
    /// of the bytes asked for.
    public func open() async throws {
        while current == nil {
            if finished { throw CancellationError() }
            attempt += 1
            do {
                // A child span of the request, like every S3 call (`S3Client.send`): up to the head.
                current = try await Spans.store("GetObject", system: "s3") { span in try await self.request(span: span)
                }
                deliveredAtOpen = delivered
            } catch let failure as S3Error {
                try await giveUpOrWait(failure)
            }
        }
    }

    public func next() async throws -> [ByteBuffer]? {
        while !finished {
            try await open()
            guard let (body, task) = current else { continue }
            do {
                guard let chunks = try await body.awaiting({ try await $0.next() }, of: task, failingAs: "Interrupted")
                else {
                    current = nil
                    if let range, delivered != Int64(range.count) {
                        throw S3Error(
                            operation: "GetObject", status: nil, code: "ShortRead",
                            message: "got \(delivered) of \(range.count) bytes")
                    }
                    finished = true
                    return nil
                }
                for chunk in chunks { delivered += Int64(chunk.readableBytes) }
                return chunks
            } catch let failure as S3Error {
                body.abandon(task)
                current = nil
                if Task.isCancelled { throw CancellationError() }
                if delivered > deliveredAtOpen && failure.status == nil {
                    // The body broke after bytes came through: S3 works. Most often the client
                    // paused longer than the read timeout (AsyncHTTPClient's timer runs while the
                    // window is full). Resume at once from the next byte; only failures in a row
                    // without progress count against `maxAttempts`, so a slow client is never cut off.
                    client.logger.debug(
                        "S3 GetObject interrupted after progress; resuming",
                        metadata: ["delivered": "\(delivered)", "error": "\(failure)"])
                    attempt = 0
                    continue
                }
                try await giveUpOrWait(failure)
            }
        }
        return nil
    }

    public func close() async {
        finished = true
        if let (body, task) = current { body.abandon(task) }
        current = nil
    }

    /// Throws `failure` when it is final, else waits the backoff of this attempt.
    private func giveUpOrWait(_ failure: S3Error) async throws {
        if Task.isCancelled { throw CancellationError() }
        guard failure.isRetryable, attempt < client.configuration.maxAttempts else {
            var final = failure
            final.attempts = attempt
            throw final
        }
        client.logger.warning(
            "S3 GetObject failed; retrying",
            metadata: ["delivered": "\(delivered)", "attempt": "\(attempt)", "error": "\(failure)"])
        try await client.backoff(attempt: attempt)
    }

    /// One GET from the next byte not yet delivered, returned once its head has the right status.
    /// The request carries the trace of `span` in `traceparent` (unsigned, as in `S3Client.send`).
    private func request(span: any Span) async throws -> (body: ReadAhead, task: HTTPClient.Task<Void>) {
        var headers: [(String, String)] = []
        let start = (range?.lowerBound ?? 0) + delivered
        if let range {
            headers.append(("Range", "bytes=\(start)-\(range.upperBound)"))
        } else if delivered > 0 {
            headers.append(("Range", "bytes=\(start)-"))
        }
        if let etag { headers.append(("If-Match", etag)) }
        var (url, signedHeaders) = client.signed(
            method: .GET, key: key, headers: headers, payloadHash: S3Client.emptyPayloadHash)
        if let context = ServiceContext.current {
            InstrumentationSystem.instrument.inject(context, into: &signedHeaders, using: HTTPHeadersInjector())
        }
        let body = ReadAhead(window: readAhead)
        let task: HTTPClient.Task<Void>
        do {
            task = client.http.execute(
                request: try HTTPClient.Request(url: url, method: .GET, headers: signedHeaders), delegate: body,
                eventLoop: .indifferent, logger: client.logger)
        } catch {
            throw S3Error(operation: "GetObject", status: nil, code: "InvalidRequest", message: "\(error)")
        }
        do {
            let head = try await body.awaiting({ try await $0.head() }, of: task, failingAs: "Unreachable")
            let status = Int(head.status.code)
            span.attributes["http.response.status_code"] = status
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
            return (body, task)
        } catch {
            body.abandon(task)
            throw error
        }
    }
}
