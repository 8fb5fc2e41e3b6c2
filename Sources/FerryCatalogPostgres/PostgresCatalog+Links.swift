import FerryCore
import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension PostgresCatalog {
    public func insertLink(_ link: LinkRecord) async throws {
        try await self.rows(
            """
            INSERT INTO links (id, file_id, file_version, issuer_id, created_at, expires_at, strategy, max_downloads,
                               bind_ip, disposition, filename, revoked_at, password_hash, subject)
            VALUES (\(link.id), \(link.fileID), \(link.fileVersion), \(link.issuerID),
                    \(link.createdAt.timeIntervalSince1970), \(link.expiresAt.timeIntervalSince1970), \(link.strategy),
                    \(link.maxDownloads)::INTEGER, \(link.bindIP)::TEXT, \(link.disposition.rawValue),
                    \(link.filename)::TEXT, \(link.revokedAt?.timeIntervalSince1970)::DOUBLE PRECISION,
                    \(link.passwordHash)::TEXT, \(link.subject.rawValue))
            """)
    }

    public func link(id: String) async throws -> LinkRecord? {
        try await self.rows(
            """
            SELECT l.id AS link_id, l.file_id AS link_file_id, l.file_version, l.issuer_id, iu.username AS issuer_name,
                   l.created_at AS link_created_at, l.expires_at, l.strategy, l.max_downloads, l.bind_ip,
                   l.disposition, l.filename AS link_filename, l.revoked_at, l.password_hash, l.subject
            FROM links l JOIN users iu ON iu.id = l.issuer_id WHERE l.id = \(id)
            """
        ).first.map(Self.link)
    }

    public func linkState(id: String, clientKey: String, now: Date) async throws -> LinkState? {
        guard
            let row = try await self.rows(
                LinkStateLookup(now: now.timeIntervalSince1970, clientKey: clientKey, linkID: id)
            ).first
        else { return nil }
        let file = try row["id"].decode(String?.self) == nil ? nil : try Self.file(row)
        return LinkState(
            link: try Self.link(row), file: file, issuerMayRead: try row["issuer_ok"].decode(Bool?.self) ?? false,
            downloadsUsed: try row["used"].decode(Int.self), clientHoldsDownload: try row["mine"].decode(Bool.self))
    }

    /// Atomic on every node: the link's row lock serialises takers, and the insert runs after the lock
    /// is held, so its count sees every download taken before (READ COMMITTED takes a new snapshot per
    /// statement). A client that already holds a download takes nothing.
    public func takeDownload(linkID: String, clientKey: String, max: Int, now: Date) async throws -> Bool {
        try await transaction { connection in
            guard !(try await self.rows("SELECT id FROM links WHERE id = \(linkID) FOR UPDATE", on: connection).isEmpty)
            else { return false }
            let taken = try await self.rows(
                """
                INSERT INTO link_clients (link_id, client_key, taken_at)
                SELECT \(linkID), \(clientKey), \(now.timeIntervalSince1970)
                WHERE (SELECT COUNT(*) FROM link_clients WHERE link_id = \(linkID)) < \(max)
                ON CONFLICT (link_id, client_key) DO NOTHING RETURNING link_id
                """, on: connection)
            if !taken.isEmpty { return true }
            return
                !(try await self.rows(
                    "SELECT 1 FROM link_clients WHERE link_id = \(linkID) AND client_key = \(clientKey)", on: connection
                ).isEmpty)
        }
    }

    public func links(fileID: String, now: Date) async throws -> [LinkSummary] {
        try await self.rows(
            """
            SELECT l.id AS link_id, l.file_id AS link_file_id, l.file_version, l.issuer_id, iu.username AS issuer_name,
                   l.created_at AS link_created_at, l.expires_at, l.strategy, l.max_downloads, l.bind_ip,
                   l.disposition, l.filename AS link_filename, l.revoked_at, l.password_hash, l.subject,
                   (SELECT COUNT(*) FROM link_clients c WHERE c.link_id = l.id) AS used
            FROM links l JOIN users iu ON iu.id = l.issuer_id
            WHERE l.file_id = \(fileID) AND l.expires_at > \(now.timeIntervalSince1970 - 86_400)
            ORDER BY l.created_at DESC, l.id
            """
        ).map { LinkSummary(link: try Self.link($0), downloadsUsed: try $0["used"].decode(Int.self)) }
    }

    public func revokeLink(id: String, now: Date) async throws -> LinkRecord? {
        try await self.rows(
            "UPDATE links SET revoked_at = \(now.timeIntervalSince1970) WHERE id = \(id) AND revoked_at IS NULL")
        return try await link(id: id)
    }

    public func setLinkPassword(id: String, passwordHash: String?) async throws -> LinkRecord? {
        try await self.rows("UPDATE links SET password_hash = \(passwordHash)::TEXT WHERE id = \(id)")
        return try await link(id: id)
    }

    public func pruneLinks(expiredBefore before: Date, limit: Int) async throws -> Int {
        try await self.rows(
            """
            DELETE FROM links WHERE id IN (
                SELECT id FROM links WHERE expires_at < \(before.timeIntervalSince1970) LIMIT \(limit))
            RETURNING id
            """
        ).count
    }

    static func link(_ row: PostgresRandomAccessRow) throws -> LinkRecord {
        LinkRecord(
            id: try row["link_id"].decode(String.self), fileID: try row["link_file_id"].decode(String.self),
            fileVersion: try row["file_version"].decode(Int.self), issuerID: try row["issuer_id"].decode(String.self),
            issuerName: try row["issuer_name"].decode(String.self), createdAt: try date(row["link_created_at"]),
            expiresAt: try date(row["expires_at"]), strategy: try row["strategy"].decode(String.self),
            maxDownloads: try row["max_downloads"].decode(Int?.self), bindIP: try row["bind_ip"].decode(String?.self),
            disposition: ContentDisposition.Kind(rawValue: try row["disposition"].decode(String.self)) ?? .attachment,
            filename: try row["link_filename"].decode(String?.self), revokedAt: try optionalDate(row["revoked_at"]),
            passwordHash: try row["password_hash"].decode(String?.self),
            subject: LinkRecord.Subject(rawValue: try row["subject"].decode(String.self)) ?? .file)
    }
}
