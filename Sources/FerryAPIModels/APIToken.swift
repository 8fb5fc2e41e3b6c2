import FerryCore

/// An API token; `token` (the secret) only in the answer to its creation.
public struct APIToken: Codable, Sendable, Equatable {
    /// The id (random, URL-safe).
    public var id: String
    /// The name its user gave it, if any.
    public var name: String?
    /// When it was created.
    public var createdAt: String
    /// The secret, only in the answer to its creation.
    public var token: String?

    /// Creates a token description.
    public init(id: String, name: String?, createdAt: String, token: String?) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.token = token
    }

    enum CodingKeys: String, CodingKey {
        case id, name, token
        case createdAt = "created_at"
    }
}

/// The body of `POST /v1/tokens`.
public struct APINewToken: Codable, Sendable, Equatable {
    /// The name its user gave it, if any.
    public var name: String?

    /// Creates a body.
    public init(name: String? = nil) { self.name = name }
}
