import FerryCore
import Foundation
import Testing

/// The behaviour every `Catalog` must have, run against each backend (SQLite, PostgreSQL).
/// Each check gets a fresh, empty catalog.
public enum CatalogContract {
    /// A named check.
    public typealias Check = @Sendable (any Catalog) async throws -> Void

    /// Every check by name, for `@Test(arguments: CatalogContract.names)`.
    public static let names: [String] = checks.keys.sorted()

    /// The checks.
    public static let checks: [String: Check] = [
        "usersAreUniqueByName": usersAreUniqueByName,
        "tokensResolveToEnabledUsersOnly": tokensResolveToEnabledUsersOnly,
        "sessionsExpire": sessionsExpire,
        "passwordChangeEndsOtherSessions": passwordChangeEndsOtherSessions,
        "uploadsAreWrittenByOneLeaseHolderAtATime": uploadsAreWrittenByOneLeaseHolderAtATime,
        "filesRoundTripAndPageNewestFirst": filesRoundTripAndPageNewestFirst,
        "grantsDecideVisibility": grantsDecideVisibility,
        "replaceIsOptimisticAndDeleteTakesGrants": replaceIsOptimisticAndDeleteTakesGrants,
        "replacedAndDeletedBlobsWaitForDeletion": replacedAndDeletedBlobsWaitForDeletion,
        "referencedBlobsAreTheCurrentVersions": referencedBlobsAreTheCurrentVersions,
        "longExpiredLinksArePrunedWithTheirDownloads": longExpiredLinksArePrunedWithTheirDownloads,
        "loginAttemptsAreLimitedPerKeyAndWindow": loginAttemptsAreLimitedPerKeyAndWindow,
        "auditFiltersAndPages": auditFiltersAndPages,
        "auditKeepsEveryFieldAsWritten": auditKeepsEveryFieldAsWritten,
        "linksRoundTripAndRevokeOnce": linksRoundTripAndRevokeOnce,
        "linkStateTellsIssuerAccessAndDownloads": linkStateTellsIssuerAccessAndDownloads,
        "linkStateIsFreshAfterRevocationAndGrantExpiry": linkStateIsFreshAfterRevocationAndGrantExpiry,
        "racingClientsTakeExactlyTheDownloadsLeft": racingClientsTakeExactlyTheDownloadsLeft,
        "pagesStayStableUnderConcurrentInserts": pagesStayStableUnderConcurrentInserts,
        "bundlesRoundTripAndMembersAreReadTogether": bundlesRoundTripAndMembersAreReadTogether,
    ]

    static func user(_ name: String, role: Role = .member) -> UserRecord {
        UserRecord(id: Identifier.make(), username: name, role: role, passwordHash: nil, disabled: false, createdAt: t0)
    }

    /// A user made and stored in `catalog`.
    static func created(_ name: String, role: Role = .member, in catalog: any Catalog) async throws -> UserRecord {
        let record = user(name, role: role)
        try await catalog.createUser(record)
        return record
    }

    static func file(owner: UserRecord, name: String = "a.bin", at: Date = t0) -> FileRecord {
        let id = Identifier.make()
        return FileRecord(
            id: id, name: name, size: 10, contentType: "application/octet-stream",
            sha256: String(repeating: "a", count: 64), version: 1, ownerID: owner.id, ownerName: owner.username,
            createdAt: at, updatedAt: at, blobKey: "\(id)/\(Identifier.make())", blockSHA256: ["b", "c"])
    }

    static func usersAreUniqueByName(_ catalog: any Catalog) async throws {
        #expect(try await catalog.userCount() == 0)
        try await catalog.createUser(user("ann"))
        await #expect(throws: FerryError.self) { try await catalog.createUser(user("ann")) }
        #expect(try await catalog.user(named: "ann")?.username == "ann")
        #expect(try await catalog.user(named: "nobody") == nil)
        #expect(try await catalog.userCount() == 1)
    }

