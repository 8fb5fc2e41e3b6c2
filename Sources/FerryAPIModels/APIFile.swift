/// The JSON shapes of API.md, one wire type each, used by the server, the client and the tests:
/// a field added here appears everywhere. Times are RFC 3339 strings, sizes bytes.

/// A file (API.md "Files").
public struct APIFile: Codable, Sendable, Hashable {
    /// The id (random, URL-safe).
    public var id: String
    /// The name (any Unicode; never used as a path).
    public var name: String
    /// Size in bytes.
    public var size: Int64
    /// The media type.
    public var contentType: String
    /// SHA-256 of the content, lowercase hex.
    public var sha256: String
    /// A strong entity tag, quotes included.
    public var etag: String
    /// The content version, from 1.
    public var version: Int
    /// The owner's username.
    public var owner: String
    /// When it was created.
    public var createdAt: String
    /// When its content last changed.
    public var updatedAt: String

    /// Creates a file.
    public init(
        id: String, name: String, size: Int64, contentType: String, sha256: String, etag: String, version: Int,
        owner: String, createdAt: String, updatedAt: String
    ) {
        self.id = id
        self.name = name
        self.size = size
        self.contentType = contentType
        self.sha256 = sha256
        self.etag = etag
        self.version = version
        self.owner = owner
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, size, sha256, etag, version, owner
        case contentType = "content_type"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// A page of files (`GET /v1/files`); `next_cursor` is null on the last page.
public struct APIFileList: Codable, Sendable {
    /// The files of this page.
    public var files: [APIFile]
    /// The cursor of the next page; nil on the last.
    @Nullable public var nextCursor: String?

    /// Creates a page.
    public init(files: [APIFile], nextCursor: String?) {
        self.files = files
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case files
        case nextCursor = "next_cursor"
    }

}

/// The resume plan (`GET /v1/files/{id}/manifest`, API.md "Resume plan").
public struct APIManifest: Codable, Sendable {
    /// The fresh link of a manifest.
    public struct Link: Codable, Sendable {
        /// The URL.
        public var url: String
        /// When it expires.
        public var expiresAt: String
        /// How it is served: `server`, `storage` or `cdn`.
        public var strategy: String

        /// Creates a link.
        public init(url: String, expiresAt: String, strategy: String) {
            self.url = url
            self.expiresAt = expiresAt
            self.strategy = strategy
        }

        enum CodingKeys: String, CodingKey {
            case url, strategy
            case expiresAt = "expires_at"
        }
    }

    /// The file.
    public var file: APIFile
    /// The fresh link.
    public var link: Link
    /// Bytes per part of a segmented download.
    public var partSize: Int64
    /// Bytes per verified block (8 MiB).
    public var blockSize: Int64
    /// SHA-256 of each block, in order (the last one shorter).
    public var blockSHA256: [String]
    /// The path to call for a fresh link.
    public var refresh: String

    /// Creates a manifest.
    public init(
        file: APIFile, link: Link, partSize: Int64, blockSize: Int64, blockSHA256: [String], refresh: String
    ) {
        self.file = file
        self.link = link
        self.partSize = partSize
        self.blockSize = blockSize
        self.blockSHA256 = blockSHA256
        self.refresh = refresh
    }

    enum CodingKeys: String, CodingKey {
        case file, link, refresh
        case partSize = "part_size"
        case blockSize = "block_size"
        case blockSHA256 = "block_sha256"
    }
}

/// What clients and the web app are told of the limits (`GET /v1/limits`).
public struct APILimits: Codable, Sendable, Equatable {
    /// The largest upload (`FERRY_MAX_UPLOAD_BYTES`).
    public var maxUploadBytes: Int64
    /// Nil: any type.
    @Nullable public var allowedTypes: [String]?
    /// The broker streams below this size and redirects at or above.
    public var proxyMaxBytes: Int64
    /// Default link lifetime, seconds.
    public var linkTTL: Int
    /// Longest link lifetime, seconds.
    public var linkTTLMax: Int
    /// Bytes per verified block (8 MiB).
    public var blockSize: Int64

    /// Creates the limits.
    public init(
        maxUploadBytes: Int64, allowedTypes: [String]?, proxyMaxBytes: Int64, linkTTL: Int, linkTTLMax: Int,
        blockSize: Int64
    ) {
        self.maxUploadBytes = maxUploadBytes
        self.allowedTypes = allowedTypes
        self.proxyMaxBytes = proxyMaxBytes
        self.linkTTL = linkTTL
        self.linkTTLMax = linkTTLMax
        self.blockSize = blockSize
    }

    enum CodingKeys: String, CodingKey {
        case maxUploadBytes = "max_upload_bytes"
        case allowedTypes = "allowed_types"
        case proxyMaxBytes = "proxy_max_bytes"
        case linkTTL = "link_ttl"
        case linkTTLMax = "link_ttl_max"
        case blockSize = "block_size"
    }

}

/// The error shape of API.md: `{"error": {"code", "message"}}`.
public struct APIError: Codable, Sendable, Equatable {
    /// The code and the sentence.
    public struct Detail: Codable, Sendable, Equatable {
        /// The stable machine code, e.g. `link_expired`.
        public var code: String
        /// A sentence a person can act on.
        public var message: String

        /// Creates a detail.
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// The code and the sentence.
    public var error: Detail

    /// Creates an error body.
    public init(code: String, message: String) {
        error = Detail(code: code, message: message)
    }
}
