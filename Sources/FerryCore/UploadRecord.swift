#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A resumable (tus) upload as the catalog keeps it, so that any node can continue it and a
/// restart loses nothing that was acknowledged (API.md "Resumable uploads").
public struct UploadRecord: Hashable, Sendable {
    /// The upload's id (random, URL-safe); also its URL's last segment.
    public var id: String
    /// Who created it; only they (and admins) see it.
    public var creatorID: String
    /// The creator's username (for the audit).
    public var creatorName: String
    /// The file whose content it replaces (`file_id` metadata), or nil for a new file.
    public var replaces: String?
    /// The file name (`filename` metadata).
    public var name: String
    /// The media type (`filetype` metadata, or what the name implies).
    public var contentType: String
    /// `Upload-Length`.
    public var length: Int64
    /// Bytes stored and acknowledged so far (`Upload-Offset`).
    public var offset: Int64
    /// The SHA-256 the whole content must have (`sha256` metadata), lowercase hex.
    public var expectedSHA256: String?
    /// Where the bytes go in the store (`<file id>/<random>`).
    public var blobKey: String
    /// The store's own state of the upload (opaque to the catalog), e.g. S3's multipart upload.
    public var storeState: String
    /// SHA-256 of each whole 8 MiB block stored so far.
    public var blockSHA256: [String]
    /// When the upload was created (`POST /v1/uploads`).
    public var createdAt: Date
    /// When an unfinished upload is discarded (`Upload-Expires`).
    public var expiresAt: Date
    /// The file the upload produced, once complete.
    public var completedFileID: String?

    /// Creates a record.
    public init(
        id: String, creatorID: String, creatorName: String, replaces: String?, name: String, contentType: String,
        length: Int64, offset: Int64 = 0, expectedSHA256: String?, blobKey: String, storeState: String,
        blockSHA256: [String] = [], createdAt: Date, expiresAt: Date, completedFileID: String? = nil
    ) {
        self.id = id
        self.creatorID = creatorID
        self.creatorName = creatorName
        self.replaces = replaces
        self.name = name
        self.contentType = contentType
        self.length = length
        self.offset = offset
        self.expectedSHA256 = expectedSHA256
        self.blobKey = blobKey
        self.storeState = storeState
        self.blockSHA256 = blockSHA256
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.completedFileID = completedFileID
    }

    /// Whether every byte has arrived.
    public var isComplete: Bool { offset == length }
}

/// What a PATCH stored: the new offset, the store's state and the block hashes, written to the
/// catalog only while the writer still holds the upload's lease.
public struct UploadProgress: Hashable, Sendable {
    /// How many bytes are now durable.
    public var offset: Int64
    /// The store's state after the PATCH (see `UploadRecord.storeState`).
    public var storeState: String
    /// SHA-256 of each whole 8 MiB block stored so far.
    public var blockSHA256: [String]

    /// Creates progress.
    public init(offset: Int64, storeState: String, blockSHA256: [String]) {
        self.offset = offset
        self.storeState = storeState
        self.blockSHA256 = blockSHA256
    }
}

/// The outcome of asking for an upload's write lease.
public enum UploadLease: Hashable, Sendable {
    /// Taken: the upload as it stands.
    case taken(UploadRecord)
    /// Another request holds it (until it ends or the lease runs out).
    case locked
    /// No such upload (never, deleted, or expired and discarded).
    case missing
}