    static func tokensResolveToEnabledUsersOnly(_ catalog: any Catalog) async throws {
        let ann = user("ann", role: .admin)
        try await catalog.createUser(ann)
        let token = TokenRecord(id: Identifier.make(), userID: ann.id, name: "t", secretHash: "h1", createdAt: t0)
        try await catalog.createToken(token)
        #expect(try await catalog.principal(tokenHash: "h1")?.role == .admin)
        #expect(try await catalog.tokens(userID: ann.id).map(\.id) == [token.id])
        #expect(try await catalog.setUserDisabled(id: ann.id, disabled: true))
        #expect(try await catalog.principal(tokenHash: "h1") == nil)
        #expect(try await catalog.setUserDisabled(id: ann.id, disabled: false))
        #expect(try await catalog.deleteToken(id: token.id, userID: "someone-else") == false)
        #expect(try await catalog.deleteToken(id: token.id, userID: ann.id))
        #expect(try await catalog.principal(tokenHash: "h1") == nil)
    }

    static func sessionsExpire(_ catalog: any Catalog) async throws {
        let ann = try await created("ann", in: catalog)
        try await catalog.createSession(
            SessionRecord(secretHash: "s1", userID: ann.id, createdAt: t0, expiresAt: t0.addingTimeInterval(60)))
        #expect(try await catalog.principal(sessionHash: "s1", now: t0)?.username == "ann")
        #expect(try await catalog.principal(sessionHash: "s1", now: t0.addingTimeInterval(61)) == nil)
        #expect(try await catalog.deleteSession(hash: "s1"))
        #expect(try await catalog.principal(sessionHash: "s1", now: t0) == nil)
        // A second delete finds nothing: a sign-in code is redeemed once.
        #expect(try await catalog.deleteSession(hash: "s1") == false)
    }

    static func uploadsAreWrittenByOneLeaseHolderAtATime(_ catalog: any Catalog) async throws {
        let upload = UploadRecord(
            id: "up1xxxxxxxxx", creatorID: "u1", creatorName: "ann", replaces: nil, name: "a b.bin",
            contentType: "application/octet-stream", length: 100, expectedSHA256: nil,
            blobKey: "f1xxxxxxxxxx/b1xxxxxxxxxx",
            storeState: "{}", createdAt: t0, expiresAt: t0.addingTimeInterval(3600))
        try await catalog.createUpload(upload)
        #expect(try await catalog.upload(id: upload.id) == upload)
        let until = t0.addingTimeInterval(30)
        #expect(try await catalog.leaseUpload(id: upload.id, holder: "a", now: t0, until: until) == .taken(upload))
        #expect(try await catalog.leaseUpload(id: upload.id, holder: "b", now: t0, until: until) == .locked)
        #expect(try await catalog.leaseUpload(id: "nosuchupload", holder: "b", now: t0, until: until) == .missing)
        let progress = UploadProgress(offset: 40, storeState: #"{"n":1}"#, blockSHA256: ["ab"])
        #expect(try await catalog.advanceUpload(id: upload.id, holder: "b", progress: progress) == false)
        #expect(try await catalog.advanceUpload(id: upload.id, holder: "a", progress: progress))
        // A lease that ran out (its holder died) is taken over; the old holder can no longer write.
        guard
            case .taken(let taken) = try await catalog.leaseUpload(
                id: upload.id, holder: "b", now: until.addingTimeInterval(1), until: until.addingTimeInterval(30))
        else {
            Issue.record("an expired lease was not taken over")
            return
        }
        #expect(taken.offset == 40 && taken.storeState == #"{"n":1}"# && taken.blockSHA256 == ["ab"])
        #expect(try await catalog.advanceUpload(id: upload.id, holder: "a", progress: progress) == false)
        try await catalog.releaseUpload(id: upload.id, holder: "b")
        #expect(try await catalog.leaseUpload(id: upload.id, holder: "c", now: t0, until: until) != .locked)
        try await catalog.completeUpload(id: upload.id, fileID: "f1xxxxxxxxxx")
        #expect(try await catalog.upload(id: upload.id)?.completedFileID == "f1xxxxxxxxxx")
        #expect(try await catalog.expiredUploads(before: t0, completedBefore: t0, limit: 10).isEmpty)
        #expect(
            try await catalog.expiredUploads(before: t0, completedBefore: t0.addingTimeInterval(1), limit: 10).map(\.id)
                == [upload.id])
        #expect(try await catalog.deleteUpload(id: upload.id)?.id == upload.id)
        #expect(try await catalog.upload(id: upload.id) == nil)
    }

