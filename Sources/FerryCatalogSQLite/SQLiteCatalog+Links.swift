import FerryCore
import GRDB

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension SQLiteCatalog {
    public func insertLink(_ link: LinkRecord) async throws {
        // A new link (a fresh id) changes no kept lookup: only found link states are kept.
        try await write(keepsLookups: true) { db in
            try db.execute(
                cached: """
                    INSERT INTO links (id, file_id, file_version, issuer_id, created_at, expires_at, strategy,
                                       max_downloads, bind_ip, disposition, filename, revoked_at, password_hash,
                                       subject)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                [
                    link.id, link.fileID, link.fileVersion, link.issuerID, link.createdAt.timeIntervalSince1970,
                    link.expiresAt.timeIntervalSince1970, link.strategy, link.maxDownloads, link.bindIP,
                    link.disposition.rawValue, link.filename, link.revokedAt?.timeIntervalSince1970, link.passwordHash,
                    link.subject.rawValue,
                ])
        }
    }

    /// The link columns, in the order `link(_:)` reads them.
    static let linkColumnList = """
        l.id AS link_id, l.file_id AS link_file_id, l.file_version, l.issuer_id, iu.username AS issuer_name,
        l.created_at AS link_created_at, l.expires_at, l.strategy, l.max_downloads, l.bind_ip, l.disposition,
        l.filename AS link_filename, l.revoked_at, l.password_hash, l.subject
        """
    static let linkColumnCount = linkColumnList.split(separator: ",").count
    static let linkColumns = SQL(sql: linkColumnList)

    /// The link, its file (absent when deleted) and what the check order needs, in one read.
    static let linkStateSQL = """
        SELECT \(linkColumnList), \(fileColumnList),
            (iu.disabled = 0 AND f.id IS NOT NULL AND (iu.role = 'admin' OR f.owner_id = l.issuer_id
             OR EXISTS (SELECT 1 FROM grants g WHERE g.file_id = f.id AND g.user_id = l.issuer_id
                        AND (g.expires_at IS NULL OR g.expires_at > ?1)))) AS issuer_ok,
            CASE WHEN l.max_downloads IS NULL THEN 0
                 ELSE (SELECT COUNT(*) FROM link_clients c WHERE c.link_id = l.id) END AS used,
            CASE WHEN l.max_downloads IS NULL THEN 0
                 ELSE EXISTS (SELECT 1 FROM link_clients c WHERE c.link_id = l.id
                              AND c.client_key = ?2) END AS mine,
            CASE WHEN iu.role = 'admin' OR f.owner_id = l.issuer_id
                      OR EXISTS (SELECT 1 FROM grants g WHERE g.file_id = f.id AND g.user_id = l.issuer_id
                                 AND g.expires_at IS NULL) THEN NULL
                 ELSE (SELECT MAX(g.expires_at) FROM grants g WHERE g.file_id = f.id AND g.user_id = l.issuer_id
                       AND g.expires_at > ?1) END AS access_lapses
        FROM links l JOIN users iu ON iu.id = l.issuer_id
        LEFT JOIN files f ON f.id = l.file_id LEFT JOIN users u ON u.id = f.owner_id
        WHERE l.id = ?3
        """

    public func link(id: String) async throws -> LinkRecord? {
        try await readOne { db in
            let request = SQLRequest<Row>(
                literal:
                    "SELECT \(Self.linkColumns) FROM links l JOIN users iu ON iu.id = l.issuer_id WHERE l.id = \(id)",
                cached: true)
            return try Row.fetchOne(db, request).map(Self.link)
        }
    }

    /// Kept between requests (exact under every write, see `LookupCache`).
    public func linkState(id: String, clientKey: String, now: Date) async throws -> LinkState? {
        let key = "link\n" + id + "\n" + clientKey
        let (kept, generation) = lookups.lookup(key, as: LinkState.self, now: now)
        if let kept { return kept }
        let read = try await readOne { db in
            try db.firstRow(Self.linkStateSQL, [now.timeIntervalSince1970, clientKey, id]) { row in
                let fileAt = Self.linkColumnCount
                let extra = fileAt + Self.fileColumnCount
                let file: FileRecord? = (row[fileAt + 1] as String?) == nil ? nil : Self.file(row, at: fileAt)
                let lapses: Double? = row[extra + 3]
                return (
                    LinkState(
                        link: Self.link(row), file: file, issuerMayRead: row[extra] ?? false,
                        downloadsUsed: row[extra + 1], clientHoldsDownload: row[extra + 2]),
                    lapses.map { Date(timeIntervalSince1970: $0) }
                )
            }
        }
        guard let (state, lapses) = read else { return nil }
        lookups.keep(key, state, now: now, lapse: lapses, generation: generation)
        return state
    }

    public func takeDownload(linkID: String, clientKey: String, max: Int, now: Date) async throws -> Bool {
        // SQLite serialises writers, so the count and the insert cannot interleave with another take.
        try await write { db in
            try db.execute(
                cached: """
                    INSERT INTO link_clients (link_id, client_key, taken_at)
                    SELECT ?, ?, ? WHERE (SELECT COUNT(*) FROM link_clients WHERE link_id = ?) < ?
                    ON CONFLICT (link_id, client_key) DO NOTHING
                    """, [linkID, clientKey, now.timeIntervalSince1970, linkID, max])
            if db.changesCount > 0 { return true }
            return try Bool.fetchOne(
                db,
                SQLRequest<Bool>(
                    literal:
                        "SELECT EXISTS (SELECT 1 FROM link_clients WHERE link_id = \(linkID) AND client_key = \(clientKey))",
                    cached: true
                )) ?? false
        }
    }

    public func links(fileID: String, now: Date) async throws -> [LinkSummary] {
        try await read { db in
            let cutoff = now.timeIntervalSince1970 - 86_400
            let request = SQLRequest<Row>(
                """
                SELECT \(Self.linkColumns), (SELECT COUNT(*) FROM link_clients c WHERE c.link_id = l.id) AS used
                FROM links l JOIN users iu ON iu.id = l.issuer_id
                WHERE l.file_id = \(fileID) AND l.expires_at > \(cutoff) ORDER BY l.created_at DESC, l.id
                """)
            return try Row.fetchAll(db, request).map {
                LinkSummary(link: Self.link($0), downloadsUsed: $0[Self.linkColumnCount])
            }
        }
    }

    public func revokeLink(id: String, now: Date) async throws -> LinkRecord? {
        try await write { db in
            try db.execute(
                literal:
                    "UPDATE links SET revoked_at = \(now.timeIntervalSince1970) WHERE id = \(id) AND revoked_at IS NULL"
            )
            let request = SQLRequest<Row>(
                "SELECT \(Self.linkColumns) FROM links l JOIN users iu ON iu.id = l.issuer_id WHERE l.id = \(id)")
            return try Row.fetchOne(db, request).map(Self.link)
        }
    }

    public func setLinkPassword(id: String, passwordHash: String?) async throws -> LinkRecord? {
        try await write { db in
            try db.execute(literal: "UPDATE links SET password_hash = \(passwordHash) WHERE id = \(id)")
            let request = SQLRequest<Row>(
                "SELECT \(Self.linkColumns) FROM links l JOIN users iu ON iu.id = l.issuer_id WHERE l.id = \(id)")
            return try Row.fetchOne(db, request).map(Self.link)
        }
    }

    public func pruneLinks(expiredBefore before: Date, limit: Int) async throws -> Int {
        try await write { db in
            try db.execute(
                literal: """
                    DELETE FROM links WHERE id IN (
                        SELECT id FROM links WHERE expires_at < \(before.timeIntervalSince1970) LIMIT \(limit))
                    """)
            return db.changesCount
        }
    }

    /// A link from `linkColumnList` at the start of the row, read by position (see `firstRow`).
    static func link(_ row: Row) -> LinkRecord {
        LinkRecord(
            id: row[0], fileID: row[1], fileVersion: row[2], issuerID: row[3], issuerName: row[4],
            createdAt: Date(timeIntervalSince1970: row[5]), expiresAt: Date(timeIntervalSince1970: row[6]),
            strategy: row[7], maxDownloads: row[8], bindIP: row[9],
            disposition: ContentDisposition.Kind(rawValue: row[10]) ?? .attachment, filename: row[11],
            revokedAt: (row[12] as Double?).map(Date.init(timeIntervalSince1970:)), passwordHash: row[13],
            subject: LinkRecord.Subject(rawValue: row[14]) ?? .file)
    }
}
