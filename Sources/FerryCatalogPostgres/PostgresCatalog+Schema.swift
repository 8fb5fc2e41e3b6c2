import FerryCore
import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension PostgresCatalog {
    /// Versioned migrations, applied in order, each once.
    static let migrations: [(version: Int, statements: [PostgresQuery])] = [
        (
            1,
            [
                """
                CREATE TABLE users (
                    id TEXT PRIMARY KEY,
                    username TEXT NOT NULL UNIQUE,
                    role TEXT NOT NULL,
                    password_hash TEXT,
                    disabled BOOLEAN NOT NULL DEFAULT FALSE,
                    created_at DOUBLE PRECISION NOT NULL
                )
                """,
                """
                CREATE TABLE tokens (
                    id TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    name TEXT,
                    secret_hash TEXT NOT NULL UNIQUE,
                    created_at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX tokens_user ON tokens(user_id)",
                """
                CREATE TABLE sessions (
                    secret_hash TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    created_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX sessions_expiry ON sessions(expires_at)",
                """
                CREATE TABLE files (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    size BIGINT NOT NULL,
                    content_type TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    owner_id TEXT NOT NULL REFERENCES users(id),
                    created_at DOUBLE PRECISION NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL,
                    blob_key TEXT NOT NULL,
                    block_sha256 TEXT NOT NULL
                )
                """,
                "CREATE INDEX files_owner ON files(owner_id, seq)",
                """
                CREATE TABLE grants (
                    file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    expires_at DOUBLE PRECISION,
                    PRIMARY KEY (file_id, user_id)
                )
                """,
                "CREATE INDEX grants_user ON grants(user_id)",
                """
                CREATE TABLE audit (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    at DOUBLE PRECISION NOT NULL,
                    event TEXT NOT NULL,
                    actor TEXT,
                    file_id TEXT,
                    client_ip TEXT,
                    detail TEXT NOT NULL
                )
                """,
                "CREATE INDEX audit_file ON audit(file_id, seq)",
                "CREATE INDEX audit_actor ON audit(actor, seq)",
                "CREATE INDEX audit_event ON audit(event, seq)",
                """
                CREATE TABLE links (
                    id TEXT PRIMARY KEY,
                    file_id TEXT NOT NULL,
                    file_version INTEGER NOT NULL,
                    issuer_id TEXT NOT NULL REFERENCES users(id),
                    created_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL,
                    strategy TEXT NOT NULL,
                    max_downloads INTEGER,
                    bind_ip TEXT,
                    disposition TEXT NOT NULL,
                    filename TEXT,
                    revoked_at DOUBLE PRECISION
                )
                """,
                "CREATE INDEX links_file ON links(file_id, created_at)",
                """
                CREATE TABLE link_clients (
                    link_id TEXT NOT NULL REFERENCES links(id) ON DELETE CASCADE,
                    client_key TEXT NOT NULL,
                    taken_at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (link_id, client_key)
                )
                """,
            ]
        ),
        (2, ["CREATE TABLE blob_trash (key TEXT PRIMARY KEY)"]),
        (3, ["CREATE INDEX links_expiry ON links(expires_at)"]),
        (
            4,
            [
                "CREATE TABLE login_attempts (key TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)",
                "CREATE INDEX login_attempts_key ON login_attempts(key, at)",
            ]
        ),
        (
            5,
            [
                """
                CREATE TABLE uploads (
                    id TEXT PRIMARY KEY,
                    creator_id TEXT NOT NULL,
                    creator_name TEXT NOT NULL,
                    replaces TEXT,
                    name TEXT NOT NULL,
                    content_type TEXT NOT NULL,
                    length BIGINT NOT NULL,
                    "offset" BIGINT NOT NULL,
                    expected_sha256 TEXT,
                    blob_key TEXT NOT NULL,
                    store_state TEXT NOT NULL,
                    block_sha256 TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL,
                    completed_file_id TEXT,
                    lease_holder TEXT,
                    lease_until DOUBLE PRECISION
                )
                """,
                "CREATE INDEX uploads_expiry ON uploads(expires_at)",
            ]
        ),
        (6, ["ALTER TABLE links ADD COLUMN password_hash TEXT"]),
        (7, ["ALTER TABLE files ADD COLUMN crc32 BIGINT"]),
        (
            8,
            [
                """
                CREATE TABLE bundles (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    creator_id TEXT NOT NULL REFERENCES users(id),
                    created_at DOUBLE PRECISION NOT NULL,
                    members TEXT NOT NULL
                )
                """
            ]
        ),
        (9, ["ALTER TABLE links ADD COLUMN subject TEXT NOT NULL DEFAULT 'file'"]),
        (10, ["ALTER TABLE bundles ADD COLUMN sha256 TEXT"]),
        // Audit writes are retried when a call timed out, which PostgreSQL may have committed
        // anyway: each event's key makes the retry store it once (rows of older nodes have none).
        (
            11,
            [
                "ALTER TABLE audit ADD COLUMN write_key UUID",
                "CREATE UNIQUE INDEX audit_write_key ON audit(write_key)",
            ]
        ),
    ]

    /// An arbitrary constant naming Ferry's migration locks ("Ferr"); the second key is the schema's.
    static let migrationLock: Int32 = 0x4665_7272

    /// How long the migrations at start may take before the node gives up.
    static let migrationTimeout: Duration = .seconds(60)

    /// Applies the migrations not applied yet, in one transaction that holds an advisory lock, so
    /// nodes starting together apply each exactly once. Returns the versions it applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        // Starting is not a request: the first connection and the DDL may take longer than the
        // per-call timeout (a database that is itself starting, or busy), so they get a minute.
        try await transaction(timeout: max(queryTimeout, Self.migrationTimeout)) { connection in
            // One lock per schema: nodes of one deployment serialise, unrelated schemas do not wait.
            _ = try await self.rows(
                "SELECT pg_advisory_xact_lock(\(Self.migrationLock), hashtext(\(self.schema ?? "public")))",
                on: connection)
            if let schema = self.schema {
                // An identifier cannot be a bind parameter; the name was validated at configuration.
                _ = try await self.rows(
                    PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(schema)\""), on: connection)
            }
            _ = try await self.rows(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, on: connection)
            let applied = Set(
                try await self.rows("SELECT version FROM schema_migrations", on: connection).map {
                    try $0["version"].decode(Int.self)
                })
            var done: [Int] = []
            for migration in Self.migrations where !applied.contains(migration.version) {
                // One round trip per migration, its statements (none with parameters) in one
                // PL/pgSQL block (PostgresNIO sends one statement per query). Statement by
                // statement, a node starting on a busy machine waited its turn for each of ~40
                // round trips and could outlast the migration timeout.
                let body = migration.statements.map { $0.sql + ";" }.joined(separator: "\n")
                _ = try await self.rows(
                    PostgresQuery(
                        unsafeSQL: """
                            DO $ferry_migration$ BEGIN
                            \(body)
                            INSERT INTO schema_migrations (version) VALUES (\(migration.version));
                            END $ferry_migration$
                            """), on: connection)
                done.append(migration.version)
            }
            return done
        }
    }

    /// Drops the configured schema with everything in it (tests run each in a schema of its own).
    public func dropSchema() async throws {
        guard let schema else { return }
        try await self.rows(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE"))
    }
}

