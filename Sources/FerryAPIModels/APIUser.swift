import FerryCore

/// A user (`POST /v1/users`, `GET /v1/users`).
public struct APIUser: Codable, Sendable, Equatable {
    public var id: String
    public var username: String
    /// `admin` or `member`.
    public var role: String
    public var disabled: Bool
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
    public var username: String
    public var password: String?
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
    public var disabled: Bool?
    public var password: String?
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
