import FerryCore

/// A segmented download's state and its rules, without I/O: which parts are done, waiting or on
/// their way, what a resumed run keeps from the control file, and what to do when a part lands or
/// fails. `Transfer` (the actor that owns the data file) feeds it events and acts on the answers;
/// `Downloader` drives the requests. Tested on its own (`TransferStateTests`).
struct TransferState: Sendable {
    /// What went wrong with one request of a part.
    enum Failure: Equatable, Sendable {
        /// The link was refused as expired (or a store refused its signed URL).
        case expired(String)
        /// The connection failed, broke, or the server answered 5xx/429/408.
        case network(String)
        /// The file is another version now (If-Range mismatch, `file_changed`, 412).
        case replaced(String)
    }

    /// What the driver does next.
    enum Action: Equatable, Sendable {
        /// Fetch the part again after a backoff (`attempt` failures in a row so far).
        case retry(attempt: Int, message: String)
        /// Fetch a fresh link for everyone who used `generation`, then fetch the part again.
        case refresh(generation: Int)
        /// Discard everything and start from zero.
        case restart(reason: String)
        /// Stop: the download cannot go on in this run.
        case stop(FerryClientError.Kind, message: String, code: String?)
    }

    /// What a part that landed needs before it counts as done.
    enum Landing: Equatable, Sendable {
        /// Done (and verified where blocks are known).
        case done
        /// These blocks are now whole on disk and must be read back and checked (`blockChecked`).
        case check([Int])
        /// A block of the part did not match its SHA-256: the part is queued again.
        case corrupted(block: Int)
    }

    /// How a resumed run starts.
    enum Resume: Equatable, Sendable {
        /// No usable control file: from zero.
        case fresh
        /// Parts and progress taken from the control file.
        case resumed
        /// The control file is of another version (or the server cannot resume): from zero.
        case otherVersion
    }

    private(set) var plan: DownloadPlan
    /// Bumped by every refresh: a failure seen under an older generation needs no new link.
    private(set) var generation = 0
    private(set) var done: Set<Int>
    private(set) var inFlight: Set<Int> = []
    private(set) var pending: [Int]
    /// Parts an earlier run had in flight: their bytes count as resent when fetched again.
    private(set) var startedBefore: Set<Int>
    /// Verified bytes at the start of parts not done (whole blocks that matched): a part fetched
    /// again continues after them, in this run (a retry) or the next (saved in the control file).
    private(set) var partProgress: [Int: Int64]
    /// Where the parts an earlier run had in flight were taken up (their resent bytes start there).
    private var resumedAt: [Int: Int64]
    private(set) var verifiedBlocks: Set<Int> = []
    private var badBlockCounts: [Int: Int] = [:]
    private var partialBytes: [Int: Int64] = [:]
    private(set) var resent: Int64 = 0
    private(set) var fetched: Int64 = 0
    private(set) var refreshes = 0
    private(set) var badBlocks = 0
    /// Parts whose bytes are final (written, and verified where block hashes are known).
    private(set) var settled: Set<Int> = []
    /// Network failures in a row per part, and refreshes per part (the budgets of one run).
    private var attempts: [Int: Int] = [:]
    private var refreshesOfPart: [Int: Int] = [:]
    let maxAttempts: Int

    /// A corrupted block is fetched again at most this many times.
    static let maxBadBlockRetries = 3
    /// A part whose fresh link is refused this many times stops the download.
    static let maxRefreshesPerPart = 5

    /// The state of a run: resumed from `control` when it is of this version and the server can
    /// resume (ranges and a strong validator), else from zero.
    init(plan: DownloadPlan, control: ControlFile?, maxAttempts: Int) {
        self.plan = plan
        self.maxAttempts = max(1, maxAttempts)
        var done: Set<Int> = []
        var startedBefore: Set<Int> = []
        var progress: [Int: Int64] = [:]
        if let control, Self.resumable(control, plan: plan) {
            done = Set(control.done.filter { $0 >= 0 && $0 < plan.partCount })
            startedBefore = Set(control.inFlight)
            progress = Self.validProgress(
                control.progress ?? [:], plan: plan, inFlight: startedBefore.subtracting(done))
        }
        self.done = done
        self.startedBefore = startedBefore
        partProgress = progress
        resumedAt = progress
        settled = done
        pending = (0..<plan.partCount).filter { !done.contains($0) }
    }

    /// How `init(plan:control:maxAttempts:)` started.
    static func resume(_ control: ControlFile?, plan: DownloadPlan) -> Resume {
        guard let control else { return .fresh }
        return resumable(control, plan: plan) ? .resumed : .otherVersion
    }

    /// Resuming needs ranges and a strong validator: without one, a changed file could not be told.
    static func resumable(_ control: ControlFile, plan: DownloadPlan) -> Bool {
        control.size == plan.size && control.etag == plan.etag && control.partSize == plan.partSize
            && plan.acceptsRanges && plan.etag != nil
    }

