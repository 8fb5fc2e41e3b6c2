import FerryCore

/// A user (`POST /v1/users`, `GET /v1/users`).
public struct APIUser: Codable, Sendable, Equatable {
    /// The id (random, URL-safe).
    public var id: String
    /// The username.
    public var username: String
    /// `admin` or `member`.
    public var role: String
    /// Whether the account is disabled.
    public var disabled: Bool
    /// When it was created.
    public var createdAt: String

    /// Creates a user.
    public init(id: String, username: String, role: String, disabled: Bool, createdAt: String) {
        self.id = id
        self.username = username
        self.role = role
        self.disabled = disabled
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, username, role, disabled
        case createdAt = "created_at"
    }
}

/// The body of `POST /v1/users`.
public struct APINewUser: Codable, Sendable, Equatable {
    /// The username.
    public var username: String
    /// A password (never logged).
    public var password: String?
    /// `admin` or `member`.
    public var role: String?

    /// Creates a body.
    public init(username: String, password: String? = nil, role: String? = nil) {
        self.username = username
        self.password = password
        self.role = role
    }
}

/// The body of `PATCH /v1/users/{username}`: `disabled` (admins), a new `password`, and the
/// `current_password` a cookie session must give to change its own.
public struct APIUserUpdate: Codable, Sendable, Equatable {
    /// Whether the account is disabled.
    public var disabled: Bool?
    /// A password (never logged).
    public var password: String?
    /// The current password, to change one through a cookie session.
    public var currentPassword: String?

    /// Creates a body.
    public init(disabled: Bool? = nil, password: String? = nil, currentPassword: String? = nil) {
        self.disabled = disabled
        self.password = password
        self.currentPassword = currentPassword
    }

    enum CodingKeys: String, CodingKey {
        case disabled, password
        case currentPassword = "current_password"
    }
}
