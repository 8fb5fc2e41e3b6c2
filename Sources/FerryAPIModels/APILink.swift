/// What a new link should be (`POST /v1/files/{id}/links`); nil leaves the server's default.
public struct APILinkRequest: Codable, Sendable, Equatable {
    /// Lifetime in seconds; nil: `FERRY_LINK_TTL`.
    public var ttlSeconds: Int?
    /// `attachment` (default) or `inline`.
    public var disposition: String?
    /// A name to save as instead of the file's.
    public var filename: String?
    /// How many clients may download through it; nil: no limit.
    public var maxDownloads: Int?
    /// Same as `max_downloads: 1`.
    public var singleUse: Bool?
    /// The client address it is bound to, if any.
    public var bindIP: String?
    /// A password the link asks for (8 to 1024 characters); nil: none.
    public var password: String?

    /// Creates a request.
    public init(
        ttlSeconds: Int? = nil, maxDownloads: Int? = nil, singleUse: Bool? = nil, bindIP: String? = nil,
        disposition: String? = nil, filename: String? = nil, password: String? = nil
    ) {
        self.password = password
        self.ttlSeconds = ttlSeconds
        self.maxDownloads = maxDownloads
        self.singleUse = singleUse
        self.bindIP = bindIP
        self.disposition = disposition
        self.filename = filename
    }

    enum CodingKeys: String, CodingKey {
        case disposition, filename, password
        case ttlSeconds = "ttl_seconds"
        case maxDownloads = "max_downloads"
        case singleUse = "single_use"
        case bindIP = "bind_ip"
    }
}

/// An issued link (201 of `POST /v1/files/{id}/links`); its URL is shown only here.
public struct APIIssuedLink: Codable, Sendable, Equatable {
    /// The id (random, URL-safe).
    public var id: String
    /// The URL.
    public var url: String
    /// When it expires.
    public var expiresAt: String
    /// The strong entity tag, quotes included.
    public var etag: String
    /// `server`, `storage` or `cdn`.
    public var strategy: String
    /// How many clients may download through it; nil: no limit.
    @Nullable public var maxDownloads: Int?

    /// Creates an issued link.
    public init(id: String, url: String, expiresAt: String, etag: String, strategy: String, maxDownloads: Int?) {
        self.id = id
        self.url = url
        self.expiresAt = expiresAt
        self.etag = etag
        self.strategy = strategy
        self.maxDownloads = maxDownloads
    }

    enum CodingKeys: String, CodingKey {
        case id, url, etag, strategy
        case expiresAt = "expires_at"
        case maxDownloads = "max_downloads"
    }

}

/// A link as listed (`GET /v1/files/{id}/links`): never its URL or token.
public struct APILink: Codable, Sendable, Equatable {
    /// The id (random, URL-safe).
    public var id: String
    /// Who issued it (username).
    public var issuer: String
    /// When it was created.
    public var createdAt: String
    /// When it expires.
    public var expiresAt: String
    /// How it is served: `server`, `storage` or `cdn`.
    public var strategy: String
    /// How many clients may download through it; nil: no limit.
    @Nullable public var maxDownloads: Int?
    /// Downloads taken so far.
    public var downloadsUsed: Int
    /// The client address it is bound to, if any.
    @Nullable public var bindIP: String?
    /// When it was revoked; nil while it works.
    @Nullable public var revokedAt: String?
    /// Whether it asks for a password (never the password itself).
    public var password: Bool

    /// Creates a listing.
    public init(
        id: String, issuer: String, createdAt: String, expiresAt: String, strategy: String, maxDownloads: Int?,
        downloadsUsed: Int, bindIP: String?, revokedAt: String?, password: Bool = false
    ) {
        self.password = password
        self.id = id
        self.issuer = issuer
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.strategy = strategy
        self.maxDownloads = maxDownloads
        self.downloadsUsed = downloadsUsed
        self.bindIP = bindIP
        self.revokedAt = revokedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, issuer, strategy, password
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case maxDownloads = "max_downloads"
        case downloadsUsed = "downloads_used"
        case bindIP = "bind_ip"
        case revokedAt = "revoked_at"
    }

    /// Decodes a listing; `password` is absent in listings of servers that predate password links.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        issuer = try c.decode(String.self, forKey: .issuer)
        createdAt = try c.decode(String.self, forKey: .createdAt)
        expiresAt = try c.decode(String.self, forKey: .expiresAt)
        strategy = try c.decode(String.self, forKey: .strategy)
        _maxDownloads = try c.decode(Nullable<Int>.self, forKey: .maxDownloads)
        downloadsUsed = try c.decode(Int.self, forKey: .downloadsUsed)
        _bindIP = try c.decode(Nullable<String>.self, forKey: .bindIP)
        _revokedAt = try c.decode(Nullable<String>.self, forKey: .revokedAt)
        password = try c.decodeIfPresent(Bool.self, forKey: .password) ?? false
    }
}

/// A change to a link (`PATCH /v1/links/{id}`): `password` set to a new one, or to null to
/// remove it. Every cookie and remembered check of the old password ends.
public struct APILinkUpdate: Codable, Sendable, Equatable {
    /// The new password; nil removes it.
    public var password: String?

    /// Creates a change.
    public init(password: String?) { self.password = password }

    enum CodingKeys: String, CodingKey { case password }

    /// `password` must be present (a string or null): a body without it changes nothing and is refused.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard container.contains(.password) else {
            throw DecodingError.keyNotFound(
                CodingKeys.password,
                .init(codingPath: [], debugDescription: "password is missing: send a new one, or null to remove it"))
        }
        password = try container.decodeIfPresent(String.self, forKey: .password)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(password, forKey: .password)
    }
}

/// The links of a file.
public struct APILinkList: Codable, Sendable {
    /// The links.
    public var links: [APILink]

    /// Creates a list.
    public init(links: [APILink]) { self.links = links }
}