    /// Whether parts are whole blocks, so a part's blocks are checked as its bytes stream in.
    static func streamsBlocks(_ plan: DownloadPlan) -> Bool {
        !plan.blockSHA256.isEmpty && plan.partSize % plan.blockSize == 0
    }

    /// Progress entries that can be trusted to mean whole blocks of a part in flight.
    static func validProgress(_ saved: [String: Int64], plan: DownloadPlan, inFlight: Set<Int>) -> [Int: Int64] {
        guard streamsBlocks(plan) else { return [:] }
        var progress: [Int: Int64] = [:]
        for (key, bytes) in saved {
            guard let part = Int(key), inFlight.contains(part), bytes > 0, bytes % plan.blockSize == 0,
                bytes < Int64(plan.range(ofPart: part).count)
            else { continue }
            progress[part] = bytes
        }
        return progress
    }

    /// Whether nothing of an earlier run is kept (the data file can be created afresh).
    var startsEmpty: Bool { done.isEmpty && partProgress.isEmpty }

    /// The control file that records this state.
    func control(source: String) -> ControlFile {
        ControlFile(
            source: source, url: nil, size: plan.size, etag: plan.etag, sha256: plan.sha256,
            partSize: plan.partSize, done: done.sorted(), inFlight: inFlight.union(startedBefore).sorted(),
            progress: partProgress.isEmpty
                ? nil : Dictionary(uniqueKeysWithValues: partProgress.map { (String($0.key), $0.value) }))
    }

    // MARK: Scheduling

    /// Parts not done yet (waiting or on their way).
    var remainingParts: [Int] { pending + Array(inFlight) }

    /// Whether every part is done.
    var isComplete: Bool { done.count == plan.partCount }

    /// Bytes on disk (done parts and what in-flight parts wrote) and the total.
    var progress: (bytes: Int64, total: Int64) {
        let complete = done.reduce(Int64(0)) { $0 + Int64(plan.range(ofPart: $1).count) }
        return (complete + partialBytes.values.reduce(0, +), plan.size)
    }

    /// Takes the next waiting part, or nil when none is waiting.
    mutating func nextPart() -> Int? {
        guard !pending.isEmpty else { return nil }
        let part = pending.removeFirst()
        inFlight.insert(part)
        partialBytes[part] = partProgress[part] ?? 0
        return part
    }

    /// A request for a part begins (the first or a retry): where it starts, from the part's start
    /// (after its verified blocks when the server takes ranges); its progress counts from there.
    mutating func beginFetch(part: Int, ranged: Bool) -> Int64 {
        let start = ranged ? partProgress[part] ?? 0 : 0
        partialBytes[part] = start
        return start
    }

    /// `bytes` more of a part are written.
    mutating func wrote(_ bytes: Int, part: Int) {
        partialBytes[part, default: 0] += Int64(bytes)
        fetched += Int64(bytes)
    }

    /// The first `bytes` of a part in flight are written and their blocks matched; true when that
    /// is news (the control file should record it).
    mutating func verified(part: Int, bytes: Int64) -> Bool {
        guard inFlight.contains(part), bytes > (partProgress[part] ?? 0) else { return false }
        partProgress[part] = bytes
        return true
    }

    // MARK: Landing

    /// A part's bytes are all written. `digests` are the SHA-256 of its blocks computed as they
    /// streamed in (nil: not computed). Throws `FerryClientError` when a block keeps arriving
    /// corrupted.
    mutating func landed(part: Int, digests: [Int: String]?) throws -> Landing {
        inFlight.remove(part)
        partialBytes[part] = nil
        partProgress[part] = nil
        attempts[part] = nil
        refreshesOfPart[part] = nil
        if startedBefore.remove(part) != nil {
            resent += Int64(plan.range(ofPart: part).count) - (resumedAt[part] ?? 0)
        }
        guard !plan.blockSHA256.isEmpty else {
            done.insert(part)
            settled.insert(part)
            return .done
        }
        if let digests {
            let bad = digests.filter { block, digest in
                block >= plan.blockSHA256.count || plan.blockSHA256[block] != digest
            }
            if let first = bad.keys.min() {
                try badBlock(first, parts: part...part)
                return .corrupted(block: first)
            } else {
                done.insert(part)
                settled.insert(part)
                // Blocks before where this fetch started were checked earlier (on disk at resume).
                verifiedBlocks.formUnion(plan.blocks(ofPart: part))
            }
            return .done
        }
        done.insert(part)
        let whole = plan.blocks(ofPart: part).filter { block in
            !verifiedBlocks.contains(block) && plan.parts(ofBlock: block).allSatisfy { done.contains($0) }
        }
        return whole.isEmpty ? .done : .check(Array(whole))
    }

    /// A block read back from disk matched its SHA-256 or did not (then its parts are queued again).
    mutating func blockChecked(_ block: Int, matches: Bool) throws {
        if matches {
            verifiedBlocks.insert(block)
        } else {
            try badBlock(block, parts: plan.parts(ofBlock: block))
        }
    }

