#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A user's role.
public enum Role: String, Sendable, Hashable, Codable {
    case admin
    case member
}

/// The authenticated caller of a request.
public struct Principal: Hashable, Sendable {
    /// The user it belongs to.
    public var userID: String
    /// The username.
    public var username: String
    /// `admin` or `member`.
    public var role: Role
    /// How the caller authenticated; cookie-authenticated state changes need an Origin check.
    public var via: Credential

    /// The kind of credential presented.
    public enum Credential: Hashable, Sendable {
        case token
        case session
    }

    /// Creates a principal.
    public init(userID: String, username: String, role: Role, via: Credential) {
        self.userID = userID
        self.username = username
        self.role = role
        self.via = via
    }

    /// Whether the principal is an admin.
    public var isAdmin: Bool { role == .admin }
}

/// A user account.
public struct UserRecord: Hashable, Sendable {
    /// The id (random, URL-safe).
    public var id: String
    /// The username.
    public var username: String
    /// `admin` or `member`.
    public var role: Role
    /// bcrypt hash; nil for token-only users.
    public var passwordHash: String?
    /// Whether the account is disabled.
    public var disabled: Bool
    /// When it was created.
    public var createdAt: Date

    /// Creates a user.
    public init(id: String, username: String, role: Role, passwordHash: String?, disabled: Bool, createdAt: Date) {
        self.id = id
        self.username = username
        self.role = role
        self.passwordHash = passwordHash
        self.disabled = disabled
        self.createdAt = createdAt
    }

    /// Usernames: 1-64 of letters, digits, `.`, `_`, `-`, `@`.
    public static func validate(username: String) throws(FerryError) -> String {
        let ok =
            (1...64).contains(username.utf8.count)
            && username.utf8.allSatisfy { c in
                Base64URL.isAlphabet(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "@")
            }
        guard ok else {
            throw FerryError(
                .badRequest, "The username must be 1 to 64 letters, digits, '.', '_', '-' or '@'.")
        }
        return username
    }
}

/// An API token; only the hash of the secret is stored.
public struct TokenRecord: Hashable, Sendable {
    /// The id (random, URL-safe).
    public var id: String
    /// The user it belongs to.
    public var userID: String
    /// The name its user gave it, if any.
    public var name: String?
    /// SHA-256 of the secret (the secret is never stored).
    public var secretHash: String
    /// When it was created.
    public var createdAt: Date

    /// Creates a token record.
    public init(id: String, userID: String, name: String?, secretHash: String, createdAt: Date) {
        self.id = id
        self.userID = userID
        self.name = name
        self.secretHash = secretHash
        self.createdAt = createdAt
    }
}

/// A browser session; only the hash of the cookie value is stored.
public struct SessionRecord: Hashable, Sendable {
    /// SHA-256 of the secret (the secret is never stored).
    public var secretHash: String
    /// The user it belongs to.
    public var userID: String
    /// When it was created.
    public var createdAt: Date
    /// When it ends.
    public var expiresAt: Date

    /// Creates a session record.
    public init(secretHash: String, userID: String, createdAt: Date, expiresAt: Date) {
        self.secretHash = secretHash
        self.userID = userID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// A user's right to read a file, optionally until a time.
public struct GrantRecord: Hashable, Sendable {
    /// The file it concerns.
    public var fileID: String
    /// The user it belongs to.
    public var userID: String
    /// The username.
    public var username: String
    /// When it ends.
    public var expiresAt: Date?

    /// Creates a grant.
    public init(fileID: String, userID: String, username: String, expiresAt: Date?) {
        self.fileID = fileID
        self.userID = userID
        self.username = username
        self.expiresAt = expiresAt
    }
}
