import FerryCore

/// A grant (`POST /v1/files/{id}/grants`); `expires_at` null for one that does not expire.
public struct APIGrant: Codable, Sendable, Equatable {
    /// The file it concerns.
    public var fileID: String
    /// The username.
    public var username: String
    /// When the grant ends; nil: never.
    @Nullable public var expiresAt: String?

    /// Creates a grant.
    public init(fileID: String, username: String, expiresAt: String?) {
        self.fileID = fileID
        self.username = username
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case username
        case fileID = "file_id"
        case expiresAt = "expires_at"
    }

}

/// The body of `POST /v1/files/{id}/grants`.
public struct APIGrantRequest: Codable, Sendable, Equatable {
    /// The username.
    public var username: String
    /// When the grant ends; nil: never.
    public var expiresAt: String?

    /// Creates a body.
    public init(username: String, expiresAt: String? = nil) {
        self.username = username
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case username
        case expiresAt = "expires_at"
    }
}
