#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One stored file: its current version's content and where its bytes live.
public struct FileRecord: Hashable, Sendable {
    /// The id (random, URL-safe).
    public var id: String
    /// The name (any Unicode; never used as a path).
    public var name: String
    /// Size in bytes.
    public var size: Int64
    /// The media type.
    public var contentType: String
    /// Lowercase hex SHA-256 of the content.
    public var sha256: String
    /// Starts at 1; a content replace increments it.
    public var version: Int
    /// The owner's user id.
    public var ownerID: String
    /// The owner's username.
    public var ownerName: String
    /// When it was created.
    public var createdAt: Date
    /// When its content last changed.
    public var updatedAt: Date
    /// Where this version's bytes live in the blob store; never shown to a client.
    public var blobKey: String
    /// SHA-256 (hex) of each `FileRecord.blockSize` block of the content.
    public var blockSHA256: [String]
    /// CRC-32 of the content (for bundles' zip headers); nil for versions uploaded before Ferry
    /// kept it, until computed once.
    public var crc32: UInt32?

    /// The block size of `blockSHA256` (API.md "Resume plan").
    public static let blockSize: Int64 = 8 * 1024 * 1024

    /// Creates a record.
    public init(
        id: String, name: String, size: Int64, contentType: String, sha256: String, version: Int,
        ownerID: String, ownerName: String, createdAt: Date, updatedAt: Date, blobKey: String,
        blockSHA256: [String], crc32: UInt32? = nil
    ) {
        self.crc32 = crc32
        self.id = id
        self.name = name
        self.size = size
        self.contentType = contentType
        self.sha256 = sha256
        self.version = version
        self.ownerID = ownerID
        self.ownerName = ownerName
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.blobKey = blobKey
        self.blockSHA256 = blockSHA256
    }

    /// The strong entity tag: content hash and version, so it changes whenever the content does.
    public var etag: EntityTag { EntityTag(opaque: "\(sha256.prefix(32))-\(version)") }

    /// Last-Modified: when this version was published.
    public var lastModified: Date { updatedAt }

    /// The SHA-256 of the whole content as an RFC 9530 `Repr-Digest` value (`sha-256=:<base64>:`),
    /// sent with every download so that any client, even one holding only a link, can check the
    /// whole file.
    public var reprDigest: String {
        guard let bytes = Hex.decode(sha256) else { return "" }
        return DigestField.value(sha256: bytes)
    }
}

/// The content of one version, as produced by an upload.
public struct FileContent: Hashable, Sendable {
    /// Size in bytes.
    public var size: Int64
    /// The media type.
    public var contentType: String
    /// SHA-256 of the content, lowercase hex.
    public var sha256: String
    /// Where the bytes live in the store (never shown to clients).
    public var blobKey: String
    /// SHA-256 of each block, in order (the last one shorter).
    public var blockSHA256: [String]
    /// CRC-32 of the content.
    public var crc32: UInt32?

    /// Creates a content description.
    public init(
        size: Int64, contentType: String, sha256: String, blobKey: String, blockSHA256: [String],
        crc32: UInt32? = nil
    ) {
        self.crc32 = crc32
        self.size = size
        self.contentType = contentType
        self.sha256 = sha256
        self.blobKey = blobKey
        self.blockSHA256 = blockSHA256
    }
}

/// Filenames are user data: any Unicode except control characters, never a path.
public enum FileName {
    /// The longest name accepted, in UTF-8 bytes.
    public static let maximumLength = 1024

    /// Validates a name, throwing 400 `bad_request` with a message that says what is wrong.
    public static func validate(_ name: String) throws(FerryError) -> String {
        if name.isEmpty {
            throw FerryError(.badRequest, "The file name is empty; pass ?name=<filename>.")
        }
        if name.utf8.count > maximumLength {
            throw FerryError(.badRequest, "The file name is longer than \(maximumLength) bytes; choose a shorter one.")
        }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw FerryError(
                .badRequest, "The file name contains control characters (U+0000-U+001F or U+007F); remove them.")
        }
        return name
    }
}
