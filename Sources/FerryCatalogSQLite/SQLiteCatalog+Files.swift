import FerryCore
import GRDB

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension SQLiteCatalog {
    /// The file columns, in the order `file(_:at:)` reads them.
    static let fileColumnList = """
        f.seq, f.id, f.name, f.size, f.content_type, f.sha256, f.version, f.owner_id, u.username AS owner_name,
        f.created_at, f.updated_at, f.blob_key, f.block_sha256, f.crc32
        """
    static let fileColumnCount = fileColumnList.split(separator: ",").count
    static let fileColumns = SQL(sql: fileColumnList)

    public func insertFile(_ file: FileRecord) async throws {
        try await write { db in
            try db.execute(
                literal: """
                    INSERT INTO files (id, name, size, content_type, sha256, version, owner_id, created_at,
                                       updated_at, blob_key, block_sha256, crc32)
                    VALUES (\(file.id), \(file.name), \(file.size), \(file.contentType), \(file.sha256),
                            \(file.version), \(file.ownerID), \(file.createdAt.timeIntervalSince1970),
                            \(file.updatedAt.timeIntervalSince1970), \(file.blobKey),
                            \(file.blockSHA256.joined(separator: ",")), \(file.crc32.map { Int64($0) }))
                    """)
        }
    }

    public func file(id: String) async throws -> FileRecord? {
        try await readOne { db in try Self.fetchFile(db, id: id) }
    }

    static let fileByID = "SELECT \(fileColumnList) FROM files f JOIN users u ON u.id = f.owner_id WHERE f.id = ?"

    static func fetchFile(_ db: Database, id: String) throws -> FileRecord? {
        try db.firstRow(fileByID, [id]) { Self.file($0) }
    }

    static let fileWithGrant = """
        SELECT \(fileColumnList),
               EXISTS (SELECT 1 FROM grants g WHERE g.file_id = f.id AND g.user_id = ?
                       AND (g.expires_at IS NULL OR g.expires_at > ?)) AS granted
        FROM files f JOIN users u ON u.id = f.owner_id WHERE f.id = ?
        """

    /// Kept between requests when no grant was found (exact under every write, see `LookupCache`):
    /// a grant's answer can lapse with time, its absence cannot.
    public func file(id: String, grantFor userID: String, now: Date) async throws -> (FileRecord, granted: Bool)? {
        let key = "file\n" + id + "\n" + userID
        let (kept, generation) = lookups.lookup(key, as: FileRecord.self, now: now)
        if let kept { return (kept, granted: false) }
        let found = try await readOne { db in
            try db.firstRow(Self.fileWithGrant, [userID, now.timeIntervalSince1970, id]) { row in
                (Self.file(row), granted: row[Self.fileColumnCount] as Bool)
            }
        }
        if let found, !found.granted { lookups.keep(key, found.0, now: now, generation: generation) }
        return found
    }

    public func files(
        visibleTo principal: Principal, now: Date, limit: Int, before: Int64?
    ) async throws
        -> Page<FileRecord>
    {
        try await read { db in
            let position: SQL = before.map { "f.seq < \($0)" } ?? "1"
            let visible: SQL =
                principal.isAdmin
                ? "1"
                : """
                (f.owner_id = \(principal.userID) OR EXISTS (SELECT 1 FROM grants g WHERE g.file_id = f.id
                 AND g.user_id = \(principal.userID)
                 AND (g.expires_at IS NULL OR g.expires_at > \(now.timeIntervalSince1970))))
                """
            let request = SQLRequest<Row>(
                """
                SELECT \(Self.fileColumns) FROM files f JOIN users u ON u.id = f.owner_id
                WHERE \(position) AND \(visible) ORDER BY f.seq DESC LIMIT \(limit + 1)
                """)
            let rows = try Row.fetchAll(db, request)
            let page = rows.prefix(limit)
            let next: Int64? = rows.count > limit ? page.last.map { $0["seq"] } : nil
            return Page(items: page.map { Self.file($0) }, next: next)
        }
    }

    public func replaceContent(
        fileID: String, expectedVersion: Int, with content: FileContent, now: Date
    )
        async throws -> FileRecord?
    {
        try await write { db in
            let old = try String.fetchOne(
                db, sql: "SELECT blob_key FROM files WHERE id = ? AND version = ?",
                arguments: [fileID, expectedVersion])
            guard let old else { return nil }
            try db.execute(
                literal: """
                    UPDATE files SET size = \(content.size), content_type = \(content.contentType),
                        sha256 = \(content.sha256), version = version + 1,
                        updated_at = \(now.timeIntervalSince1970), blob_key = \(content.blobKey),
                        block_sha256 = \(content.blockSHA256.joined(separator: ",")),
                        crc32 = \(content.crc32.map { Int64($0) })
                    WHERE id = \(fileID) AND version = \(expectedVersion)
                    """)
            guard db.changesCount > 0 else { return nil }
            try db.execute(literal: "INSERT OR IGNORE INTO blob_trash (key) VALUES (\(old))")
            return try Self.fetchFile(db, id: fileID)
        }
    }

    public func deleteFile(id: String) async throws -> FileRecord? {
        try await write { db in
            guard let file = try Self.fetchFile(db, id: id) else { return nil }
            try db.execute(literal: "DELETE FROM grants WHERE file_id = \(id)")
            try db.execute(literal: "DELETE FROM files WHERE id = \(id)")
            try db.execute(literal: "INSERT OR IGNORE INTO blob_trash (key) VALUES (\(file.blobKey))")
            return file
        }
    }

    public func blobsToDelete(limit: Int) async throws -> [String] {
        try await read { db in try String.fetchAll(db, sql: "SELECT key FROM blob_trash LIMIT ?", arguments: [limit]) }
    }

    public func blobDeleted(key: String) async throws {
        try await write { db in try db.execute(literal: "DELETE FROM blob_trash WHERE key = \(key)") }
    }

    public func referencedBlobs(among keys: [String]) async throws -> Set<String> {
        let fileIDs = Set(keys.compactMap { $0.split(separator: "/").first.map(String.init) })
        guard !fileIDs.isEmpty else { return [] }
        let ids = Array(fileIDs)
        let current = try await read { db in
            try String.fetchSet(db, SQLRequest<String>(literal: "SELECT blob_key FROM files WHERE id IN \(ids)"))
        }
        return current.intersection(keys)
    }

    public func upsertGrant(_ grant: GrantRecord) async throws {
        try await write { db in
            try db.execute(
                literal: """
                    INSERT INTO grants (file_id, user_id, expires_at)
                    VALUES (\(grant.fileID), \(grant.userID), \(grant.expiresAt?.timeIntervalSince1970))
                    ON CONFLICT (file_id, user_id) DO UPDATE SET expires_at = excluded.expires_at
                    """)
        }
    }

    public func deleteGrant(fileID: String, userID: String) async throws -> Bool {
        try await write { db in
            try db.execute(literal: "DELETE FROM grants WHERE file_id = \(fileID) AND user_id = \(userID)")
            return db.changesCount > 0
        }
    }

    public func grants(fileID: String) async throws -> [GrantRecord] {
        try await read { db in
            let request = SQLRequest<Row>(
                """
                SELECT g.file_id, g.user_id, u.username, g.expires_at FROM grants g JOIN users u ON u.id = g.user_id
                WHERE g.file_id = \(fileID) ORDER BY u.username
                """)
            return try Row.fetchAll(db, request).map { row in
                GrantRecord(
                    fileID: row["file_id"], userID: row["user_id"], username: row["username"],
                    expiresAt: (row["expires_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
            }
        }
    }

    /// A file from `fileColumnList` starting at column `base`, read by position (see `firstRow`).
    static func file(_ row: Row, at base: Int = 0) -> FileRecord {
        let blocks: String = row[base + 12]
        return FileRecord(
            id: row[base + 1], name: row[base + 2], size: row[base + 3], contentType: row[base + 4],
            sha256: row[base + 5], version: row[base + 6], ownerID: row[base + 7], ownerName: row[base + 8],
            createdAt: Date(timeIntervalSince1970: row[base + 9]),
            updatedAt: Date(timeIntervalSince1970: row[base + 10]), blobKey: row[base + 11],
            blockSHA256: blocks.isEmpty ? [] : blocks.split(separator: ",").map(String.init),
            crc32: (row[base + 13] as Int64?).map { UInt32(truncatingIfNeeded: $0) })
    }

    public func setFileCRC32(id: String, version: Int, crc32: UInt32) async throws {
        try await write { db in
            try db.execute(
                literal: "UPDATE files SET crc32 = \(Int64(crc32)) WHERE id = \(id) AND version = \(version)")
        }
    }
}
