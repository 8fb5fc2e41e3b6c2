import FerryCore
import GRDB

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension SQLiteCatalog {
    public func createUpload(_ upload: UploadRecord) async throws {
        try await write { db in
            try db.execute(
                literal: """
                    INSERT INTO uploads (id, creator_id, creator_name, replaces, name, content_type, length, "offset",
                                         expected_sha256, blob_key, store_state, block_sha256, created_at,
                                         expires_at, completed_file_id)
                    VALUES (\(upload.id), \(upload.creatorID), \(upload.creatorName), \(upload.replaces),
                            \(upload.name), \(upload.contentType), \(upload.length), \(upload.offset),
                            \(upload.expectedSHA256), \(upload.blobKey), \(upload.storeState),
                            \(upload.blockSHA256.joined(separator: ",")), \(upload.createdAt.timeIntervalSince1970),
                            \(upload.expiresAt.timeIntervalSince1970), \(upload.completedFileID))
                    """)
        }
    }

    public func upload(id: String) async throws -> UploadRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM uploads WHERE id = ?", arguments: [id]).map(Self.upload)
        }
    }

    public func leaseUpload(id: String, holder: String, now: Date, until: Date) async throws -> UploadLease {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM uploads WHERE id = ?", arguments: [id]) else {
                return .missing
            }
            let upload = Self.upload(row)
            let heldBy: String? = row["lease_holder"]
            let heldUntil: Double? = row["lease_until"]
            if let heldBy, heldBy != holder, let heldUntil, heldUntil > now.timeIntervalSince1970 { return .locked }
            try db.execute(
                literal: """
                    UPDATE uploads SET lease_holder = \(holder), lease_until = \(until.timeIntervalSince1970)
                    WHERE id = \(id)
                    """)
            return .taken(upload)
        }
    }

    public func advanceUpload(id: String, holder: String, progress: UploadProgress) async throws -> Bool {
        try await write { db in
            try db.execute(
                literal: """
                    UPDATE uploads SET "offset" = \(progress.offset), store_state = \(progress.storeState),
                                       block_sha256 = \(progress.blockSHA256.joined(separator: ","))
                    WHERE id = \(id) AND lease_holder = \(holder)
                    """)
            return db.changesCount > 0
        }
    }

    public func releaseUpload(id: String, holder: String) async throws {
        try await write { db in
            try db.execute(
                literal: """
                    UPDATE uploads SET lease_holder = NULL, lease_until = NULL WHERE id = \(id) AND lease_holder = \(holder)
                    """)
        }
    }

    public func completeUpload(id: String, fileID: String) async throws {
        try await write { db in
            try db.execute(
                literal: """
                    UPDATE uploads SET completed_file_id = \(fileID), lease_holder = NULL, lease_until = NULL
                    WHERE id = \(id)
                    """)
        }
    }

    public func deleteUpload(id: String) async throws -> UploadRecord? {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM uploads WHERE id = ?", arguments: [id]) else {
                return nil
            }
            try db.execute(literal: "DELETE FROM uploads WHERE id = \(id)")
            return Self.upload(row)
        }
    }

    public func expiredUploads(before: Date, completedBefore: Date, limit: Int) async throws -> [UploadRecord] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM uploads
                    WHERE (completed_file_id IS NULL AND expires_at < ?) OR (completed_file_id IS NOT NULL AND created_at < ?)
                    ORDER BY expires_at LIMIT ?
                    """,
                arguments: [before.timeIntervalSince1970, completedBefore.timeIntervalSince1970, limit]
            ).map(Self.upload)
        }
    }

    static func upload(_ row: Row) -> UploadRecord {
        let blocks: String = row["block_sha256"]
        return UploadRecord(
            id: row["id"], creatorID: row["creator_id"], creatorName: row["creator_name"], replaces: row["replaces"],
            name: row["name"], contentType: row["content_type"], length: row["length"], offset: row["offset"],
            expectedSHA256: row["expected_sha256"], blobKey: row["blob_key"], storeState: row["store_state"],
            blockSHA256: blocks.isEmpty ? [] : blocks.split(separator: ",").map(String.init),
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            expiresAt: Date(timeIntervalSince1970: row["expires_at"]), completedFileID: row["completed_file_id"])
    }
}
