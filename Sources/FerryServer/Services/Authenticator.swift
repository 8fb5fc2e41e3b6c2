import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import Logging
import NIOPosix

/// Resolves who is calling (bearer token or session cookie) and guards cookie-authenticated
/// writes with the Origin check of API.md "Authentication".
struct Authenticator: Sendable {
    let catalog: any Catalog
    let configuration: FerryConfiguration
    let now: @Sendable () -> Date

    /// Sign-in attempts allowed per username and address in a sliding window, across all nodes.
    static let loginLimit = 5
    static let loginWindow: TimeInterval = 60

    static let sessionCookie = "ferry_session"
    static let sessionLifetime: TimeInterval = 12 * 3600
    static let bcryptCost: UInt8 = 11

    /// The caller, or nil when no credentials were sent. Unknown credentials are 401.
    func principal(for request: Request) async throws -> Principal? {
        if let authorization = request.headers[.authorization] {
            guard let secret = Self.bearerCredential(authorization) else {
                throw FerryError(
                    .unauthenticated, "Send Authorization: Bearer <token>; other schemes are not accepted.")
            }
            guard let principal = try await catalog.principal(tokenHash: Identifier.hash(secret)) else {
                throw FerryError(.unauthenticated, "This token is unknown or was revoked; create a new one.")
            }
            return principal
        }
        if let cookie = request.cookies[Self.sessionCookie]?.value, !cookie.isEmpty {
            guard let principal = try await catalog.principal(sessionHash: Identifier.hash(cookie), now: now()) else {
                throw FerryError(.unauthenticated, "Your session ended; sign in again.")
            }
            if principal.via == .session, !request.method.isSafe {
                try checkOrigin(request)
            }
            return principal
        }
        return nil
    }

    /// The credential of `Bearer <credential>` (scheme in any case, RFC 9110 section 11.1), with
    /// the spaces and tabs around it removed; nil for another scheme or no credential. On bytes:
    /// Foundation's `trimmingCharacters` bridged through NSString and was 3 % of a bearer
    /// download's CPU in profiles.
    static func bearerCredential(_ authorization: String) -> String? {
        let bytes = Array(authorization.utf8)
        let scheme = Array("bearer".utf8)
        guard bytes.count > scheme.count, bytes[scheme.count] == UInt8(ascii: " "),
            zip(bytes, scheme).allSatisfy({ $0 | 0x20 == $1 })
        else { return nil }
        func blank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var start = scheme.count + 1
        var end = bytes.count
        while start < end, blank(bytes[start]) { start += 1 }
        while end > start, blank(bytes[end - 1]) { end -= 1 }
        guard start < end else { return nil }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// Cookie-authenticated state changes must come from our own origin (CSRF defence).
    func checkOrigin(_ request: Request) throws {
        guard let origin = request.headers[.origin] else {
            throw FerryError(.forbidden, "This request changes state with a session cookie but has no Origin header.")
        }
        guard origin == configuration.publicOrigin else {
            throw FerryError(
                .forbidden,
                "Requests from \(origin) may not use a Ferry session: this server's web app is at "
                    + "\(configuration.publicOrigin) (FERRY_PUBLIC_URL). Open it there, or use a bearer token.")
        }
    }

    /// Checks a username and password (bcrypt, off the event loop), limited per username and
    /// address to `loginLimit` attempts a minute on the whole cluster. The attempt is recorded in
    /// the catalog before the password is checked, so parallel guesses count too; a successful
    /// sign-in forgets them.
    func login(username: String, password: String, clientIP: String) async throws -> UserRecord {
        let key = "\(username)|\(clientIP)"
        try await catalog.takeAttempt(
            key: key, at: now(), limit: Self.loginLimit, window: Self.loginWindow,
            refusal: { "Too many failed sign-ins; wait \($0) seconds and try again." })
        let user = try await catalog.user(named: username)
        let hash = user?.passwordHash
        // Verify against a dummy hash when the user is unknown so timing does not reveal names.
        let ok = try await PasswordHashing.verify(password, hash: hash ?? Self.dummyHash)
        guard ok, let user, hash != nil, !user.disabled else {
            throw FerryError(.unauthenticated, "The username or password is wrong.")
        }
        try await catalog.clearLoginAttempts(key: key)
        return user
    }

    /// Exchanges a one-time sign-in code (the first start's) for its user: the code's session row
    /// is deleted as it is used, so two redemptions cannot both succeed.
    func redeem(code: String) async throws -> Principal {
        let hash = Self.signInCodeHash(code)
        guard let principal = try await catalog.principal(sessionHash: hash, now: now()),
            try await catalog.deleteSession(hash: hash)
        else {
            throw FerryError(
                .unauthenticated,
                "This sign-in link was used already or has expired; sign in with a password, or set one with 'ferry passwd'."
            )
        }
        return principal
    }

    /// The stored hash of a sign-in code: domain-separated from session cookies, so that a code
    /// can only be exchanged, never presented as a session.
    static func signInCodeHash(_ code: String) -> String {
        Identifier.hash("sign-in-code:" + code)
    }

    /// bcrypt, off the event loop.
    static func hashPassword(_ password: String) async throws -> String {
        try await PasswordHashing.hash(password, cost: bcryptCost)
    }

    static let dummyHash = Bcrypt.hash("ferry-dummy-password", cost: bcryptCost)
}

extension Catalog {
    /// Records an attempt for `key` (sign-ins, link passwords), or throws 429 `rate_limited` with
    /// `Retry-After` when `limit` attempts are in the last `window` seconds, on the whole cluster.
    func takeAttempt(
        key: String, at: Date, limit: Int, window: TimeInterval, refusal: (Int) -> String
    ) async throws {
        guard
            let oldest = try await takeLoginAttempt(
                key: key, at: at, windowStart: at.addingTimeInterval(-window), limit: limit)
        else { return }
        let wait = max(1, Int((window - at.timeIntervalSince(oldest)).rounded(.up)))
        throw FerryError(.rateLimited, refusal(wait), retryAfter: wait)
    }
}

extension HTTPRequest.Method {
    var isSafe: Bool { self == .get || self == .head || self == .options }
}
