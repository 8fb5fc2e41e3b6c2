import Crypto
import FerryCore
import Foundation
import NIOCore

/// Bundles (API.md "Bundles"): creation with authorization per member, and the per-request check
/// that every member is still there, unchanged, and readable by whoever asks.
struct Bundles: Sendable {
    let services: FerryServices

    /// The most members a bundle may have.
    static let maxMembers = 1000

    /// Creates a bundle of `fileIDs` (in order) for `principal`: each must be readable (404 naming
    /// the first that is not); a version without a CRC-32 (uploaded before Ferry kept it) gets one
    /// now, read once from the store and kept.
    func create(fileIDs: [String], name: String, principal: Principal) async throws -> BundleRecord {
        guard (1...Self.maxMembers).contains(fileIDs.count) else {
            throw FerryError(.badRequest, "file_ids must list 1 to \(Self.maxMembers) files.")
        }
        let found = try await services.catalog.files(
            ids: fileIDs.filter(Identifier.isWellFormed), grantFor: principal.userID, now: services.now())
        var files: [FileRecord] = []
        for id in fileIDs {
            guard let (file, granted) = found[id], principal.isAdmin || file.ownerID == principal.userID || granted
            else {
                throw FerryError(.notFound, "No such file, or you do not have access to it: \(id).")
            }
            files.append(file)
        }
        let names = ZipLayout.safeNames(files.map(\.name))
        var members: [BundleRecord.Member] = []
        for (file, memberName) in zip(files, names) {
            let crc = try await crc32(of: file)
            members.append(
                .init(
                    fileID: file.id, version: file.version, name: memberName, size: file.size, crc32: crc,
                    modified: file.updatedAt))
        }
        var bundle = BundleRecord(
            id: Identifier.make(), name: name, creatorID: principal.userID, creatorName: principal.username,
            createdAt: services.now(), members: members)
        bundle.sha256 = try await sha256(of: bundle, files: files)
        try await services.catalog.insertBundle(bundle)
        return bundle
    }

    /// The archive's SHA-256, read once through the same reader that serves it (members from the
    /// store), so every download can carry `Repr-Digest` (API.md "Observability").
    func sha256(of bundle: BundleRecord, files: [FileRecord]) async throws -> String {
        let layout = bundle.layout
        let reader = BundleReader(
            layout: layout, range: 0...(layout.size - 1), keys: files.map(\.blobKey), store: services.store)
        var hasher = SHA256()
        do {
            while let chunks = try await reader.next() {
                for chunk in chunks { chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) } }
            }
        } catch {
            await reader.close()
            throw error
        }
        await reader.close()
        return Hex.encode(hasher.finalize())
    }

    /// The version's CRC-32: kept since upload, or computed once now and kept.
    func crc32(of file: FileRecord) async throws -> UInt32 {
        if let crc = file.crc32 { return crc }
        var crc = CRC32()
        try await services.store.read(key: file.blobKey, range: nil) { chunk in
            chunk.withUnsafeReadableBytes { crc.update($0) }
        }
        try await services.catalog.setFileCRC32(id: file.id, version: file.version, crc32: crc.value)
        return crc.value
    }

    /// The bundle `id` if `principal` may manage it (its creator or an admin); 404 otherwise.
    func managed(_ id: String, principal: Principal) async throws -> BundleRecord {
        guard Identifier.isWellFormed(id), let bundle = try await services.catalog.bundle(id: id),
            principal.isAdmin || bundle.creatorID == principal.userID
        else { throw FerryError(.notFound, "No such bundle, or you do not have access to it.") }
        return bundle
    }

    /// Every member's current record, checked: deleted -> 410 `file_gone`, replaced -> 410
    /// `file_changed`, not readable by `reader` (a user id, or nil to skip) -> 403 `forbidden`.
    func currentMembers(of bundle: BundleRecord, reader: Principal?) async throws -> [FileRecord] {
        let found = try await services.catalog.files(
            ids: bundle.members.map(\.fileID), grantFor: reader?.userID ?? "", now: services.now())
        return try bundle.members.map { member in
            guard let (file, granted) = found[member.fileID] else {
                throw FerryError(.fileGone, "\(member.name) in this bundle was deleted; make a new bundle.")
            }
            guard file.version == member.version else {
                throw FerryError(
                    .fileChanged, "\(member.name) was replaced after this bundle was made; make a new bundle.")
            }
            if let reader, !(reader.isAdmin || file.ownerID == reader.userID || granted) {
                throw FerryError(.forbidden, "You no longer have access to \(member.name) in this bundle.")
            }
            return file
        }
    }

    /// What `Delivery` serves for the bundle, members' bytes read from their current blobs.
    func representation(_ bundle: BundleRecord, files: [FileRecord]) -> Delivery.Representation {
        let layout = bundle.layout
        let keys = files.map(\.blobKey)
        let store = services.store
        return Delivery.Representation(
            id: bundle.id, size: layout.size, etag: bundle.etag, lastModified: bundle.lastModified,
            contentType: "application/zip", reprDigest: bundle.reprDigest,
            open: { range in
                let reader = BundleReader(layout: layout, range: range, keys: keys, store: store)
                try await reader.prime()
                return reader
            })
    }
}