extension PostgresCatalog {
    /// What the database's schema is against this binary's migrations (`ferry doctor`).
    public enum SchemaState: Sendable, Equatable {
        /// Every migration this binary knows is applied, and no other.
        case current(version: Int)
        /// No schema yet, or an older one: the next `ferry serve` migrates it.
        case older(applied: Int?, known: Int)
        /// Migrations this binary does not know were applied by a newer Ferry.
        case newer(applied: Int, known: Int)
    }

    /// Reads the applied migrations without changing anything.
    public func schemaState() async throws -> SchemaState {
        let known = Self.migrations.map(\.version).max() ?? 0
        let exists = try await rows("SELECT to_regclass('schema_migrations') IS NOT NULL AS present").first
        guard try exists?["present"].decode(Bool.self) == true else { return .older(applied: nil, known: known) }
        let applied = try await rows("SELECT max(version) AS version FROM schema_migrations").first
        guard let version = try applied?["version"].decode(Int?.self) else { return .older(applied: nil, known: known) }
        if version > known { return .newer(applied: version, known: known) }
        if version < known { return .older(applied: version, known: known) }
        return .current(version: version)
    }

    /// The database server's clock (link expiry is judged on every node's clock, the database's
    /// orders what nodes write).
    public func databaseTime() async throws -> Date {
        let row = try await rows("SELECT extract(epoch FROM clock_timestamp())::DOUBLE PRECISION AS now").first
        return Date(timeIntervalSince1970: try row?["now"].decode(Double.self) ?? 0)
    }

    /// A LISTEN/NOTIFY round trip on one connection: a notification sent is received. A pooler in
    /// transaction mode (PgBouncer's default) between the node and PostgreSQL breaks it.
    public func notificationRoundTrip() async throws -> Bool {
        let channel = "ferry_doctor_" + Identifier.random(bytes: 8).lowercased().filter { $0.isLetter || $0.isNumber }
        let payload = Identifier.make()
        return try await client.withConnection { connection in
            try await connection.listen(on: channel) { notifications in
                try await connection.query("SELECT pg_notify(\(channel), \(payload))", logger: self.logger)
                for try await notification in notifications where notification.payload == payload { return true }
                return false
            }
        }
    }
}
