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

    public func deleteSession(hash: String) async throws {
        try await self.rows("DELETE FROM sessions WHERE secret_hash = \(hash)")
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
