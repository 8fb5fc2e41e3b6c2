import FerryCore
import FerrySigV4
import Logging
import NIOCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Signs URLs for a CDN in front of the bucket (CloudFront); the store uses it instead of presigning
/// when it is configured.
public protocol CDNURLSigner: Sendable {
    /// A URL for `key` (relative to the bucket's configured prefix) that the CDN honours until
    /// `request.expiresAt`, bound to `request.bindIP` when set.
    func signedURL(forKey key: String, request: SignedURLRequest) throws -> String
}

/// CloudFront in front of the bucket: `https://<domain>/<prefix><key>`, signed with a canned policy,
/// or a custom one when the link is bound to an address. The response overrides travel as query
/// parameters the distribution must forward to the origin (README "CloudFront").
public struct CloudFrontURLSigner: CDNURLSigner {
    /// The CloudFront domain.
    public let domain: String
    /// The bucket prefix the distribution's origin path does not already include.
    public let prefix: String
    /// The CloudFront signer.
    public let signer: CloudFrontSigner

    /// Creates a signer for a distribution.
    public init(domain: String, prefix: String, signer: CloudFrontSigner) {
        self.domain = domain
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        self.signer = signer
    }

    /// A CloudFront URL of the blob `key`, signed for the request's lifetime and filename.
    public func signedURL(forKey key: String, request: SignedURLRequest) throws -> String {
        let query = [
            ("response-content-disposition", request.contentDisposition),
            ("response-content-type", request.contentType),
        ].map { "\($0.0)=\(SigV4.encode($0.1))" }.joined(separator: "&")
        let url = "https://\(domain)\(SigV4.encodePath("/" + prefix + key))?\(query)"
        let expires = Int64(request.expiresAt.timeIntervalSince1970.rounded(.up))
        return try signer.signedURL(
            url, policy: CloudFrontPolicy(resource: url, expires: expires, ipAddress: request.bindIP))
    }
}

/// Blobs in an S3-compatible bucket.
///
/// Uploads are buffered one part at a time: small blobs go up with one `PutObject` at commit, larger
/// ones as a multipart upload whose parts upload while the client is still sending (a few at a
/// time, so memory per upload stays bounded) and which is aborted on any failure, so nothing is left
/// behind. Reads stream ranges with backpressure. Every failure surfaces as `FerryError`.
public final class S3BlobStore: BlobStore {
    /// The S3 client.
    public let client: S3Client
    let cdn: (any CDNURLSigner)?
    let logger: Logger
    /// When this store first listed each unfinished multipart upload (`discardUnfinishedUploads`).
    let firstSeen = Mutex<[String: Date]>([:])

    /// Creates a store on a client; `cdn` signs links when a CDN is configured.
    public init(client: S3Client, cdn: (any CDNURLSigner)? = nil, logger: Logger) {
        self.client = client
        self.cdn = cdn
        self.logger = logger
    }

    /// Closes the client's connections.
    public func shutdown() async {
        await client.shutdown()
    }

    public func ping() async throws {
        try await mapped { try await client.headBucket() }
    }

    public func beginUpload(key: String, sizeHint: Int64?) async throws -> any BlobUpload {
        let configuration = client.configuration
        var partSize = configuration.partSize
        if let sizeHint {
            // S3 allows 10 000 parts; leave room for a client that sends a little more than it said.
            let needed = Int((sizeHint + 9_000 - 1) / 9_000)
            let mebibyte = 1024 * 1024
            partSize = max(partSize, (needed + mebibyte - 1) / mebibyte * mebibyte)
        }
        return S3BlobUpload(
            client: client, key: key, partSize: partSize, threshold: max(configuration.multipartThreshold, partSize),
            concurrency: configuration.uploadConcurrency, logger: logger)
    }

    /// Opens a `GetObject` that reads up to `readAhead` bytes from S3 while the consumer writes
    /// the last batch; S3's answer (or its failure) has arrived when this returns.
    public func openRead(key: String, range: ClosedRange<Int64>?) async throws -> any BlobReader {
        let reader = S3ObjectReader(client: client, key: key, range: range, readAhead: client.configuration.readAhead)
        do {
            try await reader.open()
        } catch let error as S3Error {
            throw error.ferryError
        }
        return MappedS3Reader(inner: reader)
    }

    public func delete(key: String) async throws {
        try await mapped { try await client.deleteObject(key: key) }
    }

    /// Objects under the configured prefix with Ferry's key shape, a `ListObjectsV2` page at a
    /// time. The cutoff is compared with the S3 server's `LastModified`.
    public func listBlobs(writtenBefore cutoff: Date, page: ([String]) async throws -> Void) async throws {
        try await mapped {
            try await client.listObjects { objects in
                let keys = objects.filter { object in
                    guard let written = object.lastModified else { return false }
                    return written < cutoff && Identifier.isBlobKey(object.key)
                }.map(\.key)
                if !keys.isEmpty { try await page(keys) }
            }
        }
    }

