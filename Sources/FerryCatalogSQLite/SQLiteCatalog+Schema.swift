import GRDB

extension SQLiteCatalog {
    /// Versioned migrations, each one SQL text; each runs once, in order, inside a transaction.
    /// Never edit one that has shipped: add the next.
    static let migrations: [(name: String, sql: String)] = [
        (
            "v1",
            """
            CREATE TABLE users (
                id TEXT PRIMARY KEY NOT NULL,
                username TEXT NOT NULL UNIQUE,
                role TEXT NOT NULL,
                password_hash TEXT,
                disabled INTEGER NOT NULL DEFAULT 0,
                created_at REAL NOT NULL
            );
            CREATE TABLE tokens (
                id TEXT PRIMARY KEY NOT NULL,
                user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                name TEXT,
                secret_hash TEXT NOT NULL UNIQUE,
                created_at REAL NOT NULL
            );
            CREATE INDEX tokens_user ON tokens(user_id);
            CREATE TABLE sessions (
                secret_hash TEXT PRIMARY KEY NOT NULL,
                user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                created_at REAL NOT NULL,
                expires_at REAL NOT NULL
            );
            CREATE TABLE files (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                size INTEGER NOT NULL,
                content_type TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                version INTEGER NOT NULL,
                owner_id TEXT NOT NULL REFERENCES users(id),
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                blob_key TEXT NOT NULL,
                block_sha256 TEXT NOT NULL
            );
            CREATE INDEX files_owner ON files(owner_id, seq);
            CREATE TABLE grants (
                file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
                user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                expires_at REAL,
                PRIMARY KEY (file_id, user_id)
            );
            CREATE INDEX grants_user ON grants(user_id);
            CREATE TABLE audit (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                at REAL NOT NULL,
                event TEXT NOT NULL,
                actor TEXT,
                file_id TEXT,
                client_ip TEXT,
                detail TEXT NOT NULL
            );
            CREATE INDEX audit_file ON audit(file_id, seq);
            CREATE INDEX audit_actor ON audit(actor, seq);
            CREATE INDEX audit_event ON audit(event, seq);
            """
        ),
        (
            "v2-links",
            """
            CREATE TABLE links (
                id TEXT PRIMARY KEY NOT NULL,
                file_id TEXT NOT NULL,
                file_version INTEGER NOT NULL,
                issuer_id TEXT NOT NULL REFERENCES users(id),
                created_at REAL NOT NULL,
                expires_at REAL NOT NULL,
                strategy TEXT NOT NULL,
                max_downloads INTEGER,
                bind_ip TEXT,
                disposition TEXT NOT NULL,
                filename TEXT,
                revoked_at REAL
            );
            CREATE INDEX links_file ON links(file_id, created_at);
            CREATE TABLE link_clients (
                link_id TEXT NOT NULL REFERENCES links(id) ON DELETE CASCADE,
                client_key TEXT NOT NULL,
                taken_at REAL NOT NULL,
                PRIMARY KEY (link_id, client_key)
            );
            """
        ),
        ("v3-blob-trash", "CREATE TABLE blob_trash (key TEXT PRIMARY KEY NOT NULL)"),
        ("v4-links-expiry", "CREATE INDEX links_expiry ON links(expires_at)"),
        (
            "v5-login-attempts",
            """
            CREATE TABLE login_attempts (key TEXT NOT NULL, at REAL NOT NULL);
            CREATE INDEX login_attempts_key ON login_attempts(key, at);
            """
        ),
        ("v6-uploads", SQLiteCatalog.uploadsTable),
        ("v7-link-passwords", "ALTER TABLE links ADD COLUMN password_hash TEXT"),
        ("v8-file-crc32", "ALTER TABLE files ADD COLUMN crc32 INTEGER"),
        (
            "v9-bundles",
            """
            CREATE TABLE bundles (
                id TEXT PRIMARY KEY NOT NULL,
                name TEXT NOT NULL,
                creator_id TEXT NOT NULL REFERENCES users(id),
                created_at REAL NOT NULL,
                members TEXT NOT NULL
            )
            """
        ),
        ("v10-link-subject", "ALTER TABLE links ADD COLUMN subject TEXT NOT NULL DEFAULT 'file'"),
        ("v11-bundle-sha256", "ALTER TABLE bundles ADD COLUMN sha256 TEXT"),
    ]

    /// The migrator that applies `migrations`.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.name) { db in try db.execute(sql: migration.sql) }
        }
        return migrator
    }

    /// Resumable (tus) uploads: their progress, the store's state and the write lease.
    static let uploadsTable = """
        CREATE TABLE uploads (
            id TEXT PRIMARY KEY NOT NULL,
            creator_id TEXT NOT NULL,
            creator_name TEXT NOT NULL,
            replaces TEXT,
            name TEXT NOT NULL,
            content_type TEXT NOT NULL,
            length INTEGER NOT NULL,
            "offset" INTEGER NOT NULL,
            expected_sha256 TEXT,
            blob_key TEXT NOT NULL,
            store_state TEXT NOT NULL,
            block_sha256 TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            completed_file_id TEXT,
            lease_holder TEXT,
            lease_until REAL
        );
        CREATE INDEX uploads_expiry ON uploads(expires_at);
        """
}