    static func passwordChangeEndsOtherSessions(_ catalog: any Catalog) async throws {
        let ann = try await created("ann", in: catalog)
        for hash in ["mine", "stolen"] {
            try await catalog.createSession(
                SessionRecord(secretHash: hash, userID: ann.id, createdAt: t0, expiresAt: t0.addingTimeInterval(60)))
        }
        #expect(try await catalog.setUserPassword(id: ann.id, hash: "$2b$new", keepSession: "mine"))
        #expect(try await catalog.user(named: "ann")?.passwordHash == "$2b$new")
        #expect(try await catalog.principal(sessionHash: "mine", now: t0)?.username == "ann")
        #expect(try await catalog.principal(sessionHash: "stolen", now: t0) == nil)
        #expect(try await catalog.setUserPassword(id: ann.id, hash: "$2b$other", keepSession: nil))
        #expect(try await catalog.principal(sessionHash: "mine", now: t0) == nil)
        #expect(try await catalog.setUserPassword(id: "nobody", hash: "x", keepSession: nil) == false)
    }

    static func filesRoundTripAndPageNewestFirst(_ catalog: any Catalog) async throws {
        let ann = try await created("ann", in: catalog)
        var inserted: [FileRecord] = []
        for i in 0..<5 {
            let record = file(owner: ann, name: "f\(i) \"ü\".bin", at: t0.addingTimeInterval(Double(i)))
            try await catalog.insertFile(record)
            inserted.append(record)
        }
        #expect(try await catalog.file(id: inserted[0].id) == inserted[0])
        let principal = Principal(userID: ann.id, username: "ann", role: .member, via: .token)
        let first = try await catalog.files(visibleTo: principal, now: t0, limit: 2, before: nil)
        #expect(first.items.map(\.id) == [inserted[4].id, inserted[3].id])
        let second = try await catalog.files(visibleTo: principal, now: t0, limit: 2, before: first.next)
        #expect(second.items.map(\.id) == [inserted[2].id, inserted[1].id])
        let third = try await catalog.files(visibleTo: principal, now: t0, limit: 2, before: second.next)
        #expect(third.items.map(\.id) == [inserted[0].id])
        #expect(third.next == nil)
    }