    /// Aborts multipart uploads with Ferry's key shape begun before `cutoff` (S3 keeps and bills
    /// their parts until then; a bucket lifecycle rule would do the same). The server's
    /// `Initiated` date is believed when it lies within the last year; not every S3-compatible
    /// server says truly when an upload began (moto answers a fixed date in 2010), and such an
    /// upload counts as begun when this store first listed it.
    public func discardUnfinishedUploads(begunBefore cutoff: Date) async throws -> Int {
        try await mapped {
            let listed = try await client.listMultipartUploads().filter { Identifier.isBlobKey($0.key) }
            let now = Date()
            let begun: [(upload: S3Client.UnfinishedUpload, at: Date)] = firstSeen.withLock { seen in
                seen = seen.filter { id, _ in listed.contains { $0.uploadID == id } }
                return listed.map { upload in
                    let first = seen[upload.uploadID] ?? now
                    seen[upload.uploadID] = first
                    return (upload, Self.begun(initiated: upload.initiated, firstSeen: first, now: now))
                }
            }
            var aborted = 0
            for (upload, at) in begun where at < cutoff {
                try await client.abortMultipartUpload(key: upload.key, uploadID: upload.uploadID)
                aborted += 1
            }
            return aborted
        }
    }

    /// When an unfinished upload began: the server's date if it lies within the last year, else
    /// when this store first listed it.
    public static func begun(initiated: Date?, firstSeen: Date, now: Date) -> Date {
        guard let initiated, now.timeIntervalSince(initiated) < 365 * 24 * 3600 else { return firstSeen }
        return initiated
    }

    public var canSignURLs: Bool { true }

    /// A CDN binds addresses (CloudFront custom policy); S3 presigned URLs cannot.
    public var canBindAddresses: Bool { cdn != nil }

    public func signedURL(for key: String, request: SignedURLRequest) async throws -> SignedURL? {
        if let cdn {
            return SignedURL(strategy: "cdn", url: try cdn.signedURL(forKey: key, request: request))
        }
        guard request.bindIP == nil else { return nil }
        let seconds = Int(request.expiresAt.timeIntervalSince(request.now).rounded(.up))
        let url = client.presignedGetURL(
            key: key, expires: max(1, seconds), contentType: request.contentType,
            contentDisposition: request.contentDisposition, date: request.now)
        return SignedURL(strategy: "storage", url: url)
    }

    func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as S3Error {
            throw error.ferryError
        }
    }
}

/// One blob being written to S3: single `PutObject` up to the threshold, multipart above it.
actor S3BlobUpload: BlobUpload {
    let client: S3Client
    let key: String
    let partSize: Int
    let threshold: Int
    let concurrency: Int
    let logger: Logger
    var buffer = ByteBuffer()
    var uploadID: String?
    var nextPart = 1
    var inFlight: [Task<(number: Int, etag: String), any Error>] = []
    var done: [(number: Int, etag: String)] = []
    var finished = false

    init(client: S3Client, key: String, partSize: Int, threshold: Int, concurrency: Int, logger: Logger) {
        self.client = client
        self.key = key
        self.partSize = partSize
        self.threshold = threshold
        self.concurrency = concurrency
        self.logger = logger
    }

    func write(_ chunk: ByteBuffer) async throws {
        guard !finished else { throw FerryError(.internalError, "Upload already finished.") }
        var chunk = chunk
        buffer.writeBuffer(&chunk)
        // Below the threshold the blob may still go up in one PutObject; past it, parts start.
        guard uploadID != nil || buffer.readableBytes > threshold else { return }
        while buffer.readableBytes >= partSize {
            guard let part = buffer.readSlice(length: partSize) else { break }
            try await send(part)
        }
        buffer.discardReadBytes()
    }

    func commit() async throws {
        guard !finished else { throw FerryError(.internalError, "Upload already finished.") }
        finished = true
        do {
            guard let uploadID else {
                try await client.putObject(key: key, body: buffer)
                buffer = ByteBuffer()
                return
            }
            if buffer.readableBytes > 0 || nextPart == 1 {
                try await send(buffer)
                buffer = ByteBuffer()
            }
            for task in inFlight { done.append(try await task.value) }
            inFlight = []
            try await client.completeMultipartUpload(key: key, uploadID: uploadID, parts: done)
        } catch {
            await discard()
            if let error = error as? S3Error { throw error.ferryError }
            throw error
        }
    }

    func abort() async {
        finished = true
        await discard()
    }

    /// Uploads one part, waiting first while `concurrency` parts are on their way.
    func send(_ part: ByteBuffer) async throws {
        do {
            if uploadID == nil { uploadID = try await client.createMultipartUpload(key: key) }
            guard let uploadID else { return }
            while inFlight.count >= concurrency {
                done.append(try await inFlight.removeFirst().value)
            }
            let number = nextPart
            nextPart += 1
            let client = self.client
            let key = self.key
            inFlight.append(
                Task {
                    (number, try await client.uploadPart(key: key, uploadID: uploadID, partNumber: number, body: part))
                })
        } catch let error as S3Error {
            throw error.ferryError
        }
    }

    /// Cancels parts on their way and aborts the multipart upload, so S3 keeps nothing.
    func discard() async {
        for task in inFlight { task.cancel() }
        for task in inFlight { _ = try? await task.value }
        inFlight = []
        buffer = ByteBuffer()
        guard let uploadID else { return }
        do {
            try await client.abortMultipartUpload(key: key, uploadID: uploadID)
            // Kept until the abort succeeds, so a later `abort()` tries again.
            self.uploadID = nil
        } catch {
            logger.error(
                "S3 multipart upload could not be aborted; S3 lifecycle rules will remove its parts",
                metadata: ["error": "\(error)"])
        }
    }
}

/// An `S3ObjectReader` whose failures surface as `FerryError`.
struct MappedS3Reader: BlobReader {
    let inner: S3ObjectReader

    func next() async throws -> [ByteBuffer]? {
        do {
            return try await inner.next()
        } catch let error as S3Error {
            throw error.ferryError
        }
    }

    func close() async { await inner.close() }
}
