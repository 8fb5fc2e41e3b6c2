#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The metadata store: users, credentials, files, grants and the audit log.
///
/// Implementations (SQLite for one node, PostgreSQL for many) must make every method atomic on its
/// own and visible to every node at once; a method that cannot reach the database throws
/// `FerryError` with code `.unavailable`. Pagination positions are monotonic per table so pages
/// stay stable under concurrent inserts.
public protocol Catalog: Sendable {
    /// Answers when the database is reachable (`/readyz`).
    func ping() async throws

    // MARK: Users and credentials

    /// Number of users (bootstrap creates the admin when it is zero).
    func userCount() async throws -> Int
    /// Inserts a user; a taken username is `.conflict`.
    func createUser(_ user: UserRecord) async throws
    /// Looks a user up by name.
    func user(named username: String) async throws -> UserRecord?
    /// All users, oldest first.
    func users() async throws -> [UserRecord]
    /// Disables or enables a user; false when there is no such user.
    func setUserDisabled(id: String, disabled: Bool) async throws -> Bool
    /// Sets a user's password hash and ends the user's sessions but `keepSession` (the one that
    /// made the change); false when there is no such user.
    func setUserPassword(id: String, hash: String, keepSession: String?) async throws -> Bool
    /// Stores a token (hash only).
    func createToken(_ token: TokenRecord) async throws
    /// The enabled user owning the token with this hash.
    func principal(tokenHash: String) async throws -> Principal?
    /// A user's tokens, newest first.
    func tokens(userID: String) async throws -> [TokenRecord]
    /// Deletes a token; when `userID` is given only that user's token. False when nothing matched.
    func deleteToken(id: String, userID: String?) async throws -> Bool
    /// Stores a session (hash only).
    func createSession(_ session: SessionRecord) async throws
    /// The enabled user owning the unexpired session with this hash.
    func principal(sessionHash: String, now: Date) async throws -> Principal?
    /// Ends a session; true when it existed (so that a single-use sign-in code is redeemed once).
    @discardableResult func deleteSession(hash: String) async throws -> Bool
    /// Records a sign-in attempt for `key` (username and address) unless `limit` attempts were
    /// recorded since `windowStart` already; then records nothing and returns the oldest of them
    /// (the caller is blocked until it leaves the window). Atomic across nodes, so parallel
    /// attempts cannot slip past the limit together.
    func takeLoginAttempt(key: String, at: Date, windowStart: Date, limit: Int) async throws -> Date?
    /// Forgets the attempts of `key` (after a successful sign-in).
    func clearLoginAttempts(key: String) async throws
    /// Deletes attempts older than `before` (housekeeping).
    func pruneLoginAttempts(before: Date) async throws

    // MARK: Files

    /// Publishes a new file record.
    func insertFile(_ file: FileRecord) async throws
    /// A file by id.
    func file(id: String) async throws -> FileRecord?
    /// A file and whether `userID` holds an unexpired grant on it, in one read.
    func file(id: String, grantFor userID: String, now: Date) async throws -> (FileRecord, granted: Bool)?
    /// Files among `ids` that exist, each with whether `userID` holds an unexpired grant, in one
    /// read (bundles authorize every member on every request).
    func files(ids: [String], grantFor userID: String, now: Date) async throws -> [String: (FileRecord, granted: Bool)]

    // MARK: Bundles

    /// Stores a new bundle.
    func insertBundle(_ bundle: BundleRecord) async throws
    /// A bundle by id.
    func bundle(id: String) async throws -> BundleRecord?
    /// Deletes a bundle; true when it existed.
    func deleteBundle(id: String) async throws -> Bool

    /// Files the principal may see (own, granted, or all for an admin), newest first, after a position.
    func files(visibleTo principal: Principal, now: Date, limit: Int, before: Int64?) async throws -> Page<FileRecord>
    /// Replaces the content of a file if it is still at `expectedVersion`: a new version is published
    /// atomically. Returns the new record, or nil when the file is gone or moved on (`.conflict`).
    /// Records the CRC-32 of a version that has none (files uploaded before Ferry kept it); a
    /// version replaced meanwhile is left alone.
    func setFileCRC32(id: String, version: Int, crc32: UInt32) async throws
    func replaceContent(
        fileID: String, expectedVersion: Int, with content: FileContent, now: Date
    ) async throws -> FileRecord?
    /// Deletes a file with its grants; returns the deleted record.
    func deleteFile(id: String) async throws -> FileRecord?

