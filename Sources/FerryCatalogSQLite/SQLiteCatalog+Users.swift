import FerryCore
import GRDB

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension SQLiteCatalog {
    public func userCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") ?? 0 }
    }

    public func createUser(_ user: UserRecord) async throws {
        try await write { db in
            try db.execute(
                literal: """
                    INSERT INTO users (id, username, role, password_hash, disabled, created_at)
                    VALUES (\(user.id), \(user.username), \(user.role.rawValue), \(user.passwordHash),
                            \(user.disabled), \(user.createdAt.timeIntervalSince1970))
                    """)
        }
    }

    public func user(named username: String) async throws -> UserRecord? {
        try await read { db in
            try Row.fetchOne(db, SQLRequest<Row>("SELECT * FROM users WHERE username = \(username)")).map(Self.user)
        }
    }

    public func users() async throws -> [UserRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY created_at, id").map(Self.user)
        }
    }

    public func setUserDisabled(id: String, disabled: Bool) async throws -> Bool {
        try await write { db in
            try db.execute(literal: "UPDATE users SET disabled = \(disabled) WHERE id = \(id)")
            let found = db.changesCount > 0
            if disabled { try db.execute(literal: "DELETE FROM sessions WHERE user_id = \(id)") }
            return found
        }
    }

    public func createToken(_ token: TokenRecord) async throws {
        try await write { db in
            try db.execute(
                literal: """
                    INSERT INTO tokens (id, user_id, name, secret_hash, created_at)
                    VALUES (\(token.id), \(token.userID), \(token.name), \(token.secretHash),
                            \(token.createdAt.timeIntervalSince1970))
                    """)
        }
    }

    /// Kept between requests (exact under every write, see `LookupCache`).
    public func principal(tokenHash: String) async throws -> Principal? {
        let key = "token\n" + tokenHash
        let now = Date()
        let (kept, generation) = lookups.lookup(key, as: Principal.self, now: now)
        if let kept { return kept }
        let principal = try await readOne { db in
            try db.firstRow(
                """
                SELECT u.id, u.username, u.role FROM tokens t JOIN users u ON u.id = t.user_id
                WHERE t.secret_hash = ? AND u.disabled = 0
                """, [tokenHash]
            ) { Self.principal($0, via: .token) }
        }
        if let principal { lookups.keep(key, principal, now: now, generation: generation) }
        return principal
    }

    public func tokens(userID: String) async throws -> [TokenRecord] {
        try await read { db in
            try Row.fetchAll(
                db, SQLRequest<Row>("SELECT * FROM tokens WHERE user_id = \(userID) ORDER BY created_at DESC, id")
            ).map { row in
                TokenRecord(
                    id: row["id"], userID: row["user_id"], name: row["name"], secretHash: row["secret_hash"],
                    createdAt: Date(timeIntervalSince1970: row["created_at"]))
            }
        }
    }

    public func deleteToken(id: String, userID: String?) async throws -> Bool {
        try await write { db in
            if let userID {
                try db.execute(literal: "DELETE FROM tokens WHERE id = \(id) AND user_id = \(userID)")
            } else {
                try db.execute(literal: "DELETE FROM tokens WHERE id = \(id)")
            }
            return db.changesCount > 0
        }
    }

    public func createSession(_ session: SessionRecord) async throws {
        try await write { db in
            try db.execute(
                literal: """
                    INSERT INTO sessions (secret_hash, user_id, created_at, expires_at)
                    VALUES (\(session.secretHash), \(session.userID), \(session.createdAt.timeIntervalSince1970),
                            \(session.expiresAt.timeIntervalSince1970))
                    """)
            // Sweep expired sessions as new ones arrive, so the table never grows without bound.
            try db.execute(
                literal: "DELETE FROM sessions WHERE expires_at < \(session.createdAt.timeIntervalSince1970)")
        }
    }

    public func principal(sessionHash: String, now: Date) async throws -> Principal? {
        try await readOne { db in
            try db.firstRow(
                """
                SELECT u.id, u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id
                WHERE s.secret_hash = ? AND s.expires_at > ? AND u.disabled = 0
                """, [sessionHash, now.timeIntervalSince1970]
            ) { Self.principal($0, via: .session) }
        }
    }

    public func takeLoginAttempt(key: String, at: Date, windowStart: Date, limit: Int) async throws -> Date? {
        // One writer: the count and the insert cannot interleave with another attempt's.
        try await write { db in
            let recent = try Double.fetchAll(
                db, sql: "SELECT at FROM login_attempts WHERE key = ? AND at > ? ORDER BY at LIMIT ?",
                arguments: [key, windowStart.timeIntervalSince1970, limit])
            if recent.count >= limit { return Date(timeIntervalSince1970: recent[0]) }
            try db.execute(
                sql: "INSERT INTO login_attempts (key, at) VALUES (?, ?)", arguments: [key, at.timeIntervalSince1970])
            return nil
        }
    }

    public func clearLoginAttempts(key: String) async throws {
        try await write { db in try db.execute(sql: "DELETE FROM login_attempts WHERE key = ?", arguments: [key]) }
    }

    public func pruneLoginAttempts(before: Date) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM login_attempts WHERE at < ?", arguments: [before.timeIntervalSince1970])
        }
    }

    @discardableResult public func deleteSession(hash: String) async throws -> Bool {
        try await write { db in
            try db.execute(literal: "DELETE FROM sessions WHERE secret_hash = \(hash)")
            return db.changesCount > 0
        }
    }

    public func setUserPassword(id: String, hash: String, keepSession: String?) async throws -> Bool {
        try await write { db in
            try db.execute(literal: "UPDATE users SET password_hash = \(hash) WHERE id = \(id)")
            let found = db.changesCount > 0
            try db.execute(
                literal: "DELETE FROM sessions WHERE user_id = \(id) AND secret_hash IS NOT \(keepSession)")
            return found
        }
    }

    static func user(_ row: Row) -> UserRecord {
        UserRecord(
            id: row["id"], username: row["username"], role: Role(rawValue: row["role"]) ?? .member,
            passwordHash: row["password_hash"], disabled: row["disabled"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }

    /// A principal from `u.id, u.username, u.role`, read by position (see `firstRow`).
    static func principal(_ row: Row, via: Principal.Credential) -> Principal {
        Principal(userID: row[0], username: row[1], role: Role(rawValue: row[2]) ?? .member, via: via)
    }
}
