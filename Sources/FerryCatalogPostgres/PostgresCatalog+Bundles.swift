import FerryCore
import Foundation
import PostgresNIO

extension PostgresCatalog {
    public func files(
        ids: [String], grantFor userID: String, now: Date
    ) async throws
        -> [String: (FileRecord, granted: Bool)]
    {
        guard !ids.isEmpty else { return [:] }
        let rows = try await self.rows(
            """
            SELECT f.*, u.username AS owner_name,
                   EXISTS (SELECT 1 FROM grants g WHERE g.file_id = f.id AND g.user_id = \(userID)
                           AND (g.expires_at IS NULL OR g.expires_at > \(now.timeIntervalSince1970))) AS granted
            FROM files f JOIN users u ON u.id = f.owner_id WHERE f.id = ANY(\(Array(Set(ids))))
            """)
        var found: [String: (FileRecord, granted: Bool)] = [:]
        for row in rows {
            let file = try Self.file(row)
            found[file.id] = (file, granted: try row["granted"].decode(Bool.self))
        }
        return found
    }

    public func insertBundle(_ bundle: BundleRecord) async throws {
        try await self.rows(
            """
            INSERT INTO bundles (id, name, creator_id, created_at, members, sha256)
            VALUES (\(bundle.id), \(bundle.name), \(bundle.creatorID), \(bundle.createdAt.timeIntervalSince1970),
                    \(bundle.membersJSON), \(bundle.sha256)::TEXT)
            """)
    }

    public func bundle(id: String) async throws -> BundleRecord? {
        guard
            let row = try await self.rows(
                """
                SELECT b.id, b.name, b.creator_id, u.username, b.created_at, b.members, b.sha256
                FROM bundles b JOIN users u ON u.id = b.creator_id WHERE b.id = \(id)
                """
            ).first
        else { return nil }
        return BundleRecord(
            id: try row["id"].decode(String.self), name: try row["name"].decode(String.self),
            creatorID: try row["creator_id"].decode(String.self), creatorName: try row["username"].decode(String.self),
            createdAt: try Self.date(row["created_at"]),
            members: try BundleRecord.members(fromJSON: try row["members"].decode(String.self)),
            sha256: try row["sha256"].decode(String?.self))
    }

    public func deleteBundle(id: String) async throws -> Bool {
        !(try await self.rows("DELETE FROM bundles WHERE id = \(id) RETURNING id").isEmpty)
    }
}
