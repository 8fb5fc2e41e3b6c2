import AsyncHTTPClient
import Crypto
import FerryCore
import FerrySigV4
import Logging
import NIOCore
import NIOHTTP1
import Tracing
import XMLCoder

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What `HeadObject` tells about an object.
public struct S3ObjectInfo: Sendable, Hashable {
    /// The object's size.
    public var size: Int64
    /// The object's ETag.
    public var etag: String?
    /// The object's type.
    public var contentType: String?
}

/// A client for the S3 calls Ferry needs, on AsyncHTTPClient, signed with `FerrySigV4`.
///
/// Hand-written because no listed package speaks S3 (Soto is not available). Idempotent calls are
/// retried on 5xx, `SlowDown` and transport failures with exponential backoff and full jitter; a
/// streamed `GetObject` that breaks after some bytes resumes from the next byte with `If-Match`, so
/// a consumer never sees bytes of two objects. Failures are `S3Error`.
public final class S3Client: Sendable {
    /// The configuration.
    public let configuration: S3Configuration
    let http: HTTPClient
    let ownsHTTPClient: Bool
    let logger: Logger
    let now: @Sendable () -> Date
    let signer: SigV4Signer
    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Creates a client. Without `httpClient` it makes its own, shut down by `shutdown()`.
    public init(
        configuration: S3Configuration, httpClient: HTTPClient? = nil, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        if let httpClient {
            http = httpClient
            ownsHTTPClient = false
        } else {
            var config = HTTPClient.Configuration(
                redirectConfiguration: .disallow,
                timeout: .init(
                    connect: .nanoseconds(Int64(configuration.connectTimeout.nanoseconds)),
                    read: .nanoseconds(Int64(configuration.readTimeout.nanoseconds))),
                decompression: .disabled)
            config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 128)
            // A refused connection fails the call at once; `send` retries with its own backoff.
            config.connectionPool.retryConnectionEstablishment = false
            http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
            ownsHTTPClient = true
        }
        self.logger = logger
        self.now = now
        signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
    }

    /// Closes the HTTP client when this client made it.
    public func shutdown() async {
        if ownsHTTPClient { try? await http.shutdown() }
    }

    // MARK: Calls

    /// `HeadBucket`: the bucket exists and the credentials may use it.
    public func headBucket() async throws {
        let response = try await send("HeadBucket", method: .HEAD, key: nil)
        try await expect(response, [200], "HeadBucket")
    }

    /// `CreateBucket` (for tests and first-time setup); an existing bucket we own is not an error.
    public func createBucket() async throws {
        var body: ByteBuffer?
        if configuration.region != "us-east-1" {
            body = ByteBuffer(
                string: "<CreateBucketConfiguration><LocationConstraint>\(configuration.region)"
                    + "</LocationConstraint></CreateBucketConfiguration>")
        }
        let response = try await send("CreateBucket", method: .PUT, key: nil, body: body)
        if response.status == .conflict {
            let error = S3Error.from(
                operation: "CreateBucket", status: 409, body: try await Self.collect(response, limit: 64 * 1024),
                requestID: nil)
            if error.code == "BucketAlreadyOwnedByYou" { return }
            throw error
        }
        try await expect(response, [200], "CreateBucket")
    }

    /// `HeadObject`; nil when there is no such object.
    public func headObject(key: String) async throws -> S3ObjectInfo? {
        let response = try await send("HeadObject", method: .HEAD, key: key)
        if response.status == .notFound { return nil }
        try await expect(response, [200], "HeadObject")
        return S3ObjectInfo(
            size: response.headers.first(name: "content-length").flatMap { Int64($0) } ?? 0,
            etag: response.headers.first(name: "etag"), contentType: response.headers.first(name: "content-type"))
    }

    /// `PutObject` of bytes in memory (retried; the payload is hashed and signed).
    public func putObject(key: String, body: ByteBuffer, contentType: String? = nil) async throws {
        var headers: [(String, String)] = []
        if let contentType { headers.append(("Content-Type", contentType)) }
        let response = try await send("PutObject", method: .PUT, key: key, headers: headers, body: body)
        try await expect(response, [200], "PutObject")
    }

    /// `PutObject` streamed from a sequence of known total length (`UNSIGNED-PAYLOAD`; not retried,
    /// as the sequence can be read once).
    public func putObject<Body: AsyncSequence & Sendable>(
        key: String, length: Int64, stream: Body, contentType: String? = nil
    ) async throws where Body.Element == ByteBuffer {
        var headers: [(String, String)] = [("Content-Length", String(length))]
        if let contentType { headers.append(("Content-Type", contentType)) }
        let response = try await send(
            "PutObject", method: .PUT, key: key, headers: headers,
            streamBody: .stream(stream, length: .known(length)), retry: false)
        try await expect(response, [200], "PutObject")
    }

    /// `CreateMultipartUpload`; returns the upload id.
    public func createMultipartUpload(key: String, contentType: String? = nil) async throws -> String {
        var headers: [(String, String)] = []
        if let contentType { headers.append(("Content-Type", contentType)) }
        let response = try await send(
            "CreateMultipartUpload", method: .POST, key: key, query: [("uploads", "")], headers: headers)
        let body = try await expect(response, [200], "CreateMultipartUpload")
        return try decode(InitiateMultipartUploadResult.self, body, "CreateMultipartUpload").uploadId
    }

    /// `UploadPart`; returns the part's ETag.
    public func uploadPart(key: String, uploadID: String, partNumber: Int, body: ByteBuffer) async throws -> String {
        let response = try await send(
            "UploadPart", method: .PUT, key: key,
            query: [("partNumber", String(partNumber)), ("uploadId", uploadID)], body: body)
        try await expect(response, [200], "UploadPart")
        guard let etag = response.headers.first(name: "etag") else {
            throw S3Error(operation: "UploadPart", status: 200, code: "MissingETag", message: "no ETag in the answer")
        }
        return etag
    }

    /// `CompleteMultipartUpload` with the parts' numbers and ETags.
    public func completeMultipartUpload(
        key: String, uploadID: String, parts: [(number: Int, etag: String)]
    )
        async throws
    {
        let document = CompleteMultipartUpload(
            parts: parts.sorted { $0.number < $1.number }.map { .init(partNumber: $0.number, etag: $0.etag) })
        let xml = try XMLEncoder().encode(document, withRootKey: "CompleteMultipartUpload")
        let response = try await send(
            "CompleteMultipartUpload", method: .POST, key: key, query: [("uploadId", uploadID)],
            headers: [("Content-Type", "application/xml")], body: ByteBuffer(bytes: xml))
        let body = try await expect(response, [200], "CompleteMultipartUpload")
        // S3 may answer 200 and still fail: the error is then in the body.
        if String(decoding: body, as: UTF8.self).contains("<Error>") {
            throw S3Error.from(operation: "CompleteMultipartUpload", status: 500, body: body, requestID: nil)
        }
    }

    /// `AbortMultipartUpload`: the parts uploaded so far are discarded.
    public func abortMultipartUpload(key: String, uploadID: String) async throws {
        let response = try await send(
            "AbortMultipartUpload", method: .DELETE, key: key, query: [("uploadId", uploadID)])
        if response.status == .notFound { return }
        try await expect(response, [204, 200], "AbortMultipartUpload")
    }

    /// `DeleteObject`; deleting a missing object succeeds.
    public func deleteObject(key: String) async throws {
        let response = try await send("DeleteObject", method: .DELETE, key: key)
        if response.status == .notFound { return }
        try await expect(response, [204, 200], "DeleteObject")
    }

    /// A presigned `GetObject` URL on the public endpoint, valid `expires` seconds from `date`
    /// (capped at seven days), with the response's Content-Type and Content-Disposition overridden.
    public func presignedGetURL(
        key: String, expires: Int, contentType: String? = nil, contentDisposition: String? = nil, date: Date
    ) -> String {
        let (host, path) = configuration.location(of: key, on: configuration.publicEndpoint)
        var query: [(name: String, value: String)] = []
        if let contentDisposition { query.append(("response-content-disposition", contentDisposition)) }
        if let contentType { query.append(("response-content-type", contentType)) }
        let request = SigV4Request(
            method: "GET", scheme: configuration.publicEndpoint.scheme, host: host, path: path, query: query)
        return signer.presignedURL(for: request, expires: expires, date: date)
    }

    // MARK: Transport

    /// Sends one call, retrying idempotent ones (all S3 calls here are) on retryable failures.
    /// Returns the response with its body unread when the status is not a retryable failure.
    /// Traced as a child span `store <operation>` of the request, whose W3C `traceparent` the
    /// request carries (unsigned: a store that traces can join the trace).
    func send(
        _ operation: String, method: HTTPMethod, key: String?, query: [(String, String)] = [],
        headers: [(String, String)] = [], body: ByteBuffer? = nil, streamBody: HTTPClientRequest.Body? = nil,
        retry: Bool = true
    ) async throws -> HTTPClientResponse {
        try await Spans.store(operation, system: "s3") { span in
            let response = try await sendWithRetries(
                operation, method: method, key: key, query: query, headers: headers, body: body,
                streamBody: streamBody, retry: retry)
            span.attributes["http.response.status_code"] = Int(response.status.code)
            return response
        }
    }

    private func sendWithRetries(
        _ operation: String, method: HTTPMethod, key: String?, query: [(String, String)],
        headers: [(String, String)], body: ByteBuffer?, streamBody: HTTPClientRequest.Body?, retry: Bool
    ) async throws -> HTTPClientResponse {
        let payloadHash =
            body.map { b in b.withUnsafeReadableBytes { Hex.encode(SHA256.hash(data: $0)) } }
            ?? (streamBody == nil ? Self.emptyPayloadHash : SigV4Signer.unsignedPayload)
        let attempts = retry ? configuration.maxAttempts : 1
        var attempt = 0
        while true {
            attempt += 1
            let (url, signedHeaders) = signed(
                method: method, key: key, query: query, headers: headers, payloadHash: payloadHash)
            var request = HTTPClientRequest(url: url)
            request.method = method
            request.headers = signedHeaders
            if let context = ServiceContext.current {
                InstrumentationSystem.instrument.inject(context, into: &request.headers, using: HTTPHeadersInjector())
            }
            if let body {
                request.body = .bytes(body)
            } else if let streamBody {
                request.body = streamBody
            }
            let failure: S3Error
            do {
                let response = try await http.execute(
                    request, timeout: .nanoseconds(Int64(configuration.readTimeout.nanoseconds)), logger: logger)
                let status = Int(response.status.code)
                guard status >= 500 || status == 429 else { return response }
                let errorBody = try await Self.collect(response, limit: 64 * 1024)
                failure = S3Error.from(
                    operation: operation, status: status, body: errorBody,
                    requestID: response.headers.first(name: "x-amz-request-id"))
            } catch let error as S3Error {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                failure = S3Error(
                    operation: operation, status: nil, code: "Unreachable", message: NetworkFailure.describe(error))
            }
            guard failure.isRetryable, attempt < attempts else {
                var final = failure
                final.attempts = attempt
                throw final
            }
            logger.debug("S3 call retried", metadata: ["operation": "\(operation)", "error": "\(failure)"])
            try await backoff(attempt: attempt)
        }
    }

    /// The URL and headers (with the SigV4 `Authorization`) of a request signed now.
    func signed(
        method: HTTPMethod, key: String?, query: [(String, String)] = [], headers: [(String, String)],
        payloadHash: String
    ) -> (url: String, headers: HTTPHeaders) {
        let (host, path) = configuration.location(of: key, on: configuration.endpoint)
        let signing = SigV4Request(
            method: method.rawValue, scheme: configuration.endpoint.scheme, host: host, path: path,
            query: query.map { (name: $0.0, value: $0.1) }, headers: headers.map { (name: $0.0, value: $0.1) })
        var result = HTTPHeaders(headers)
        for (name, value) in signer.authorizationHeaders(for: signing, payloadHash: payloadHash, date: now()) {
            result.add(name: name, value: value)
        }
        return (signing.url, result)
    }

    /// Sleeps before retry `attempt + 1`: exponential backoff with full jitter.
    func backoff(attempt: Int) async throws {
        let base = configuration.baseBackoff.nanoseconds
        let cap = configuration.maxBackoff.nanoseconds
        let ceiling = min(cap, base << min(attempt - 1, 20))
        try await Task.sleep(for: .nanoseconds(Int64.random(in: 0...max(ceiling, 1))))
    }

    /// Reads the whole (small) body when the status is expected; otherwise throws the S3 error it describes.
    @discardableResult
    func expect(_ response: HTTPClientResponse, _ statuses: Set<Int>, _ operation: String) async throws -> [UInt8] {
        try await check(response, statuses, operation)
        return try await Self.collect(response, limit: 16 * 1024 * 1024)
    }

    /// Throws the S3 error the response describes unless its status is expected; leaves the body unread then.
    func check(_ response: HTTPClientResponse, _ statuses: Set<Int>, _ operation: String) async throws {
        let status = Int(response.status.code)
        guard !statuses.contains(status) else { return }
        let body = try await Self.collect(response, limit: 64 * 1024)
        throw S3Error.from(
            operation: operation, status: status, body: body,
            requestID: response.headers.first(name: "x-amz-request-id"))
    }

    static func collect(_ response: HTTPClientResponse, limit: Int) async throws -> [UInt8] {
        do {
            return Array((try await response.body.collect(upTo: limit)).readableBytesView)
        } catch {
            return []
        }
    }

    /// Reads an XML answer; `keyedByElement`: the type names its elements in `CodingKeys` as
    /// written (the bucket configurations), rather than by `S3XML`'s lowered first letter.
    func decode<T: Decodable>(
        _ type: T.Type, _ body: [UInt8], _ operation: String, keyedByElement: Bool = false
    ) throws -> T {
        do {
            return try (keyedByElement ? XMLDecoder() : S3XML.decoder()).decode(type, from: Data(body))
        } catch {
            throw S3Error(
                operation: operation, status: 200, code: "MalformedResponse",
                message: "could not read the answer: \(NetworkFailure.describe(error))")
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// S3's XML answers name their elements in PascalCase: the decoder lowers the first letter, so
/// the answers' types spell their properties as the elements (`uploadId`) and need no key lists.
enum S3XML {
    static func decoder() -> XMLDecoder {
        let decoder = XMLDecoder()
        decoder.keyDecodingStrategy = .convertFromCapitalized
        return decoder
    }
}

struct InitiateMultipartUploadResult: Decodable {
    var uploadId: String
}

struct CompleteMultipartUpload: Encodable {
    struct Part: Encodable {
        var partNumber: Int
        var etag: String
        enum CodingKeys: String, CodingKey {
            case partNumber = "PartNumber"
            case etag = "ETag"
        }
    }
    var parts: [Part]
    enum CodingKeys: String, CodingKey { case parts = "Part" }
}

/// Writes trace context headers (`traceparent`) into an outgoing request.
struct HTTPHeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into headers: inout HTTPHeaders) {
        headers.replaceOrAdd(name: key, value: value)
    }
}
