import FerryCore
import Foundation
import Hummingbird

/// Publishes verified content as a new file or as a new version of one, the same way for
/// one-shot uploads (`POST`/`PUT`) and tus uploads: no record without its blob, no blob without
/// its record, the old version's bytes discarded, audited as `upload.completed`.
struct FilePublisher: Sendable {
    let services: FerryServices

    /// A new file with id `fileID` (the blob key's first segment) named `name`.
    func create(
        fileID: String, name: String, content: FileContent, principal: Principal, clientIP: String?
    ) async throws -> FileRecord {
        let now = services.now()
        let file = FileRecord(
            id: fileID, name: name, size: content.size, contentType: content.contentType, sha256: content.sha256,
            version: 1, ownerID: principal.userID, ownerName: principal.username, createdAt: now, updatedAt: now,
            blobKey: content.blobKey, blockSHA256: content.blockSHA256, crc32: content.crc32)
        do {
            try await services.catalog.insertFile(file)
        } catch {
            try? await services.store.delete(key: content.blobKey)
            throw error
        }
        await services.audit.record(event(file, principal: principal, clientIP: clientIP, replaced: false))
        return file
    }

    /// The next version of `current` (still at the version read when the upload began or ended).
    func replace(
        _ current: FileRecord, with content: FileContent, principal: Principal, clientIP: String?
    ) async throws -> FileRecord {
        let updated: FileRecord?
        do {
            updated = try await services.catalog.replaceContent(
                fileID: current.id, expectedVersion: current.version, with: content, now: services.now())
        } catch {
            try? await services.store.delete(key: content.blobKey)
            throw error
        }
        guard let updated else {
            try? await services.store.delete(key: content.blobKey)
            throw FerryError(.conflict, "The file was replaced or deleted while you uploaded; fetch it and try again.")
        }
        // The old version's bytes go; its storage links then fail with the store's 404.
        await services.discardBlob(current.blobKey, fileID: current.id)
        await services.audit.record(event(updated, principal: principal, clientIP: clientIP, replaced: true))
        return updated
    }

    func event(_ file: FileRecord, principal: Principal, clientIP: String?, replaced: Bool) -> AuditEvent {
        AuditEvent(
            at: services.now(), event: "upload.completed", actor: principal.username, fileID: file.id,
            clientIP: clientIP,
            detail: [
                "bytes": .int(file.size), "version": .int(Int64(file.version)), "sha256": .string(file.sha256),
                "replaced": .string(replaced ? "true" : "false"),
            ])
    }
}
