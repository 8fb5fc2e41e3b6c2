/// A new bundle (`POST /v1/bundles`).
public struct APIBundleRequest: Codable, Sendable, Equatable {
    /// The files, in archive order (1 to 1000).
    public var fileIDs: [String]
    /// The archive's name; default `bundle.zip`.
    public var name: String?

    /// Creates a request.
    public init(fileIDs: [String], name: String? = nil) {
        self.fileIDs = fileIDs
        self.name = name
    }

    enum CodingKeys: String, CodingKey {
        case name
        case fileIDs = "file_ids"
    }
}

/// A bundle (API.md "Bundles").
public struct APIBundle: Codable, Sendable, Equatable {
    /// One member.
    public struct Member: Codable, Sendable, Equatable {
        /// The file's id.
        public var id: String
        /// The member's name in the archive.
        public var name: String
        /// The version the bundle is bound to.
        public var version: Int

        /// Creates a member.
        public init(id: String, name: String, version: Int) {
            self.id = id
            self.name = name
            self.version = version
        }
    }

    /// The id.
    public var id: String
    /// The archive's name.
    public var name: String
    /// The archive's exact size in bytes.
    public var size: Int64
    /// The strong entity tag, quotes included.
    public var etag: String
    /// The members, in archive order.
    public var files: [Member]
    /// When it was created.
    public var createdAt: String

    /// Creates a bundle.
    public init(id: String, name: String, size: Int64, etag: String, files: [Member], createdAt: String) {
        self.id = id
        self.name = name
        self.size = size
        self.etag = etag
        self.files = files
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, size, etag, files
        case createdAt = "created_at"
    }
}
