import FerryCore
import Foundation
import Testing

/// `LinkDecision`, the rule of API.md "Link delivery", without a server: for every two ways a link
/// can fail, a request that fails both is refused for the earlier one; a valid request is served,
/// taking a download only when the link is limited and the client holds none.
@Suite struct LinkDecisionTests {
    /// The facts of one request, valid until a cause changes them.
    struct Facts {
        var token: LinkToken? = LinkToken(
            linkID: "link1", fileID: "file1", fileVersion: 2, expiresAt: 1_000, keyID: "k1", disposition: .attachment,
            bindIP: nil, filename: nil)
        var state: LinkState? = LinkState(
            link: LinkRecord(
                id: "link1", fileID: "file1", fileVersion: 2, issuerID: "u1", issuerName: "ann",
                createdAt: Date(timeIntervalSince1970: 0), expiresAt: Date(timeIntervalSince1970: 1_000),
                strategy: "server", maxDownloads: 1, bindIP: nil, disposition: .attachment, filename: nil,
                revokedAt: nil, passwordHash: "$2b$11$hash"),
            file: FileRecord(
                id: "file1", name: "a.bin", size: 10, contentType: "application/octet-stream", sha256: "00",
                version: 2, ownerID: "u1", ownerName: "ann", createdAt: Date(timeIntervalSince1970: 0),
                updatedAt: Date(timeIntervalSince1970: 0), blobKey: "file1/b", blockSHA256: []),
            issuerMayRead: true, downloadsUsed: 0, clientHoldsDownload: false)
        var clientIP = "192.0.2.1"
        var userAgent = "curl/8"
        var now = Date(timeIntervalSince1970: 500)
        var password: LinkDecision.PasswordVerdict? = .accepted

        func decide() -> LinkDecision {
            LinkDecision.decide(
                token: token, state: state, clientIP: clientIP, userAgent: userAgent, now: now, password: password)
        }
    }

    /// Each cause of refusal, in API.md's order, as a change to valid facts, with what it answers.
    static let causes: [(name: String, code: String, message: String, apply: @Sendable (inout Facts) -> Void)] = [
        ("bad signature", "invalid_signature", "altered", { $0.token = nil }),
        ("unknown link", "invalid_signature", "fresh one", { $0.state = nil }),
        ("revoked", "link_revoked", "revoked", { $0.state?.link.revokedAt = Date(timeIntervalSince1970: 100) }),
        ("expired", "link_expired", "expired at", { $0.now = Date(timeIntervalSince1970: 1_000) }),
        ("no password", "password_required", "protected by a password", { $0.password = .missing }),
        ("wrong password", "wrong_password", "password is wrong", { $0.password = .wrong }),
        ("bound elsewhere", "ip_mismatch", "another network", { $0.token?.bindIP = "198.51.100.7" }),
        ("file deleted", "file_gone", "deleted", { $0.state?.file = nil }),
        ("file replaced", "file_changed", "replaced", { $0.state?.file?.version = 3 }),
        ("issuer lost access", "forbidden", "no longer has access", { $0.state?.issuerMayRead = false }),
        ("preview bot", "forbidden", "previews", { $0.userAgent = "Slackbot-LinkExpanding 1.0" }),
        ("downloads used", "link_used", "has been used", { $0.state?.downloadsUsed = 1 }),
    ]

    @Test func aValidRequestOnALimitedLinkIsServedAndTakesADownload() {
        #expect(Facts().decide() == .serve(file: Facts().state!.file!, takesDownload: true))
        var holder = Facts()
        holder.state?.clientHoldsDownload = true
        holder.state?.downloadsUsed = 1
        #expect(holder.decide() == .serve(file: holder.state!.file!, takesDownload: false))
        var unlimited = Facts()
        unlimited.state?.link.maxDownloads = nil
        unlimited.userAgent = "Slackbot 1.0"  // previews are refused on limited links only
        #expect(unlimited.decide() == .serve(file: unlimited.state!.file!, takesDownload: false))
    }

