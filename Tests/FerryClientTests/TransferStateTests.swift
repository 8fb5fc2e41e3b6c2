import FerryCore
import Foundation
import Testing

@testable import FerryClient

/// `TransferState`, the rules of a segmented download, without a server or a disk: resuming from
/// the control file, the retry budget, refreshing expired links once for everyone, starting over
/// for a new version, and corrupted blocks.
@Suite struct TransferStateTests {
    static let mib: Int64 = 1 << 20

    /// 40 MiB in 8 MiB parts of whole 8 MiB blocks (the manifest's shape), refreshable.
    static func plan(etag: String = "\"v1\"", size: Int64 = 40 << 20) -> DownloadPlan {
        var plan = DownloadPlan(
            url: "https://files.example/t/one", size: size, etag: etag, partSize: 8 << 20, name: "a.bin",
            acceptsRanges: true)
        plan.blockSHA256 = (0..<5).map { "block\($0)" }
        plan.refreshable = true
        return plan
    }

    static func control(
        done: [Int], inFlight: [Int], progress: [String: Int64]? = nil, etag: String = "\"v1\""
    )
        -> ControlFile
    {
        ControlFile(
            source: "id", url: nil, size: 40 << 20, etag: etag, sha256: nil, partSize: 8 << 20, done: done,
            inFlight: inFlight, progress: progress)
    }

    @Test func aControlFileOfThisVersionResumesItsPartsAndTheirVerifiedStarts() {
        let control = Self.control(
            done: [0, 2], inFlight: [1, 3], progress: ["1": 8 << 20 - 1, "3": 0, "4": 8 << 20])
        let plan = Self.plan()
        #expect(TransferState.resume(control, plan: plan) == .resumed)
        var state = TransferState(plan: plan, control: control, maxAttempts: 3)
        #expect(state.done == [0, 2])
        #expect(state.startedBefore == [1, 3])
        // Only whole blocks of parts that were in flight count; part 1's odd number does not.
        #expect(state.partProgress.isEmpty)
        #expect(state.remainingParts == [1, 3, 4])
        #expect(state.progress == (16 << 20, 40 << 20))
        #expect(state.nextPart() == 1)
        #expect(state.beginFetch(part: 1, ranged: true) == 0)
    }

    @Test func anotherVersionOrAServerWithoutRangesStartsFromZero() {
        let other = Self.control(done: [0], inFlight: [], etag: "\"v0\"")
        #expect(TransferState.resume(other, plan: Self.plan()) == .otherVersion)
        #expect(TransferState(plan: Self.plan(), control: other, maxAttempts: 3).startsEmpty)
        var noRanges = Self.plan()
        noRanges.acceptsRanges = false
        #expect(TransferState.resume(Self.control(done: [0], inFlight: []), plan: noRanges) == .otherVersion)
        #expect(TransferState.resume(nil, plan: Self.plan()) == .fresh)
    }

