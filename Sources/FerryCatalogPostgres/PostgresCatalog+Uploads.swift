import FerryCore
import Foundation
import PostgresNIO

extension PostgresCatalog {
    public func createUpload(_ upload: UploadRecord) async throws {
        try await rows(
            """
            INSERT INTO uploads (id, creator_id, creator_name, replaces, name, content_type, length, "offset",
                                 expected_sha256, blob_key, store_state, block_sha256, created_at, expires_at,
                                 completed_file_id)
            VALUES (\(upload.id), \(upload.creatorID), \(upload.creatorName), \(upload.replaces), \(upload.name),
                    \(upload.contentType), \(upload.length), \(upload.offset), \(upload.expectedSHA256),
                    \(upload.blobKey), \(upload.storeState), \(upload.blockSHA256.joined(separator: ",")),
                    \(upload.createdAt.timeIntervalSince1970), \(upload.expiresAt.timeIntervalSince1970),
                    \(upload.completedFileID))
            """)
    }

    public func upload(id: String) async throws -> UploadRecord? {
        try await rows("SELECT * FROM uploads WHERE id = \(id)").first.map(Self.upload)
    }

    /// Under the row's lock, so that two nodes asking at once see each other's lease.
    public func leaseUpload(id: String, holder: String, now: Date, until: Date) async throws -> UploadLease {
        try await transaction { connection in
            guard
                let row = try await self.rows("SELECT * FROM uploads WHERE id = \(id) FOR UPDATE", on: connection).first
            else { return .missing }
            let upload = try Self.upload(row)
            let heldBy = try row["lease_holder"].decode(String?.self)
            let heldUntil = try row["lease_until"].decode(Double?.self)
            if let heldBy, heldBy != holder, let heldUntil, heldUntil > now.timeIntervalSince1970 { return .locked }
            _ = try await self.rows(
                """
                UPDATE uploads SET lease_holder = \(holder), lease_until = \(until.timeIntervalSince1970)
                WHERE id = \(id)
                """, on: connection)
            return .taken(upload)
        }
    }

    public func advanceUpload(id: String, holder: String, progress: UploadProgress) async throws -> Bool {
        !(try await rows(
            """
            UPDATE uploads SET "offset" = \(progress.offset), store_state = \(progress.storeState),
                               block_sha256 = \(progress.blockSHA256.joined(separator: ","))
            WHERE id = \(id) AND lease_holder = \(holder) RETURNING id
            """)).isEmpty
    }

    public func releaseUpload(id: String, holder: String) async throws {
        try await rows(
            "UPDATE uploads SET lease_holder = NULL, lease_until = NULL WHERE id = \(id) AND lease_holder = \(holder)")
    }

    public func completeUpload(id: String, fileID: String) async throws {
        try await rows(
            """
            UPDATE uploads SET completed_file_id = \(fileID), lease_holder = NULL, lease_until = NULL WHERE id = \(id)
            """)
    }

    public func deleteUpload(id: String) async throws -> UploadRecord? {
        try await rows("DELETE FROM uploads WHERE id = \(id) RETURNING *").first.map(Self.upload)
    }

    public func expiredUploads(before: Date, completedBefore: Date, limit: Int) async throws -> [UploadRecord] {
        try await rows(
            """
            SELECT * FROM uploads
            WHERE (completed_file_id IS NULL AND expires_at < \(before.timeIntervalSince1970))
               OR (completed_file_id IS NOT NULL AND created_at < \(completedBefore.timeIntervalSince1970))
            ORDER BY expires_at LIMIT \(limit)
            """
        ).map(Self.upload)
    }

    static func upload(_ row: PostgresRandomAccessRow) throws -> UploadRecord {
        let blocks = try row["block_sha256"].decode(String.self)
        return UploadRecord(
            id: try row["id"].decode(String.self), creatorID: try row["creator_id"].decode(String.self),
            creatorName: try row["creator_name"].decode(String.self),
            replaces: try row["replaces"].decode(String?.self),
            name: try row["name"].decode(String.self), contentType: try row["content_type"].decode(String.self),
            length: try row["length"].decode(Int64.self), offset: try row["offset"].decode(Int64.self),
            expectedSHA256: try row["expected_sha256"].decode(String?.self),
            blobKey: try row["blob_key"].decode(String.self), storeState: try row["store_state"].decode(String.self),
            blockSHA256: blocks.isEmpty ? [] : blocks.split(separator: ",").map(String.init),
            createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)),
            expiresAt: Date(timeIntervalSince1970: try row["expires_at"].decode(Double.self)),
            completedFileID: try row["completed_file_id"].decode(String?.self))
    }
}