    @Test func aPasswordIsAskedForOnlyAfterExpiryAndOnlyOnPasswordLinks() {
        var unchecked = Facts()
        unchecked.password = nil
        #expect(unchecked.decide() == .checkPassword)
        // Nothing before the password step needs it: an expired link says so without a check.
        unchecked.now = Date(timeIntervalSince1970: 2_000)
        guard case .refuse(let refusal) = unchecked.decide() else {
            Issue.record("an expired link was served")
            return
        }
        #expect(refusal.code == .linkExpired)
        var plain = Facts()
        plain.state?.link.passwordHash = nil
        plain.password = nil
        #expect(plain.decide() == .serve(file: plain.state!.file!, takesDownload: true))
        plain.password = .wrong  // a link without a password ignores any
        #expect(plain.decide() == .serve(file: plain.state!.file!, takesDownload: true))
    }

    @Test func aBundleLinkIsDecidedOnWhatTheHandlerFoundOfItsMembers() {
        var facts = Facts()
        facts.state?.link.subject = .bundle
        facts.state?.file = nil
        func decide(_ check: LinkDecision.BundleCheck?) -> LinkDecision {
            LinkDecision.decide(
                token: facts.token, state: facts.state, clientIP: facts.clientIP, userAgent: facts.userAgent,
                now: facts.now, password: facts.password, bundle: check)
        }
        #expect(decide(.ok) == .serveBundle(takesDownload: true))
        let changed = LinkDecision.Refusal(code: .fileChanged, message: "b.bin was replaced")
        #expect(decide(.refused(changed)) == .refuse(changed))
        guard case .refuse(let gone) = decide(nil) else {
            Issue.record("a bundle link without its bundle was served")
            return
        }
        #expect(gone.code == .fileGone)
        // The password still comes first, and downloads left last.
        facts.password = .wrong
        guard case .refuse(let wrong) = decide(.refused(changed)) else { return }
        #expect(wrong.code == .wrongPassword)
        facts.password = .accepted
        facts.state?.downloadsUsed = 1
        guard case .refuse(let used) = decide(.ok) else { return }
        #expect(used.code == .linkUsed)
    }

    @Test func eachCauseAloneIsRefusedWithItsCode() {
        for cause in Self.causes {
            var facts = Facts()
            cause.apply(&facts)
            guard case .refuse(let refusal) = facts.decide() else {
                Issue.record("\(cause.name) was served")
                continue
            }
            #expect(refusal.code.rawValue == cause.code, "\(cause.name)")
            #expect(refusal.message.contains(cause.message), "\(cause.name): \(refusal.message)")
        }
    }

    @Test func everyPairOfCausesIsRefusedForTheEarlierOne() {
        for i in Self.causes.indices {
            for j in Self.causes.indices where j > i {
                var facts = Facts()
                Self.causes[j].apply(&facts)
                Self.causes[i].apply(&facts)
                guard case .refuse(let refusal) = facts.decide() else {
                    Issue.record("\(Self.causes[i].name) + \(Self.causes[j].name) was served")
                    continue
                }
                #expect(
                    refusal.code.rawValue == Self.causes[i].code && refusal.message.contains(Self.causes[i].message),
                    "\(Self.causes[i].name) + \(Self.causes[j].name): \(refusal.code) \(refusal.message)")
            }
        }
    }

    @Test func aLinkIsValidUntilTheSecondItExpires() {
        var facts = Facts()
        facts.now = Date(timeIntervalSince1970: 999.999)
        guard case .serve = facts.decide() else {
            Issue.record("refused a second before expiry")
            return
        }
    }

    @Test func previewAgentsAreFoundAnywhereInTheUserAgentAndNothingElseIs() {
        for agent in LinkDecision.previewAgents {
            #expect(LinkDecision.isPreviewAgent(agent))
            #expect(LinkDecision.isPreviewAgent("Mozilla/5.0 (compatible; \(agent)/2.1; +https://example.com)"))
            #expect(LinkDecision.isPreviewAgent("x" + agent))
            #expect(!LinkDecision.isPreviewAgent(String(agent.dropLast())))
            #expect(!LinkDecision.isPreviewAgent(agent.uppercased()) || agent == agent.uppercased())
        }
        #expect(!LinkDecision.isPreviewAgent(""))
        #expect(!LinkDecision.isPreviewAgent("curl/8.5.0"))
        #expect(!LinkDecision.isPreviewAgent("Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"))
        #expect(LinkDecision.isPreviewAgent("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"))
        #expect(!LinkDecision.isPreviewAgent("Slackbo"))
    }
}