    @Test func networkFailuresAreRetriedWithinTheBudgetThenStop() {
        var state = TransferState(plan: Self.plan(), control: nil, maxAttempts: 3)
        let part = state.nextPart()!
        #expect(
            state.failed(part: part, .network("reset"), generation: 0)
                == .retry(attempt: 1, message: "part 1: reset; trying again"))
        #expect(
            state.failed(part: part, .network("reset"), generation: 0)
                == .retry(attempt: 2, message: "part 1: reset; trying again"))
        guard case .stop(.network, let message, nil) = state.failed(part: part, .network("reset"), generation: 0) else {
            Issue.record("a third failure in a row did not stop")
            return
        }
        #expect(message.contains("Run the same command again to resume"))
        // A part that lands resets its budget.
        var other = TransferState(plan: Self.plan(), control: nil, maxAttempts: 2)
        let first = other.nextPart()!
        #expect(
            other.failed(part: first, .network("x"), generation: 0)
                == .retry(attempt: 1, message: "part 1: x; trying again"))
        _ = try? other.landed(part: first, digests: [0: "block0"])
        #expect(other.done == [first])
    }

    @Test func anExpiredLinkIsRefreshedOnceForEveryoneThenTheDownloadGoesOn() {
        var state = TransferState(plan: Self.plan(), control: nil, maxAttempts: 3)
        let a = state.nextPart()!
        let b = state.nextPart()!
        #expect(state.failed(part: a, .expired("expired"), generation: 0) == .refresh(generation: 0))
        #expect(state.failed(part: b, .expired("expired"), generation: 0) == .refresh(generation: 0))
        var fresh = Self.plan()
        fresh.url = "https://files.example/t/two"
        #expect(state.refreshed(seen: 0, fresh: fresh) == .refreshed(percent: 0))
        // The second part saw the same expiry: the link is fresh already.
        #expect(state.refreshed(seen: 0, fresh: fresh) == .alreadyFresh)
        #expect(state.plan.url == "https://files.example/t/two" && state.generation == 1 && state.refreshes == 1)
    }

    @Test func aLinkRefusedEvenWhenFreshStopsAndAPlainURLCannotBeRefreshed() {
        var state = TransferState(plan: Self.plan(), control: nil, maxAttempts: 3)
        let part = state.nextPart()!
        for generation in 0..<TransferState.maxRefreshesPerPart {
            #expect(
                state.failed(part: part, .expired("no"), generation: generation) == .refresh(generation: generation))
        }
        guard case .stop(.forbidden, _, _) = state.failed(part: part, .expired("no"), generation: 5) else {
            Issue.record("kept refreshing")
            return
        }
        var plain = Self.plan()
        plain.refreshable = false
        var url = TransferState(plan: plain, control: nil, maxAttempts: 3)
        guard
            case .stop(.expired, _, "link_expired") = url.failed(part: url.nextPart()!, .expired("gone"), generation: 0)
        else {
            Issue.record("a plain URL was refreshed")
            return
        }
    }

    @Test func aNewVersionStartsOver() {
        var state = TransferState(plan: Self.plan(), control: nil, maxAttempts: 3)
        let part = state.nextPart()!
        #expect(state.failed(part: part, .replaced("changed"), generation: 0) == .restart(reason: "changed"))
        #expect(
            state.refreshed(seen: 0, fresh: Self.plan(etag: "\"v2\""))
                == .replaced(reason: "The file was replaced on the server."))
        #expect(
            state.refreshed(seen: 0, fresh: Self.plan(size: 41 << 20))
                == .replaced(reason: "The file was replaced on the server."))
    }

    @Test func aCorruptedBlockIsFetchedAgainThreeTimesThenStops() throws {
        var plan = Self.plan(size: 8 << 20)
        plan.blockSHA256 = ["block0"]
        var state = TransferState(plan: plan, control: nil, maxAttempts: 3)
        for round in 1...TransferState.maxBadBlockRetries {
            #expect(state.nextPart() == 0)
            #expect(try state.landed(part: 0, digests: [0: "bad"]) == .corrupted(block: 0))
            #expect(state.badBlocks == round && state.done.isEmpty && state.pending == [0])
            #expect(state.resent == Int64(round) * (8 << 20))
        }
        #expect(state.nextPart() == 0)
        #expect(throws: FerryClientError.self) { try state.landed(part: 0, digests: [0: "bad"]) }
    }

    @Test func resumingAfterACorruptionOnDiskFetchesOnlyThoseParts() {
        var state = TransferState(
            plan: Self.plan(), control: Self.control(done: [0, 1, 2], inFlight: [3], progress: ["3": 8 << 20 - 1]),
            maxAttempts: 3)
        let (whole, prefixes) = state.blocksToRecheck
        #expect(whole == [0, 1, 2] && prefixes.isEmpty)
        #expect(state.rechecked(goodBlocks: [0, 2], badBlocks: [1], prefixes: [:]) == 1)
        #expect(state.done == [0, 2] && state.remainingParts == [1, 3, 4])
    }
}
