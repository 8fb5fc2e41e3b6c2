import FerryCore
import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension PostgresCatalog {
    public func userCount() async throws -> Int {
        try await self.rows("SELECT COUNT(*) AS n FROM users").first?["n"].decode(Int.self) ?? 0
    }

    public func createUser(_ user: UserRecord) async throws {
        try await self.rows(
            """
            INSERT INTO users (id, username, role, password_hash, disabled, created_at)
            VALUES (\(user.id), \(user.username), \(user.role.rawValue), \(user.passwordHash), \(user.disabled),
                    \(user.createdAt.timeIntervalSince1970))
            """)
    }

    public func user(named username: String) async throws -> UserRecord? {
        try await self.rows("SELECT * FROM users WHERE username = \(username)").first.map(Self.user)
    }

    public func users() async throws -> [UserRecord] {
        try await self.rows("SELECT * FROM users ORDER BY created_at, id").map(Self.user)
    }

    public func setUserDisabled(id: String, disabled: Bool) async throws -> Bool {
        try await transaction { connection in
            let found = try await self.rows(
                "UPDATE users SET disabled = \(disabled) WHERE id = \(id) RETURNING id", on: connection)
            if disabled { _ = try await self.rows("DELETE FROM sessions WHERE user_id = \(id)", on: connection) }
            return !found.isEmpty
        }
    }

    public func createToken(_ token: TokenRecord) async throws {
        try await self.rows(
            """
            INSERT INTO tokens (id, user_id, name, secret_hash, created_at)
            VALUES (\(token.id), \(token.userID), \(token.name), \(token.secretHash),
                    \(token.createdAt.timeIntervalSince1970))
            """)
    }

    public func principal(tokenHash: String) async throws -> Principal? {
        try await self.rows(PrincipalByToken(tokenHash: tokenHash)).first.map { try Self.principal($0, via: .token) }
    }

    public func tokens(userID: String) async throws -> [TokenRecord] {
        try await self.rows("SELECT * FROM tokens WHERE user_id = \(userID) ORDER BY created_at DESC, id").map { row in
            TokenRecord(
                id: try row["id"].decode(String.self), userID: try row["user_id"].decode(String.self),
                name: try row["name"].decode(String?.self), secretHash: try row["secret_hash"].decode(String.self),
                createdAt: try Self.date(row["created_at"]))
        }
    }

    public func deleteToken(id: String, userID: String?) async throws -> Bool {
        let deleted =
            if let userID {
                try await self.rows("DELETE FROM tokens WHERE id = \(id) AND user_id = \(userID) RETURNING id")
            } else {
                try await self.rows("DELETE FROM tokens WHERE id = \(id) RETURNING id")
            }
        return !deleted.isEmpty
    }

    public func createSession(_ session: SessionRecord) async throws {
        try await transaction { connection in
            _ = try await self.rows(
                """
                INSERT INTO sessions (secret_hash, user_id, created_at, expires_at)
                VALUES (\(session.secretHash), \(session.userID), \(session.createdAt.timeIntervalSince1970),
                        \(session.expiresAt.timeIntervalSince1970))
                """, on: connection)
            // Sweep expired sessions as new ones arrive, so the table never grows without bound.
            _ = try await self.rows(
                "DELETE FROM sessions WHERE expires_at < \(session.createdAt.timeIntervalSince1970)", on: connection)
        }
    }

    public func principal(sessionHash: String, now: Date) async throws -> Principal? {
        try await self.rows(
            """
            SELECT u.id, u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.secret_hash = \(sessionHash) AND s.expires_at > \(now.timeIntervalSince1970) AND NOT u.disabled
            """
        ).first.map { try Self.principal($0, via: .session) }
    }

    public func takeLoginAttempt(key: String, at: Date, windowStart: Date, limit: Int) async throws -> Date? {
        try await transaction { connection in
            // Attempts on one key are serialised across nodes by a transaction-scoped lock.
            _ = try await self.rows(
                "SELECT pg_advisory_xact_lock(\(Self.loginLock), hashtext(\(key)))", on: connection)
            let recent = try await self.rows(
                """
                SELECT at FROM login_attempts WHERE key = \(key) AND at > \(windowStart.timeIntervalSince1970)
                ORDER BY at LIMIT \(limit)
                """, on: connection
            ).map { try $0["at"].decode(Double.self) }
            if recent.count >= limit { return Date(timeIntervalSince1970: recent[0]) }
            _ = try await self.rows(
                "INSERT INTO login_attempts (key, at) VALUES (\(key), \(at.timeIntervalSince1970))", on: connection)
            return nil
        }
    }

    /// An arbitrary constant naming the sign-in attempt locks ("Logn").
    static let loginLock: Int32 = 0x4C6F_676E

    public func clearLoginAttempts(key: String) async throws {
        try await self.rows("DELETE FROM login_attempts WHERE key = \(key)")
    }

    public func pruneLoginAttempts(before: Date) async throws {
        try await self.rows("DELETE FROM login_attempts WHERE at < \(before.timeIntervalSince1970)")
    }

    @discardableResult public func deleteSession(hash: String) async throws -> Bool {
        !(try await self.rows("DELETE FROM sessions WHERE secret_hash = \(hash) RETURNING user_id")).isEmpty
    }

    public func setUserPassword(id: String, hash: String, keepSession: String?) async throws -> Bool {
        try await transaction { connection in
            let found = try await self.rows(
                "UPDATE users SET password_hash = \(hash) WHERE id = \(id) RETURNING id", on: connection)
            _ = try await self.rows(
                "DELETE FROM sessions WHERE user_id = \(id) AND secret_hash IS DISTINCT FROM \(keepSession)",
                on: connection)
            return !found.isEmpty
        }
    }

    static func user(_ row: PostgresRandomAccessRow) throws -> UserRecord {
        UserRecord(
            id: try row["id"].decode(String.self), username: try row["username"].decode(String.self),
            role: Role(rawValue: try row["role"].decode(String.self)) ?? .member,
            passwordHash: try row["password_hash"].decode(String?.self),
            disabled: try row["disabled"].decode(Bool.self),
            createdAt: try date(row["created_at"]))
    }

    static func principal(_ row: PostgresRandomAccessRow, via: Principal.Credential) throws -> Principal {
        Principal(
            userID: try row["id"].decode(String.self), username: try row["username"].decode(String.self),
            role: Role(rawValue: try row["role"].decode(String.self)) ?? .member, via: via)
    }
}
