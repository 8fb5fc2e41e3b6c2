import FerryCore
import Foundation
import GRDB

extension SQLiteCatalog {
    public func files(
        ids: [String], grantFor userID: String, now: Date
    ) async throws
        -> [String: (FileRecord, granted: Bool)]
    {
        guard !ids.isEmpty else { return [:] }
        return try await read { db in
            let request = SQLRequest<Row>(
                """
                SELECT \(Self.fileColumns),
                       EXISTS (SELECT 1 FROM grants g WHERE g.file_id = f.id AND g.user_id = \(userID)
                               AND (g.expires_at IS NULL OR g.expires_at > \(now.timeIntervalSince1970))) AS granted
                FROM files f JOIN users u ON u.id = f.owner_id WHERE f.id IN \(Set(ids))
                """)
            var found: [String: (FileRecord, granted: Bool)] = [:]
            for row in try Row.fetchAll(db, request) {
                let file = Self.file(row)
                found[file.id] = (file, granted: row[Self.fileColumnCount] as Bool)
            }
            return found
        }
    }

    public func insertBundle(_ bundle: BundleRecord) async throws {
        try await write { db in
            try db.execute(
                literal: """
                    INSERT INTO bundles (id, name, creator_id, created_at, members, sha256)
                    VALUES (\(bundle.id), \(bundle.name), \(bundle.creatorID), \(bundle.createdAt.timeIntervalSince1970),
                            \(bundle.membersJSON), \(bundle.sha256))
                    """)
        }
    }

    public func bundle(id: String) async throws -> BundleRecord? {
        try await readOne { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    SQLRequest<Row>(
                        """
                        SELECT b.id, b.name, b.creator_id, u.username, b.created_at, b.members, b.sha256
                        FROM bundles b JOIN users u ON u.id = b.creator_id WHERE b.id = \(id)
                        """))
            else { return nil }
            return BundleRecord(
                id: row[0], name: row[1], creatorID: row[2], creatorName: row[3],
                createdAt: Date(timeIntervalSince1970: row[4]), members: try BundleRecord.members(fromJSON: row[5]),
                sha256: row[6])
        }
    }

    public func deleteBundle(id: String) async throws -> Bool {
        try await write { db in
            try db.execute(literal: "DELETE FROM bundles WHERE id = \(id)")
            return db.changesCount > 0
        }
    }
}
