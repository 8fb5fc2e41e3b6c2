import FerryCore

/// The body of `POST /v1/session`: a username and password, or the first start's one-time `code`.
public struct APISignIn: Codable, Sendable, Equatable {
    /// The username.
    public var username: String?
    /// A password (never logged).
    public var password: String?
    /// The first start's one-time sign-in code.
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
    /// The username.
    public var username: String
    /// `admin` or `member`.
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