    // MARK: Blobs to delete

    /// Blobs no file points at any more, still to be deleted from the store: `deleteFile` and
    /// `replaceContent` add the old blob in the same transaction, so a store that cannot delete at
    /// that moment leaves a record to retry, never an orphan nobody knows of. At most `limit`.
    func blobsToDelete(limit: Int) async throws -> [String]
    /// The blob is gone from the store (deleting a missing one is not an error either).
    func blobDeleted(key: String) async throws
    /// Which of `keys` (blob keys `<file id>/<id>`) a file points at now: the janitor deletes the
    /// others, blobs whose file record was never written (an upload whose catalog write and blob
    /// delete both failed) or that a node lost track of.
    func referencedBlobs(among keys: [String]) async throws -> Set<String>

    // MARK: Grants

    /// Adds or updates a grant.
    func upsertGrant(_ grant: GrantRecord) async throws
    /// Removes a grant; false when there was none.
    func deleteGrant(fileID: String, userID: String) async throws -> Bool
    /// The grants of a file.
    func grants(fileID: String) async throws -> [GrantRecord]

    // MARK: Links

    /// Records an issued link.
    func insertLink(_ link: LinkRecord) async throws
    /// A link by id.
    func link(id: String) async throws -> LinkRecord?
    /// The link with its file, its issuer's access and its download count, in one read (the `/t/`
    /// hot path). `clientKey` identifies the requesting client of a limited link.
    func linkState(id: String, clientKey: String, now: Date) async throws -> LinkState?
    /// Takes one of `max` downloads of a link for a client, atomically across every node: true when
    /// the client holds a download afterwards (already held, or taken now), false when all are taken.
    func takeDownload(linkID: String, clientKey: String, max: Int, now: Date) async throws -> Bool
    /// The links of a file, newest first, with downloads used; expired links older than a day are omitted.
    func links(fileID: String, now: Date) async throws -> [LinkSummary]
    /// Marks a link revoked (idempotent); returns the link as it is now.
    func revokeLink(id: String, now: Date) async throws -> LinkRecord?
    /// Sets or (nil) removes a link's password hash; returns the link as it is now.
    func setLinkPassword(id: String, passwordHash: String?) async throws -> LinkRecord?
    /// Deletes at most `limit` links (with their taken downloads) that expired before `before`;
    /// returns how many. Every `/d/` redirect issues a link, so without this the table only grows.
    func pruneLinks(expiredBefore before: Date, limit: Int) async throws -> Int

    // MARK: Resumable uploads

    /// Records a new tus upload.
    func createUpload(_ upload: UploadRecord) async throws
    /// An upload by id, unfinished or completed.
    func upload(id: String) async throws -> UploadRecord?
    /// Takes the write lease of an unfinished upload for `holder` until `until`, unless another
    /// holder's lease still runs at `now`: atomic across nodes, so two PATCHes on one upload
    /// never write together.
    func leaseUpload(id: String, holder: String, now: Date, until: Date) async throws -> UploadLease
    /// Records what a PATCH stored, only while `holder` still holds the lease (false otherwise).
    func advanceUpload(id: String, holder: String, progress: UploadProgress) async throws -> Bool
    /// Gives the lease back (when `holder` holds it).
    func releaseUpload(id: String, holder: String) async throws
    /// Marks the upload completed with the file it produced, and releases its lease.
    func completeUpload(id: String, fileID: String) async throws
    /// Deletes an upload record; returns it.
    func deleteUpload(id: String) async throws -> UploadRecord?
    /// At most `limit` uploads to discard: unfinished ones that expired before `before`, and
    /// completed ones whose record is older than `completedBefore`.
    func expiredUploads(before: Date, completedBefore: Date, limit: Int) async throws -> [UploadRecord]

    // MARK: Audit

    /// Appends events in order.
    func appendAudit(_ events: [AuditEvent]) async throws
    /// Events matching the filter, newest first.
    func audit(_ filter: AuditFilter) async throws -> Page<AuditEvent>
}
