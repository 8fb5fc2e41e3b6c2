import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where file bytes live. Keys are chosen by Ferry (random ids, never filenames) and each key is
/// written once: a new version of a file gets a new key, so no reader can ever mix two versions.
public protocol BlobStore: Sendable {
    /// Answers when the store is reachable (`/readyz`).
    func ping() async throws

    /// Starts writing a blob that becomes visible under `key` only when committed.
    /// `sizeHint` lets a store choose single-part or multipart uploads.
    func beginUpload(key: String, sizeHint: Int64?) async throws -> any BlobUpload

    /// Opens a read of `range` (or the whole blob). The store has answered before this returns, so
    /// a missing blob or a store that cannot be reached fails here, before a response head is sent
    /// (API.md: a download is cut only for a failure after its headers went out). The caller takes
    /// batches with `next()` and ends with `close()`.
    func openRead(key: String, range: ClosedRange<Int64>?) async throws -> any BlobReader

    // MARK: Resumable blobs (tus uploads)

    /// Starts a blob of `length` bytes written over several requests, possibly on several nodes;
    /// returns the store's state of it, which the catalog keeps (`UploadRecord.storeState`).
    func beginResumable(key: String, length: Int64) async throws -> String

    /// Opens an append at `offset`, the bytes acknowledged so far (earlier bytes written past it
    /// by a request whose chunk was refused are overwritten).
    func appendResumable(key: String, state: String, offset: Int64) async throws -> any ResumableAppend

    /// Bytes `range` of a resumable blob, all at or after the start of the 8 MiB block that holds
    /// its end (to take up a block's hash on another node).
    func resumableBytes(key: String, state: String, range: ClosedRange<Int64>) async throws -> ByteBuffer

    /// Makes the resumable blob of `length` bytes visible under `key`, atomically.
    func finishResumable(key: String, state: String, length: Int64) async throws

    /// Discards a resumable blob and everything stored for it.
    func discardResumable(key: String, state: String) async

    /// Deletes a blob; deleting a missing blob is not an error.
    func delete(key: String) async throws

    /// A URL that fetches the blob straight from the store until `expiresAt`, when the store can
    /// sign one (S3 presigning, CloudFront); nil for stores that cannot.
    func signedURL(for key: String, request: SignedURLRequest) async throws -> SignedURL?

    /// Whether `signedURL` can return URLs (the broker redirects large files only then).
    var canSignURLs: Bool { get }

    /// Whether signed URLs can be bound to a client address (`SignedURLRequest.bindIP`).
    var canBindAddresses: Bool { get }

    /// Hands `page` the keys of committed blobs last written before `cutoff`, a page at a time,
    /// for the janitor's reconciliation with the catalog. Only keys of the form Ferry makes
    /// (`<id>/<id>`) are listed: anything else under the store's root or prefix is not Ferry's.
    func listBlobs(writtenBefore cutoff: Date, page: ([String]) async throws -> Void) async throws

    /// Discards uploads begun before `cutoff` and never committed or aborted (a node that died
    /// mid-upload: S3 keeps and bills the parts of a multipart upload until it is aborted; local
    /// disk may keep a hidden temporary file); returns how many.
    func discardUnfinishedUploads(begunBefore cutoff: Date) async throws -> Int
}

/// An opened read of one blob.
public protocol BlobReader: Sendable {
    /// The next chunks, nil at the end of the range. The next chunk is read only when asked for,
    /// so a slow consumer slows the store read; a store that reads ahead hands over everything that
    /// arrived while the consumer was busy, to be written in one go.
    func next() async throws -> [ByteBuffer]?
    /// Releases what the read holds; safe to call more than once, and after the end or a failure.
    func close() async
}

extension BlobReader {
    /// The rest of this read in one buffer (for small ranges), closed either way. A read that
    /// ends with other than `length` bytes is `unavailable`: the store does not hold what the
    /// record says.
    public func collect(length: Int64) async throws -> ByteBuffer {
        var whole = ByteBufferAllocator().buffer(capacity: Int(length))
        do {
            while let chunks = try await next() {
                for var chunk in chunks { whole.writeBuffer(&chunk) }
            }
            await close()
        } catch {
            await close()
            throw error
        }
        guard whole.readableBytes == Int(length) else {
            throw FerryError(
                .unavailable, "The file's bytes could not be read from storage. Try again later.",
                underlying: LengthMismatch(expected: length, read: Int64(whole.readableBytes)))
        }
        return whole
    }
}

/// A store read that returned another length than the record's.
public struct LengthMismatch: Error, CustomStringConvertible {
    /// The length the record gives.
    public var expected: Int64
    /// The length the store returned.
    public var read: Int64
    public var description: String { "the store returned \(read) bytes where the record says \(expected)" }
}

extension BlobStore {
    /// Streams `range` (or everything) of a blob into `consumer`, one batch at a time.
    public func readBatches(
        key: String, range: ClosedRange<Int64>?, into consumer: ([ByteBuffer]) async throws -> Void
    ) async throws {
        let reader = try await openRead(key: key, range: range)
        do {
            while let chunks = try await reader.next() { try await consumer(chunks) }
        } catch {
            await reader.close()
            throw error
        }
        await reader.close()
    }

    /// Streams `range` (or everything) of a blob into `consumer`, one chunk at a time.
    public func read(
        key: String, range: ClosedRange<Int64>?, into consumer: (ByteBuffer) async throws -> Void
    ) async throws {
        try await readBatches(key: key, range: range) { chunks in
            for chunk in chunks { try await consumer(chunk) }
        }
    }

    /// Stores that sign bind no addresses unless they say so.
    public var canBindAddresses: Bool { false }
}

/// A blob being written. Exactly one of `commit()` or `abort()` ends it.
public protocol BlobUpload: Sendable {
    /// Appends bytes.
    func write(_ buffer: ByteBuffer) async throws
    /// Makes the blob visible under its key, atomically.
    func commit() async throws
    /// Discards everything written; leaves nothing behind.
    func abort() async
}

/// One request's append to a resumable blob.
public protocol ResumableAppend: Sendable {
    /// Appends bytes (in order).
    func write(_ buffer: ByteBuffer) async throws
    /// Stores durably what was written (also after a failed write: what arrived is kept) and
    /// returns how many bytes this append stored and the store's new state.
    func finish() async throws -> (stored: Int64, state: String)
}

/// What a store-signed URL should say.
public struct SignedURLRequest: Sendable, Hashable {
    /// When the URL stops working.
    public var expiresAt: Date
    /// When it is signed.
    public var now: Date
    /// The `Content-Type` the store answers with.
    public var contentType: String
    /// The `Content-Disposition` the store answers with.
    public var contentDisposition: String
    /// Client address the URL is bound to, where the store supports it (CloudFront custom policy).
    public var bindIP: String?

    /// Creates a request.
    public init(expiresAt: Date, now: Date, contentType: String, contentDisposition: String, bindIP: String? = nil) {
        self.expiresAt = expiresAt
        self.now = now
        self.contentType = contentType
        self.contentDisposition = contentDisposition
        self.bindIP = bindIP
    }
}

/// A URL signed by the store or CDN.
public struct SignedURL: Sendable, Hashable {
    /// `storage` or `cdn`.
    public var strategy: String
    /// The signed URL.
    public var url: String

    /// Creates a signed URL.
    public init(strategy: String, url: String) {
        self.strategy = strategy
        self.url = url
    }
}
