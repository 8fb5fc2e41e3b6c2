import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A statement of the per-request path, prepared once per connection.
///
/// PostgreSQL parses and plans an unnamed statement on every call; for the `/t/` lookup that was
/// about seven times the cost of running it (pgbench here: 2 900 executions/s unnamed, 20 000/s
/// prepared), and PostgreSQL's CPU, shared with Ferry on the same machine, capped `/t/`. Prepared
/// statements list their columns (never `*`): a plan cached on a running node must not change its
/// result type when a newer node adds a column.
protocol CatalogStatement: PostgresPreparedStatement where Row == PostgresRandomAccessRow {}

extension CatalogStatement {
    func decodeRow(_ row: PostgresRow) throws -> PostgresRandomAccessRow { row.makeRandomAccess() }

    /// Bindings of `values` to `$1`, `$2`, … in order.
    static func bind(_ values: any PostgresThrowingDynamicTypeEncodable...) throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values { try bindings.append(value) }
        return bindings
    }
}

extension PostgresCatalog {
    /// The columns `file(_:)` reads, of `files f` joined with its owner `u`.
    static let fileColumns = """
        f.id, f.name, f.size, f.content_type, f.sha256, f.version, f.owner_id, f.created_at, f.updated_at,
        f.blob_key, f.block_sha256, f.crc32, u.username AS owner_name
        """

    /// Runs a prepared statement and reads every row.
    func rows<Statement: CatalogStatement>(
        _ statement: Statement, function: String = #function
    ) async throws -> [PostgresRandomAccessRow] {
        try await bounded(function: function) {
            var out: [PostgresRandomAccessRow] = []
            for try await row in try await self.client.execute(statement, logger: self.logger) { out.append(row) }
            return out
        }
    }

    /// The bearer token's user (`principal(tokenHash:)`), on every authenticated request.
    struct PrincipalByToken: CatalogStatement {
        static let sql = """
            SELECT u.id, u.username, u.role FROM tokens t JOIN users u ON u.id = t.user_id
            WHERE t.secret_hash = $1 AND NOT u.disabled
            """
        var tokenHash: String

        func makeBindings() throws -> PostgresBindings { try Self.bind(tokenHash) }
    }

    /// A file with whether the user holds a live grant (`file(id:grantFor:now:)`), on every access
    /// to a file's bytes through the API or the broker.
    struct FileWithGrant: CatalogStatement {
        static let sql = """
            SELECT \(PostgresCatalog.fileColumns),
                   EXISTS (SELECT 1 FROM grants g WHERE g.file_id = f.id AND g.user_id = $1
                           AND (g.expires_at IS NULL OR g.expires_at > $2)) AS granted
            FROM files f JOIN users u ON u.id = f.owner_id WHERE f.id = $3
            """
        var userID: String
        var now: Double
        var fileID: String

        func makeBindings() throws -> PostgresBindings { try Self.bind(userID, now, fileID) }
    }

    /// Everything `/t/` decides on, in one read (`linkState(id:clientKey:now:)`).
    struct LinkStateLookup: CatalogStatement {
        static let sql = """
            SELECT l.id AS link_id, l.file_id AS link_file_id, l.file_version, l.issuer_id,
                   iu.username AS issuer_name, l.created_at AS link_created_at, l.expires_at, l.strategy,
                   l.max_downloads, l.bind_ip, l.disposition, l.filename AS link_filename, l.revoked_at,
                   l.password_hash, l.subject, \(PostgresCatalog.fileColumns),
                   (NOT iu.disabled AND f.id IS NOT NULL AND (iu.role = 'admin' OR f.owner_id = l.issuer_id
                    OR EXISTS (SELECT 1 FROM grants g WHERE g.file_id = f.id AND g.user_id = l.issuer_id
                               AND (g.expires_at IS NULL OR g.expires_at > $1))))
                     AS issuer_ok,
                   CASE WHEN l.max_downloads IS NULL THEN 0
                        ELSE (SELECT COUNT(*) FROM link_clients c WHERE c.link_id = l.id) END AS used,
                   CASE WHEN l.max_downloads IS NULL THEN FALSE
                        ELSE EXISTS (SELECT 1 FROM link_clients c WHERE c.link_id = l.id
                                     AND c.client_key = $2) END AS mine
            FROM links l JOIN users iu ON iu.id = l.issuer_id
            LEFT JOIN files f ON f.id = l.file_id LEFT JOIN users u ON u.id = f.owner_id
            WHERE l.id = $3
            """
        var now: Double
        var clientKey: String
        var linkID: String

        func makeBindings() throws -> PostgresBindings { try Self.bind(now, clientKey, linkID) }
    }

    /// A batch of audit rows in one statement (`appendAudit(_:)`), arrays unnested in order.
    struct AuditInsert: CatalogStatement {
        static let sql = """
            INSERT INTO audit (at, event, actor, file_id, client_ip, detail, write_key)
            SELECT at, event, NULLIF(actor, ''), NULLIF(file_id, ''), NULLIF(client_ip, ''), detail, write_key
            FROM unnest(
                $1::DOUBLE PRECISION[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::UUID[])
                 WITH ORDINALITY AS e(at, event, actor, file_id, client_ip, detail, write_key, n)
            ORDER BY n
            ON CONFLICT (write_key) DO NOTHING
            """
        var at: [Double]
        var event: [String]
        var actor: [String]
        var fileID: [String]
        var clientIP: [String]
        var detail: [String]
        var writeKey: [UUID]

        func makeBindings() throws -> PostgresBindings {
            try Self.bind(at, event, actor, fileID, clientIP, detail, writeKey)
        }
    }
}
