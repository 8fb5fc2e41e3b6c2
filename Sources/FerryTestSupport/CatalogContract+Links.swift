import FerryCore
import Foundation
import Testing

/// The contract's checks of links (issue, listing, state, racing takers, pruning) and bundles.
extension CatalogContract {
    static func link(_ file: FileRecord, issuer: UserRecord, max: Int? = nil, at: Date = t0) -> LinkRecord {
        LinkRecord(
            id: Identifier.make(), fileID: file.id, fileVersion: file.version, issuerID: issuer.id,
            issuerName: issuer.username, createdAt: at, expiresAt: at.addingTimeInterval(300), strategy: "server",
            maxDownloads: max, bindIP: max == nil ? nil : "10.0.0.1", disposition: .attachment,
            filename: max == nil ? nil : "x.bin", revokedAt: nil)
    }

    static func longExpiredLinksArePrunedWithTheirDownloads(_ catalog: any Catalog) async throws {
        let ann = try await created("ann", in: catalog)
        let f = file(owner: ann)
        try await catalog.insertFile(f)
        // Expiring at t0 + 300, + 301, + 302 (limited, one download taken) and + 1 000 300.
        let old = [link(f, issuer: ann), link(f, issuer: ann, at: t0.addingTimeInterval(1))]
        let limited = link(f, issuer: ann, max: 2, at: t0.addingTimeInterval(2))
        let live = link(f, issuer: ann, at: t0.addingTimeInterval(1_000_000))
        for l in old + [limited, live] { try await catalog.insertLink(l) }
        #expect(try await catalog.takeDownload(linkID: limited.id, clientKey: "c", max: 2, now: t0))
        let cutoff = t0.addingTimeInterval(400)
        #expect(try await catalog.pruneLinks(expiredBefore: cutoff, limit: 2) == 2)
        #expect(try await catalog.pruneLinks(expiredBefore: cutoff, limit: 2) == 1)
        #expect(try await catalog.pruneLinks(expiredBefore: cutoff, limit: 2) == 0)
        for l in old + [limited] { #expect(try await catalog.link(id: l.id) == nil) }
        #expect(try await catalog.link(id: live.id)?.id == live.id)
        #expect(try await catalog.links(fileID: f.id, now: t0).map(\.link.id) == [live.id])
    }

    static func linksRoundTripAndRevokeOnce(_ catalog: any Catalog) async throws {
        let ann = try await created("ann", in: catalog)
        let f = file(owner: ann)
        try await catalog.insertFile(f)
        let plain = link(f, issuer: ann)
        let limited = link(f, issuer: ann, max: 3, at: t0.addingTimeInterval(1))
        try await catalog.insertLink(plain)
        try await catalog.insertLink(limited)
        #expect(try await catalog.link(id: limited.id) == limited)
        #expect(try await catalog.link(id: "nope") == nil)
        #expect(try await catalog.links(fileID: f.id, now: t0).map(\.link.id) == [limited.id, plain.id])
        let revoked = try await catalog.revokeLink(id: plain.id, now: t0.addingTimeInterval(5))
        #expect(revoked?.revokedAt == t0.addingTimeInterval(5))
        // Revoking again keeps the first time.
        #expect(
            try await catalog.revokeLink(id: plain.id, now: t0.addingTimeInterval(9))?.revokedAt == revoked?.revokedAt)
        #expect(try await catalog.revokeLink(id: "nope", now: t0) == nil)
        // A password hash is stored, read by every query of links, changed and removed.
        var locked = link(f, issuer: ann, at: t0.addingTimeInterval(2))
        locked.passwordHash = "$2b$11$first"
        try await catalog.insertLink(locked)
        #expect(try await catalog.link(id: locked.id)?.passwordHash == "$2b$11$first")
        #expect(
            try await catalog.linkState(id: locked.id, clientKey: "c", now: t0)?.link.passwordHash == "$2b$11$first")
        #expect(
            try await catalog.setLinkPassword(id: locked.id, passwordHash: "$2b$11$second")?.passwordHash
                == "$2b$11$second")
        #expect(
            try await catalog.links(fileID: f.id, now: t0).first { $0.link.id == locked.id }?.link.passwordHash
                == "$2b$11$second")
        #expect(try await catalog.setLinkPassword(id: locked.id, passwordHash: nil)?.passwordHash == nil)
        #expect(try await catalog.setLinkPassword(id: "nope", passwordHash: "x") == nil)
        // Links expired more than a day ago drop out of the listing.
        #expect(try await catalog.links(fileID: f.id, now: t0.addingTimeInterval(2 * 86_400)).isEmpty)
    }

    static func linkStateTellsIssuerAccessAndDownloads(_ catalog: any Catalog) async throws {
        let ann = try await created("ann", in: catalog)
        let bob = try await created("bob", in: catalog)
        let f = file(owner: ann)
        try await catalog.insertFile(f)
        try await catalog.upsertGrant(GrantRecord(fileID: f.id, userID: bob.id, username: "bob", expiresAt: nil))
        let l = link(f, issuer: bob, max: 2)
        try await catalog.insertLink(l)
        var state = try #require(try await catalog.linkState(id: l.id, clientKey: "c1", now: t0))
        #expect(state.link == l)
        #expect(state.file?.id == f.id)
        #expect(state.issuerMayRead)
        #expect(state.downloadsUsed == 0)
        #expect(!state.clientHoldsDownload)
        #expect(try await catalog.takeDownload(linkID: l.id, clientKey: "c1", max: 2, now: t0))
        state = try #require(try await catalog.linkState(id: l.id, clientKey: "c1", now: t0))
        #expect(state.downloadsUsed == 1)
        #expect(state.clientHoldsDownload)
        #expect(try await catalog.links(fileID: f.id, now: t0).first?.downloadsUsed == 1)
        // Revoking the issuer's grant or disabling the issuer stops the link at once.
        #expect(try await catalog.deleteGrant(fileID: f.id, userID: bob.id))
        #expect(try await catalog.linkState(id: l.id, clientKey: "c1", now: t0)?.issuerMayRead == false)
        try await catalog.upsertGrant(GrantRecord(fileID: f.id, userID: bob.id, username: "bob", expiresAt: nil))
        #expect(try await catalog.setUserDisabled(id: bob.id, disabled: true))
        #expect(try await catalog.linkState(id: l.id, clientKey: "c1", now: t0)?.issuerMayRead == false)
        // A deleted file leaves the link without a file.
        _ = try await catalog.deleteFile(id: f.id)
        state = try #require(try await catalog.linkState(id: l.id, clientKey: "c1", now: t0))
        #expect(state.file == nil)
        #expect(!state.issuerMayRead)
        #expect(try await catalog.linkState(id: "nope", clientKey: "c1", now: t0) == nil)
    }

    /// A catalog may keep link states between requests (the SQLite one does), but every answer is
    /// the one a fresh read would give: after a revocation, and when the issuer's grant lapses by
    /// itself between two requests a moment apart.
    static func linkStateIsFreshAfterRevocationAndGrantExpiry(_ catalog: any Catalog) async throws {
        let ann = try await created("ann", in: catalog)
        let bob = try await created("bob", in: catalog)
        let f = file(owner: ann)
        try await catalog.insertFile(f)
        let l = link(f, issuer: ann)
        try await catalog.insertLink(l)
        #expect(try await catalog.linkState(id: l.id, clientKey: "c1", now: t0)?.link.revokedAt == nil)
        #expect(try await catalog.linkState(id: l.id, clientKey: "c1", now: t0)?.link.revokedAt == nil)
        _ = try await catalog.revokeLink(id: l.id, now: t0)
        #expect(try await catalog.linkState(id: l.id, clientKey: "c1", now: t0)?.link.revokedAt != nil)

        let lapse = t0.addingTimeInterval(0.5)
        try await catalog.upsertGrant(GrantRecord(fileID: f.id, userID: bob.id, username: "bob", expiresAt: lapse))
        let viaGrant = link(f, issuer: bob)
        try await catalog.insertLink(viaGrant)
        #expect(try await catalog.linkState(id: viaGrant.id, clientKey: "c1", now: t0)?.issuerMayRead == true)
        #expect(try await catalog.linkState(id: viaGrant.id, clientKey: "c1", now: t0)?.issuerMayRead == true)
        let after = t0.addingTimeInterval(0.6)
        #expect(try await catalog.linkState(id: viaGrant.id, clientKey: "c1", now: after)?.issuerMayRead == false)
    }

    static func racingClientsTakeExactlyTheDownloadsLeft(_ catalog: any Catalog) async throws {
        let ann = try await created("ann", in: catalog)
        let f = file(owner: ann)
        try await catalog.insertFile(f)
        for (max, clients) in [(1, 20), (5, 12)] {
            for round in 0..<5 {
                let l = link(f, issuer: ann, max: max)
                try await catalog.insertLink(l)
                let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for c in 0..<clients {
                        group.addTask {
                            try await catalog.takeDownload(linkID: l.id, clientKey: "client-\(c)", max: max, now: t0)
                        }
                    }
                    var wins = 0
                    for try await won in group where won { wins += 1 }
                    return wins
                }
                #expect(wins == max, "max \(max), round \(round)")
                #expect(try await catalog.linkState(id: l.id, clientKey: "x", now: t0)?.downloadsUsed == max)
                // A winner's further requests take nothing and still hold; losers stay out.
                var holders = 0
                for c in 0..<clients {
                    let state = try await catalog.linkState(id: l.id, clientKey: "client-\(c)", now: t0)
                    if state?.clientHoldsDownload == true {
                        holders += 1
                        #expect(
                            try await catalog.takeDownload(linkID: l.id, clientKey: "client-\(c)", max: max, now: t0))
                    } else {
                        #expect(
                            !(try await catalog.takeDownload(linkID: l.id, clientKey: "client-\(c)", max: max, now: t0))
                        )
                    }
                }
                #expect(holders == max)
                #expect(try await catalog.linkState(id: l.id, clientKey: "x", now: t0)?.downloadsUsed == max)
            }
        }
    }

    static func bundlesRoundTripAndMembersAreReadTogether(_ catalog: any Catalog) async throws {
        let ann = try await created("ann", in: catalog)
        let bob = try await created("bob", in: catalog)
        let a = file(owner: ann, name: "a.bin")
        var b = file(owner: ann, name: "b.bin")
        b.crc32 = 0xDEAD_BEEF
        try await catalog.insertFile(a)
        try await catalog.insertFile(b)
        try await catalog.upsertGrant(GrantRecord(fileID: b.id, userID: bob.id, username: "bob", expiresAt: nil))
        let found = try await catalog.files(ids: [a.id, b.id, "missing", a.id], grantFor: bob.id, now: t0)
        #expect(found.count == 2)
        #expect(found[a.id]?.granted == false && found[b.id]?.granted == true)
        #expect(found[b.id]?.0.crc32 == 0xDEAD_BEEF && found[a.id]?.0 == a)
        #expect(try await catalog.files(ids: [], grantFor: bob.id, now: t0).isEmpty)

        let bundle = BundleRecord(
            id: Identifier.make(), name: "photos.zip", creatorID: ann.id, creatorName: "ann", createdAt: t0,
            members: [
                .init(fileID: a.id, version: 1, name: "a.bin", size: 10, crc32: 1, modified: t0),
                .init(fileID: b.id, version: 1, name: "ب.bin", size: 10, crc32: 0xDEAD_BEEF, modified: t0),
            ], sha256: String(repeating: "c", count: 64))
        try await catalog.insertBundle(bundle)
        #expect(try await catalog.bundle(id: bundle.id) == bundle)
        #expect(try await catalog.bundle(id: "nope") == nil)
        #expect(try await catalog.deleteBundle(id: bundle.id))
        #expect(!(try await catalog.deleteBundle(id: bundle.id)))
        #expect(try await catalog.bundle(id: bundle.id) == nil)
    }

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
}
