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

/// The body of `POST /v1/session`: a username and password, or the first start's one-time `code`.
public struct APISignIn: Codable, Sendable, Equatable {
    public var username: String?
    public var password: String?
    public var code: String?

    /// Creates a body.
    public init(username: String? = nil, password: String? = nil, code: String? = nil) {
        self.username = username
        self.password = password
        self.code = code
    }
}

/// Who is calling (`GET /v1/session`).
public struct APISession: Codable, Sendable, Equatable {
    public var username: String
    public var role: String
    /// False for an account that can only use tokens (the web app then asks for a password).
    public var hasPassword: Bool

    /// Creates a session description.
    public init(username: String, role: String, hasPassword: Bool) {
        self.username = username
        self.role = role
        self.hasPassword = hasPassword
    }

    enum CodingKeys: String, CodingKey {
        case username, role
        case hasPassword = "has_password"
    }
}

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

/// A grant (`POST /v1/files/{id}/grants`); `expires_at` null for one that does not expire.
public struct APIGrant: Codable, Sendable, Equatable {
    public var fileID: String
    public var username: String
    public var expiresAt: String?

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

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(fileID, forKey: .fileID)
        try c.encode(username, forKey: .username)
        try c.encode(expiresAt, forKey: .expiresAt)
    }
}

/// The body of `POST /v1/files/{id}/grants`.
public struct APIGrantRequest: Codable, Sendable, Equatable {
    public var username: String
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

/// One audit event (`GET /v1/audit`).
public struct APIAuditEvent: Codable, Sendable, Equatable {
    public var at: String
    public var event: String
    public var actor: String?
    public var fileID: String?
    public var clientIP: String?
    public var detail: [String: AuditValue]

    /// Creates an event.
    public init(
        at: String, event: String, actor: String?, fileID: String?, clientIP: String?, detail: [String: AuditValue]
    ) {
        self.at = at
        self.event = event
        self.actor = actor
        self.fileID = fileID
        self.clientIP = clientIP
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case at, event, actor, detail
        case fileID = "file_id"
        case clientIP = "client_ip"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(at, forKey: .at)
        try c.encode(event, forKey: .event)
        try c.encode(actor, forKey: .actor)
        try c.encode(fileID, forKey: .fileID)
        try c.encode(clientIP, forKey: .clientIP)
        try c.encode(detail, forKey: .detail)
    }
}

/// A page of audit events, newest first.
public struct APIAuditList: Codable, Sendable {
    public var events: [APIAuditEvent]
    public var nextCursor: String?

    /// Creates a page.
    public init(events: [APIAuditEvent], nextCursor: String?) {
        self.events = events
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case events
        case nextCursor = "next_cursor"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(events, forKey: .events)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}