    static func grantsDecideVisibility(_ catalog: any Catalog) async throws {
        let ann = try await created("ann", in: catalog)
        let bob = try await created("bob", in: catalog)
        let record = file(owner: ann)
        try await catalog.insertFile(record)
        let asBob = Principal(userID: bob.id, username: "bob", role: .member, via: .token)
        #expect(try await catalog.file(id: record.id, grantFor: bob.id, now: t0)?.granted == false)
        #expect(try await catalog.files(visibleTo: asBob, now: t0, limit: 10, before: nil).items.isEmpty)
        try await catalog.upsertGrant(
            GrantRecord(fileID: record.id, userID: bob.id, username: "bob", expiresAt: t0.addingTimeInterval(10)))
        #expect(try await catalog.file(id: record.id, grantFor: bob.id, now: t0)?.granted == true)
        #expect(try await catalog.files(visibleTo: asBob, now: t0, limit: 10, before: nil).items.count == 1)
        #expect(
            try await catalog.file(id: record.id, grantFor: bob.id, now: t0.addingTimeInterval(11))?.granted == false)
        #expect(try await catalog.grants(fileID: record.id).map(\.username) == ["bob"])
        #expect(try await catalog.deleteGrant(fileID: record.id, userID: bob.id))
        #expect(try await catalog.deleteGrant(fileID: record.id, userID: bob.id) == false)
        let admin = Principal(userID: "x", username: "root", role: .admin, via: .token)
        #expect(try await catalog.files(visibleTo: admin, now: t0, limit: 10, before: nil).items.count == 1)
    }

    static func replaceIsOptimisticAndDeleteTakesGrants(_ catalog: any Catalog) async throws {
        let ann = try await created("ann", in: catalog)
        let record = file(owner: ann)
        try await catalog.insertFile(record)
        // A version without a CRC-32 (uploaded before Ferry kept it) gets one once; a stale version's is ignored.
        #expect(try await catalog.file(id: record.id)?.crc32 == nil)
        try await catalog.setFileCRC32(id: record.id, version: 1, crc32: 0xFFFF_FFFF)
        #expect(try await catalog.file(id: record.id)?.crc32 == 0xFFFF_FFFF)
        let content = FileContent(
            size: 20, contentType: "text/plain", sha256: String(repeating: "d", count: 64),
            blobKey: "\(record.id)/next",
            blockSHA256: ["e"], crc32: 0x1234_5678)
        let later = t0.addingTimeInterval(5)
        let updated = try #require(
            try await catalog.replaceContent(fileID: record.id, expectedVersion: 1, with: content, now: later))
        #expect(updated.version == 2 && updated.size == 20 && updated.blobKey == "\(record.id)/next")
        #expect(updated.crc32 == 0x1234_5678)
        try await catalog.setFileCRC32(id: record.id, version: 1, crc32: 7)
        #expect(try await catalog.file(id: record.id)?.crc32 == 0x1234_5678)
        #expect(updated.updatedAt == later && updated.createdAt == t0 && updated.etag != record.etag)
        #expect(
            try await catalog.replaceContent(fileID: record.id, expectedVersion: 1, with: content, now: later) == nil)
        try await catalog.upsertGrant(GrantRecord(fileID: record.id, userID: ann.id, username: "ann", expiresAt: nil))
        #expect(try await catalog.deleteFile(id: record.id)?.id == record.id)
        #expect(try await catalog.file(id: record.id) == nil)
        #expect(try await catalog.grants(fileID: record.id).isEmpty)
        #expect(try await catalog.deleteFile(id: record.id) == nil)
    }

    /// The blob of a replaced version and of a deleted file are recorded with the change (and only
    /// with a change that happened), until the store has deleted them.
    static func replacedAndDeletedBlobsWaitForDeletion(_ catalog: any Catalog) async throws {
        let ann = try await created("ann", in: catalog)
        let record = file(owner: ann)
        try await catalog.insertFile(record)
        #expect(try await catalog.blobsToDelete(limit: 10).isEmpty)
        let content = FileContent(
            size: 20, contentType: "text/plain", sha256: String(repeating: "d", count: 64),
            blobKey: "\(record.id)/v2", blockSHA256: ["e"])
        _ = try #require(
            try await catalog.replaceContent(fileID: record.id, expectedVersion: 1, with: content, now: t0))
        #expect(try await catalog.blobsToDelete(limit: 10) == [record.blobKey])
        // A replacement that loses its race changes nothing and records nothing.
        let stale = FileContent(
            size: 1, contentType: "text/plain", sha256: String(repeating: "f", count: 64),
            blobKey: "\(record.id)/stale", blockSHA256: ["f"])
        #expect(try await catalog.replaceContent(fileID: record.id, expectedVersion: 1, with: stale, now: t0) == nil)
        #expect(try await catalog.deleteFile(id: record.id)?.blobKey == "\(record.id)/v2")
        #expect(Set(try await catalog.blobsToDelete(limit: 10)) == [record.blobKey, "\(record.id)/v2"])
        #expect(try await catalog.blobsToDelete(limit: 1).count == 1)
        try await catalog.blobDeleted(key: record.blobKey)
        try await catalog.blobDeleted(key: record.blobKey)  // twice (two nodes sweeping) is not an error
        #expect(try await catalog.blobsToDelete(limit: 10) == ["\(record.id)/v2"])
        try await catalog.blobDeleted(key: "\(record.id)/v2")
        #expect(try await catalog.blobsToDelete(limit: 10).isEmpty)
    }

    /// Only the blob a file points at now counts as referenced: not a replaced version's, not a
    /// deleted file's, not one whose file was never written.
    static func referencedBlobsAreTheCurrentVersions(_ catalog: any Catalog) async throws {
        let ann = try await created("ann", in: catalog)
        let kept = file(owner: ann)
        let replaced = file(owner: ann, name: "b.bin")
        let deleted = file(owner: ann, name: "c.bin")
        for record in [kept, replaced, deleted] { try await catalog.insertFile(record) }
        let content = FileContent(
            size: 20, contentType: "text/plain", sha256: String(repeating: "d", count: 64),
            blobKey: "\(replaced.id)/v2", blockSHA256: ["e"])
        _ = try #require(
            try await catalog.replaceContent(fileID: replaced.id, expectedVersion: 1, with: content, now: t0))
        _ = try await catalog.deleteFile(id: deleted.id)
        let never = "\(Identifier.make())/\(Identifier.make())"
        let asked = [kept.blobKey, replaced.blobKey, "\(replaced.id)/v2", deleted.blobKey, never, "\(kept.id)/other"]
        #expect(try await catalog.referencedBlobs(among: asked) == [kept.blobKey, "\(replaced.id)/v2"])
        #expect(try await catalog.referencedBlobs(among: []).isEmpty)
        #expect(try await catalog.referencedBlobs(among: [never]).isEmpty)
    }

    static func auditFiltersAndPages(_ catalog: any Catalog) async throws {
        var events: [AuditEvent] = []
        for i in 0..<6 {
            events.append(
                AuditEvent(
                    at: t0.addingTimeInterval(Double(i)), event: i % 2 == 0 ? "download.started" : "download.failed",
                    actor: i < 3 ? "ann" : "bob", fileID: "f\(i % 3)", clientIP: "127.0.0.1",
                    detail: ["bytes": .int(Int64(i)), "code": i % 2 == 0 ? .null : "client_aborted"]))
        }
        try await catalog.appendAudit(events)
        let all = try await catalog.audit(AuditFilter(limit: 4))
        #expect(all.items.map(\.at) == events.reversed().prefix(4).map(\.at))
        #expect(all.items[0].detail == events[5].detail)
        let rest = try await catalog.audit(AuditFilter(limit: 4, before: all.next))
        #expect(rest.items.count == 2 && rest.next == nil)
        #expect(try await catalog.audit(AuditFilter(actor: "bob")).items.count == 3)
        #expect(try await catalog.audit(AuditFilter(event: "download.failed")).items.count == 3)
        #expect(try await catalog.audit(AuditFilter(fileID: "f0")).items.count == 2)
        #expect(try await catalog.audit(AuditFilter(since: t0.addingTimeInterval(4))).items.count == 2)
    }

    /// Absent fields stay absent and any text (quotes, control characters, other scripts, empty
    /// detail values) reads back as written.
    static func auditKeepsEveryFieldAsWritten(_ catalog: any Catalog) async throws {
        let events = [
            AuditEvent(at: t0, event: "file.deleted", actor: nil, fileID: nil, clientIP: nil),
            AuditEvent(
                at: t0.addingTimeInterval(1), event: "download.failed", actor: "zoë", fileID: "f-é🚢", clientIP: "::1",
                detail: ["code": "storage_error", "note": "a\"b\\c\nd\u{1}é🚢", "": "", "n": .int(-7), "z": .null]),
        ]
        try await catalog.appendAudit(events)
        let read = try await catalog.audit(AuditFilter(limit: 10)).items
        #expect(read.reversed() == events)
        #expect(try await catalog.audit(AuditFilter(fileID: "f-é🚢")).items == [events[1]])
        #expect(try await catalog.audit(AuditFilter(actor: "zoë")).items == [events[1]])
    }

    static func loginAttemptsAreLimitedPerKeyAndWindow(_ catalog: any Catalog) async throws {
        func take(_ key: String, _ at: Date) async throws -> Date? {
            try await catalog.takeLoginAttempt(key: key, at: at, windowStart: at.addingTimeInterval(-60), limit: 3)
        }
        for i in 0..<3 { #expect(try await take("ann|10.0.0.1", t0.addingTimeInterval(Double(i))) == nil) }
        // The fourth in the window is refused, with the oldest attempt, and not recorded.
        #expect(try await take("ann|10.0.0.1", t0.addingTimeInterval(10)) == t0)
        #expect(try await take("ann|10.0.0.1", t0.addingTimeInterval(20)) == t0)
        #expect(try await take("ann|10.0.0.2", t0.addingTimeInterval(20)) == nil)  // another key
        // Once the first attempt leaves the window, one more is allowed.
        #expect(try await take("ann|10.0.0.1", t0.addingTimeInterval(60.5)) == nil)
        #expect(try await take("ann|10.0.0.1", t0.addingTimeInterval(61)) == nil)
        #expect(try await take("ann|10.0.0.1", t0.addingTimeInterval(61.5)) == t0.addingTimeInterval(2))
        try await catalog.clearLoginAttempts(key: "ann|10.0.0.1")
        #expect(try await take("ann|10.0.0.1", t0.addingTimeInterval(62)) == nil)
        // Housekeeping deletes old attempts only (the one at t0 + 20 would still be in the window).
        try await catalog.pruneLoginAttempts(before: t0.addingTimeInterval(30))
        #expect(try await take("ann|10.0.0.2", t0.addingTimeInterval(40)) == nil)
        #expect(try await take("ann|10.0.0.2", t0.addingTimeInterval(41)) == nil)
        #expect(try await take("ann|10.0.0.2", t0.addingTimeInterval(42)) == nil)
        #expect(try await take("ann|10.0.0.2", t0.addingTimeInterval(43)) == t0.addingTimeInterval(40))
        // Parallel attempts cannot slip past the limit together.
        let allowed = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<12 {
                group.addTask { try await take("bob|10.0.0.3", t0.addingTimeInterval(100)) == nil }
            }
            var count = 0
            for try await ok in group where ok { count += 1 }
            return count
        }
        #expect(allowed == 3)
    }

    static func pagesStayStableUnderConcurrentInserts(_ catalog: any Catalog) async throws {
        let ann = user("ann", role: .admin)
        try await catalog.createUser(ann)
        let principal = Principal(userID: ann.id, username: "ann", role: .admin, via: .token)
        var originals: [String] = []
        for i in 0..<30 {
            let f = file(owner: ann, name: "f\(i)", at: t0.addingTimeInterval(Double(i)))
            try await catalog.insertFile(f)
            originals.append(f.id)
        }
        var seen: [String] = []
        var cursor: Int64?
        var pages = 0
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for i in 0..<40 { try await catalog.insertFile(file(owner: ann, name: "new\(i)")) }
            }
            repeat {
                let page = try await catalog.files(visibleTo: principal, now: t0, limit: 7, before: cursor)
                seen += page.items.map(\.id)
                cursor = page.next
                pages += 1
            } while cursor != nil && pages < 100
            try await group.waitForAll()
        }
        // Files inserted while paging are newer than the first page's position, so they never shift
        // the pages already walked: every original appears exactly once, newest first.
        let originalsSeen = seen.filter { originals.contains($0) }
        #expect(originalsSeen == originals.reversed())
        #expect(Set(seen).count == seen.count)
    }
}
