import FerryCore

/// An API token; `token` (the secret) only in the answer to its creation.
public struct APIToken: Codable, Sendable, Equatable {
    public var id: String
    public var name: String?
    public var createdAt: String
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
    public var name: String?

    /// Creates a body.
    public init(name: String? = nil) { self.name = name }
}
