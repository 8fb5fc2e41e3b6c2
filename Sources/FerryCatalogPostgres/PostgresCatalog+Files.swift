import FerryCore
import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension PostgresCatalog {
    public func insertFile(_ file: FileRecord) async throws {
        try await self.rows(
            """
            INSERT INTO files (id, name, size, content_type, sha256, version, owner_id, created_at, updated_at,
                               blob_key, block_sha256, crc32)
            VALUES (\(file.id), \(file.name), \(file.size), \(file.contentType), \(file.sha256), \(file.version),
                    \(file.ownerID), \(file.createdAt.timeIntervalSince1970), \(file.updatedAt.timeIntervalSince1970),
                    \(file.blobKey), \(file.blockSHA256.joined(separator: ",")),
                    \(file.crc32.map { Int64($0) })::BIGINT)
            """)
    }

    public func file(id: String) async throws -> FileRecord? {
        try await self.rows(
            """
            SELECT f.*, u.username AS owner_name FROM files f JOIN users u ON u.id = f.owner_id WHERE f.id = \(id)
            """
        ).first.map(Self.file)
    }

    public func file(id: String, grantFor userID: String, now: Date) async throws -> (FileRecord, granted: Bool)? {
        guard
            let row = try await self.rows(
                FileWithGrant(userID: userID, now: now.timeIntervalSince1970, fileID: id)
            ).first
        else { return nil }
        return (try Self.file(row), granted: try row["granted"].decode(Bool.self))
    }

    public func files(
        visibleTo principal: Principal, now: Date, limit: Int, before: Int64?
    ) async throws -> Page<FileRecord> {
        let found =
            if principal.isAdmin {
                try await self.rows(
                    """
                    SELECT f.*, u.username AS owner_name FROM files f JOIN users u ON u.id = f.owner_id
                    WHERE (\(before)::BIGINT IS NULL OR f.seq < \(before)::BIGINT)
                    ORDER BY f.seq DESC LIMIT \(limit + 1)
                    """)
            } else {
                try await self.rows(
                    """
                    SELECT f.*, u.username AS owner_name FROM files f JOIN users u ON u.id = f.owner_id
                    WHERE (\(before)::BIGINT IS NULL OR f.seq < \(before)::BIGINT)
                      AND (f.owner_id = \(principal.userID) OR EXISTS (
                           SELECT 1 FROM grants g WHERE g.file_id = f.id AND g.user_id = \(principal.userID)
                           AND (g.expires_at IS NULL OR g.expires_at > \(now.timeIntervalSince1970))))
                    ORDER BY f.seq DESC LIMIT \(limit + 1)
                    """)
            }
        let page = found.prefix(limit)
        let next: Int64? = found.count > limit ? try page.last?["seq"].decode(Int64.self) : nil
        return Page(items: try page.map(Self.file), next: next)
    }

    public func replaceContent(
        fileID: String, expectedVersion: Int, with content: FileContent, now: Date
    ) async throws -> FileRecord? {
        try await transaction { connection in
            // The row lock holds other replacements until this one commits; they then see the new version.
            guard
                let old = try await self.rows(
                    """
                    SELECT blob_key FROM files WHERE id = \(fileID) AND version = \(expectedVersion) FOR UPDATE
                    """, on: connection
                ).first
            else { return nil }
            let updated = try await self.rows(
                """
                WITH updated AS (
                    UPDATE files SET size = \(content.size), content_type = \(content.contentType),
                        sha256 = \(content.sha256), version = version + 1, updated_at = \(now.timeIntervalSince1970),
                        blob_key = \(content.blobKey), block_sha256 = \(content.blockSHA256.joined(separator: ",")),
                        crc32 = \(content.crc32.map { Int64($0) })::BIGINT
                    WHERE id = \(fileID) AND version = \(expectedVersion) RETURNING *)
                SELECT updated.*, u.username AS owner_name FROM updated JOIN users u ON u.id = updated.owner_id
                """, on: connection
            ).first.map(Self.file)
            guard let updated else { return nil }
            try await self.rows(
                "INSERT INTO blob_trash (key) VALUES (\(try old["blob_key"].decode(String.self))) ON CONFLICT DO NOTHING",
                on: connection)
            return updated
        }
    }

    public func deleteFile(id: String) async throws -> FileRecord? {
        try await self.rows(
            """
            WITH deleted AS (DELETE FROM files WHERE id = \(id) RETURNING *),
                 trashed AS (INSERT INTO blob_trash (key) SELECT blob_key FROM deleted ON CONFLICT DO NOTHING)
            SELECT deleted.*, u.username AS owner_name FROM deleted JOIN users u ON u.id = deleted.owner_id
            """
        ).first.map(Self.file)
    }

    public func blobsToDelete(limit: Int) async throws -> [String] {
        try await self.rows("SELECT key FROM blob_trash LIMIT \(limit)").map { try $0["key"].decode(String.self) }
    }

    public func blobDeleted(key: String) async throws {
        try await self.rows("DELETE FROM blob_trash WHERE key = \(key)")
    }

    public func referencedBlobs(among keys: [String]) async throws -> Set<String> {
        let fileIDs = Array(Set(keys.compactMap { $0.split(separator: "/").first.map(String.init) }))
        guard !fileIDs.isEmpty else { return [] }
        let current = try await self.rows("SELECT blob_key FROM files WHERE id = ANY(\(fileIDs))")
            .map { try $0["blob_key"].decode(String.self) }
        return Set(current).intersection(keys)
    }

    public func upsertGrant(_ grant: GrantRecord) async throws {
        try await self.rows(
            """
            INSERT INTO grants (file_id, user_id, expires_at)
            VALUES (\(grant.fileID), \(grant.userID), \(grant.expiresAt?.timeIntervalSince1970)::DOUBLE PRECISION)
            ON CONFLICT (file_id, user_id) DO UPDATE SET expires_at = excluded.expires_at
            """)
    }

    public func deleteGrant(fileID: String, userID: String) async throws -> Bool {
        !(try await self.rows(
            "DELETE FROM grants WHERE file_id = \(fileID) AND user_id = \(userID) RETURNING file_id"
        ).isEmpty)
    }

    public func grants(fileID: String) async throws -> [GrantRecord] {
        try await self.rows(
            """
            SELECT g.file_id, g.user_id, u.username, g.expires_at FROM grants g JOIN users u ON u.id = g.user_id
            WHERE g.file_id = \(fileID) ORDER BY u.username
            """
        ).map { row in
            GrantRecord(
                fileID: try row["file_id"].decode(String.self), userID: try row["user_id"].decode(String.self),
                username: try row["username"].decode(String.self), expiresAt: try Self.optionalDate(row["expires_at"]))
        }
    }

    static func file(_ row: PostgresRandomAccessRow) throws -> FileRecord {
        let blocks = try row["block_sha256"].decode(String.self)
        return FileRecord(
            id: try row["id"].decode(String.self), name: try row["name"].decode(String.self),
            size: try row["size"].decode(Int64.self), contentType: try row["content_type"].decode(String.self),
            sha256: try row["sha256"].decode(String.self), version: try row["version"].decode(Int.self),
            ownerID: try row["owner_id"].decode(String.self), ownerName: try row["owner_name"].decode(String.self),
            createdAt: try date(row["created_at"]), updatedAt: try date(row["updated_at"]),
            blobKey: try row["blob_key"].decode(String.self),
            blockSHA256: blocks.isEmpty ? [] : blocks.split(separator: ",").map(String.init),
            crc32: try row["crc32"].decode(Int64?.self).map { UInt32(truncatingIfNeeded: $0) })
    }

    public func setFileCRC32(id: String, version: Int, crc32: UInt32) async throws {
        try await self.rows(
            "UPDATE files SET crc32 = \(Int64(crc32)) WHERE id = \(id) AND version = \(version)")
    }
}