    /// Counts a corrupted block and queues its parts again (three strikes per block).
    private mutating func badBlock(_ block: Int, parts: ClosedRange<Int>) throws {
        badBlocks += 1
        badBlockCounts[block, default: 0] += 1
        guard badBlockCounts[block, default: 0] <= Self.maxBadBlockRetries else {
            throw FerryClientError(
                .checksum,
                "Block \(block + 1) of the file arrived corrupted \(badBlockCounts[block, default: 0]) times; stopped.")
        }
        for p in parts {
            done.remove(p)
            settled.remove(p)
            partProgress[p] = nil
            resent += Int64(plan.range(ofPart: p).count)
            if !pending.contains(p) && !inFlight.contains(p) { pending.append(p) }
        }
    }

    /// Blocks whole on disk from an earlier run, to check before resuming, and the verified
    /// prefixes of parts taken up mid-way (each block of which is checked too).
    var blocksToRecheck: (whole: [Int], prefixes: [(part: Int, blocks: [Int], bytes: Int64)]) {
        guard !plan.blockSHA256.isEmpty, !startsEmpty else { return ([], []) }
        let whole = (0..<plan.blockSHA256.count).filter { block in
            plan.parts(ofBlock: block).allSatisfy { done.contains($0) }
        }
        let prefixes = partProgress.sorted(by: { $0.key < $1.key }).map { part, bytes in
            let first = plan.range(ofPart: part).lowerBound
            let blocks = plan.blocks(ofPart: part).filter { plan.range(ofBlock: $0).upperBound < first + bytes }
            return (part, Array(blocks), bytes)
        }
        return (whole, prefixes)
    }

    /// What the re-check before resuming found: the blocks that matched, and per part taken up
    /// mid-way how many of its first bytes still hold. Parts with bad bytes are fetched again;
    /// returns how many.
    mutating func rechecked(goodBlocks: Set<Int>, badBlocks bad: Set<Int>, prefixes: [Int: Int64]) -> Int {
        verifiedBlocks.formUnion(goodBlocks)
        var redo: Set<Int> = []
        for block in bad { redo.formUnion(plan.parts(ofBlock: block)) }
        for (part, good) in prefixes where good < (partProgress[part] ?? 0) {
            redo.insert(part)
            partProgress[part] = good > 0 ? good : nil
            resumedAt[part] = partProgress[part]
        }
        guard !redo.isEmpty else { return 0 }
        done.subtract(redo)
        settled.subtract(redo)
        pending = (0..<plan.partCount).filter { !done.contains($0) && !inFlight.contains($0) }
        return redo.count
    }

    /// Every part is final (the whole-file hash may read them all).
    mutating func settleAll() { settled = Set(0..<plan.partCount) }

    // MARK: Failures and refreshes

    /// A request of a part failed under link `generation`: what to do about it.
    mutating func failed(part: Int, _ failure: Failure, generation seen: Int) -> Action {
        switch failure {
        case .replaced(let reason):
            return .restart(reason: reason)
        case .expired(let message):
            guard plan.refreshable else {
                return .stop(
                    .expired, message: "\(message) A plain URL cannot be refreshed; ask for a new link.",
                    code: "link_expired")
            }
            refreshesOfPart[part, default: 0] += 1
            guard refreshesOfPart[part, default: 0] <= Self.maxRefreshesPerPart else {
                return .stop(.forbidden, message: "The link keeps being refused even when fresh: \(message)", code: nil)
            }
            return .refresh(generation: seen)
        case .network(let message):
            attempts[part, default: 0] += 1
            let attempt = attempts[part, default: 0]
            guard attempt < maxAttempts else {
                return .stop(
                    .network,
                    message:
                        "The network failed \(attempt) times in a row (\(message)). Run the same command again to resume.",
                    code: nil)
            }
            return .retry(attempt: attempt, message: "part \(part + 1): \(message); trying again")
        }
    }

    /// What a refresh found.
    enum Refreshed: Equatable, Sendable {
        /// Someone else refreshed since `generation` was seen: nothing to do.
        case alreadyFresh
        /// The fresh link is in the plan; the download was at `percent`.
        case refreshed(percent: Int)
        /// The fresh plan is of another version.
        case replaced(reason: String)
    }

    /// A fresh plan arrived for those who saw `generation` expire.
    mutating func refreshed(seen: Int, fresh: DownloadPlan) -> Refreshed {
        guard seen == generation else { return .alreadyFresh }
        guard fresh.etag == plan.etag, fresh.size == plan.size else {
            return .replaced(reason: "The file was replaced on the server.")
        }
        plan.url = fresh.url
        plan.rangeValidator = fresh.rangeValidator
        generation += 1
        refreshes += 1
        let (bytes, total) = progress
        return .refreshed(percent: total > 0 ? Int(bytes * 100 / total) : 0)
    }
}
