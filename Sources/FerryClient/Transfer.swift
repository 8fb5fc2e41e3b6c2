import Crypto
import FerryCore
import Foundation
import NIOCore
import _NIOFileSystem

#if canImport(Glibc)
    import Glibc
#endif

/// One download in progress: the plan, which parts are done, the data file and the control file.
actor Transfer {
    private(set) var plan: DownloadPlan
    private var generation = 0
    let source: String
    nonisolated let destination: String
    let dataPath: String
    let controlPath: String
    let events: @Sendable (DownloadEvent) -> Void
    private var handle: ReadWriteFileHandle?
    private var done: Set<Int>
    private var inFlight: Set<Int> = []
    private var pending: [Int]
    /// Parts an earlier run had in flight: their bytes count as resent when fetched again.
    private var startedBefore: Set<Int>
    /// Verified bytes at the start of parts not done (whole blocks that matched): a part fetched
    /// again continues after them, in this run (a retry) or the next (saved in the control file).
    private var partProgress: [Int: Int64]
    /// Where the parts an earlier run had in flight were taken up (their resent bytes start there).
    private var resumedAt: [Int: Int64]
    private var verifiedBlocks: Set<Int> = []
    private var badBlockCounts: [Int: Int] = [:]
    private var partialBytes: [Int: Int64] = [:]
    private var resent: Int64 = 0
    private var fetched: Int64 = 0
    private var refreshes = 0
    private var badBlocks = 0
    /// Parts whose bytes are final (written, and verified where block hashes are known): the
    /// whole-file hash may read them.
    private var settled: Set<Int> = []
    /// The whole-file SHA-256 over the settled prefix, advanced while other parts download.
    private var wholeHasher = SHA256()
    private var hashedParts = 0
    private var hashing = false

    init(
        plan: DownloadPlan, source: String, destination: String, done: Set<Int>, startedBefore: Set<Int>,
        progress: [Int: Int64] = [:], handle: ReadWriteFileHandle, events: @escaping @Sendable (DownloadEvent) -> Void
    ) {
        partProgress = progress
        resumedAt = progress
        self.plan = plan
        self.source = source
        self.destination = destination
        dataPath = destination + ".ferry-part.data"
        controlPath = destination + ".ferry-part"
        self.done = done
        self.startedBefore = startedBefore
        self.handle = handle
        self.events = events
        pending = (0..<plan.partCount).filter { !done.contains($0) }
    }

    /// A transfer dropped without `close()` (its task cancelled at the wrong moment) still
    /// closes its file; SwiftNIO traps on a handle released open.
    deinit { _ = try? handle?.detachUnsafeFileDescriptor().close() }

    /// Opens a transfer, resuming from a matching control file: parts recorded as done are kept
    /// once their blocks check out on disk. A control file for another version starts afresh.
    static func open(
        plan: DownloadPlan, source: String, destination: String, events: @escaping @Sendable (DownloadEvent) -> Void
    ) async throws -> Transfer {
        let controlPath = destination + ".ferry-part"
        let dataPath = destination + ".ferry-part.data"
        let manager = FileManager.default
        ControlFile.removeLeftovers(of: controlPath)
        var done: Set<Int> = []
        var startedBefore: Set<Int> = []
        var progress: [Int: Int64] = [:]
        if let data = manager.contents(atPath: controlPath),
            let control = try? JSONDecoder().decode(ControlFile.self, from: data),
            manager.fileExists(atPath: dataPath)
        {
            // Resuming needs ranges and a strong validator: without one, a changed file could not be told.
            if control.size == plan.size, control.etag == plan.etag, control.partSize == plan.partSize,
                plan.acceptsRanges, plan.etag != nil
            {
                done = Set(control.done.filter { $0 >= 0 && $0 < plan.partCount })
                startedBefore = Set(control.inFlight)
                progress = Self.validProgress(
                    control.progress ?? [:], plan: plan, inFlight: startedBefore.subtracting(done))
            } else {
                events(.restart(reason: "The partial download is of another version of the file; starting over."))
            }
        }
        if done.isEmpty && progress.isEmpty { try? manager.removeItem(atPath: dataPath) }
        if !manager.fileExists(atPath: dataPath) {
            guard manager.createFile(atPath: dataPath, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw FerryClientError(.unexpected, "Cannot create \(dataPath).")
            }
        }
        let handle: ReadWriteFileHandle
        do {
            handle = try await FileSystem.shared.openFile(
                forReadingAndWritingAt: FilePath(dataPath), options: .modifyFile(createIfNecessary: false))
        } catch {
            throw DiskSpace.writeError(error, path: dataPath, destination: destination)
        }
        do {
            try await handle.resize(to: .bytes(plan.size))
            try await handle.withUnsafeDescriptor { descriptor in
                try DiskSpace.reserve(descriptor.rawValue, bytes: plan.size, destination: destination)
            }
        } catch {
            // SwiftNIO traps on a handle released open. A download that had nothing yet leaves nothing.
            _ = try? await handle.close()
            if done.isEmpty && progress.isEmpty { try? manager.removeItem(atPath: dataPath) }
            throw DiskSpace.writeError(error, path: dataPath, destination: destination)
        }
        let transfer = Transfer(
            plan: plan, source: source, destination: destination, done: done, startedBefore: startedBefore,
            progress: progress, handle: handle, events: events)
        try await transfer.recheckBlocksOnDisk()
        await transfer.settleDone()
        try await transfer.saveControl()
        return transfer
    }

    /// Parts kept from an earlier run (re-checked on disk) are final.
    func settleDone() { settled = done }

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

    /// A request for a part begins (the first or a retry): where it starts, from the part's start
    /// (after its verified blocks when the server takes ranges); its progress counts from there.
    func beginFetch(part: Int, ranged: Bool) -> Int64 {
        let start = ranged ? partProgress[part] ?? 0 : 0
        partialBytes[part] = start
        return start
    }

    /// The first `bytes` of a part in flight are written and their blocks matched: a part fetched
    /// again (a retry now, a resume later) starts after them.
    func verified(part: Int, bytes: Int64) throws {
        guard inFlight.contains(part), bytes > (partProgress[part] ?? 0) else { return }
        partProgress[part] = bytes
        try saveControl()
    }

    // MARK: Scheduling

    func remainingParts() -> [Int] { pending + Array(inFlight) }

    /// The next part to fetch, or nil when none is waiting.
    func nextPart() -> Int? {
        guard !pending.isEmpty else { return nil }
        let part = pending.removeFirst()
        inFlight.insert(part)
        partialBytes[part] = partProgress[part] ?? 0
        try? saveControl()
        return part
    }

    func current() -> (DownloadPlan, Int) { (plan, generation) }

    func progress() -> (Int64, Int64) {
        let complete = done.reduce(Int64(0)) { $0 + Int64(plan.range(ofPart: $1).count) }
        return (complete + partialBytes.values.reduce(0, +), plan.size)
    }

    func counts() -> (refreshes: Int, badBlocks: Int, fetched: Int64) { (refreshes, badBlocks, fetched) }

    /// Writes a chunk of a part at its offset.
    func write(_ chunk: ByteBuffer, at offset: Int64, part: Int) async throws {
        guard let handle else { throw FerryClientError(.unexpected, "The download was closed.") }
        do {
            try await handle.write(contentsOf: chunk.readableBytesView, toAbsoluteOffset: offset)
        } catch {
            throw DiskSpace.writeError(error, path: dataPath, destination: destination)
        }
        partialBytes[part, default: 0] += Int64(chunk.readableBytes)
        fetched += Int64(chunk.readableBytes)
    }

    /// Whether parts are whole blocks, so a part's blocks are checked as its bytes stream in.
    nonisolated static func streamsBlocks(_ plan: DownloadPlan) -> Bool {
        !plan.blockSHA256.isEmpty && plan.partSize % plan.blockSize == 0
    }

    /// Records a part as done. `digests` are the SHA-256 of its blocks computed while it streamed in
    /// (nil: read them back from disk). A bad block's parts are fetched again.
    func completed(part: Int, digests: [Int: String]? = nil) async throws {
        inFlight.remove(part)
        partialBytes[part] = nil
        partProgress[part] = nil
        if startedBefore.remove(part) != nil {
            resent += Int64(plan.range(ofPart: part).count) - (resumedAt[part] ?? 0)
        }
        guard !plan.blockSHA256.isEmpty else {
            done.insert(part)
            settled.insert(part)
            try saveControl()
            return
        }
        if let digests {
            let bad = digests.filter { block, digest in
                block >= plan.blockSHA256.count || plan.blockSHA256[block] != digest
            }
            if bad.isEmpty {
                done.insert(part)
                settled.insert(part)
                // Blocks before where this fetch started were checked earlier (on disk at resume).
                verifiedBlocks.formUnion(plan.blocks(ofPart: part))
            } else {
                try badBlock(bad.keys.min() ?? 0, parts: part...part)
            }
            try saveControl()
            return
        }
        done.insert(part)
        for block in plan.blocks(ofPart: part) where !verifiedBlocks.contains(block) {
            let parts = plan.parts(ofBlock: block)
            guard parts.allSatisfy({ done.contains($0) }) else { continue }
            if try await blockMatches(block) {
                verifiedBlocks.insert(block)
                continue
            }
            try badBlock(block, parts: parts)
        }
        try saveControl()
    }

    /// Counts a corrupted block and queues its parts again (three strikes per block).
    func badBlock(_ block: Int, parts: ClosedRange<Int>) throws {
        badBlocks += 1
        badBlockCounts[block, default: 0] += 1
        guard badBlockCounts[block, default: 0] <= 3 else {
            throw FerryClientError(
                .checksum,
                "Block \(block + 1) of the file arrived corrupted \(badBlockCounts[block, default: 0]) times; stopped. The partial data is kept in \(dataPath)."
            )
        }
        events(.retry(message: "block \(block + 1) did not match its SHA-256; fetching it again"))
        for p in parts {
            done.remove(p)
            settled.remove(p)
            partProgress[p] = nil
            resent += Int64(plan.range(ofPart: p).count)
            if !pending.contains(p) && !inFlight.contains(p) { pending.append(p) }
        }
    }

    /// Hashes the settled parts that continue the hashed prefix, reading them back from disk (the
    /// page cache, just written). Called after each part, so hashing overlaps the transfer; one
    /// caller at a time. The hashing runs outside the actor (a 32 MiB part takes tens of
    /// milliseconds), so the other parts' writes go on meanwhile.
    nonisolated func advanceWholeHash() async throws {
        while var work = await claimWholeHash() {
            do {
                try await Self.feed(work.range, from: work.handle, into: &work.hasher)
            } catch {
                await releaseWholeHash(nil, through: work.lastPart)
                throw error
            }
            await releaseWholeHash(work, through: work.lastPart)
        }
    }

    /// A stretch of settled parts to hash, handed from the actor to one hashing caller.
    struct WholeHashWork: @unchecked Sendable {
        // Unchecked for `SHA256`, a value the swift-crypto on Linux does not mark Sendable: the
        // claimant works on its copy alone and hands it back; `hashing` keeps it to one claimant.
        var range: ClosedRange<Int64>
        var lastPart: Int
        var hasher: SHA256
        var handle: ReadWriteFileHandle
    }

    /// The next stretch of settled parts after the hashed prefix, with the hash so far.
    private func claimWholeHash() -> WholeHashWork? {
        guard !hashing, Self.streamsBlocks(plan) || plan.blockSHA256.isEmpty, let handle else { return nil }
        var last = hashedParts - 1
        while last + 1 < plan.partCount, settled.contains(last + 1) { last += 1 }
        guard last >= hashedParts else { return nil }
        hashing = true
        let range = plan.range(ofPart: hashedParts).lowerBound...plan.range(ofPart: last).upperBound
        return WholeHashWork(range: range, lastPart: last, hasher: wholeHasher, handle: handle)
    }

    /// Stores the advanced hash (nil: the read failed, nothing advances).
    private func releaseWholeHash(_ work: WholeHashWork?, through lastPart: Int) {
        if let work {
            wholeHasher = work.hasher
            hashedParts = lastPart + 1
        }
        hashing = false
    }

    private nonisolated static func feed(
        _ range: ClosedRange<Int64>, from handle: ReadWriteFileHandle, into hasher: inout SHA256
    ) async throws {
        var offset = range.lowerBound
        while offset <= range.upperBound {
            let length = min(Int64(4 << 20), range.upperBound + 1 - offset)
            let chunk = try await handle.readChunk(fromAbsoluteOffset: offset, length: .bytes(length))
            guard chunk.readableBytes > 0 else { break }
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            offset += Int64(chunk.readableBytes)
        }
    }

    /// Checks blocks fully on disk against the manifest; their parts are fetched again when not.
    func recheckBlocksOnDisk() async throws {
        guard !plan.blockSHA256.isEmpty, !done.isEmpty || !partProgress.isEmpty else { return }
        var bad: Set<Int> = []
        for block in 0..<plan.blockSHA256.count {
            let parts = plan.parts(ofBlock: block)
            guard parts.allSatisfy({ done.contains($0) }) else { continue }
            if try await blockMatches(block) {
                verifiedBlocks.insert(block)
            } else {
                bad.formUnion(parts)
            }
        }
        // Parts taken up mid-way: their verified blocks are checked again too.
        for (part, bytes) in partProgress.sorted(by: { $0.key < $1.key }) {
            let first = plan.range(ofPart: part).lowerBound
            var good: Int64 = 0
            for block in plan.blocks(ofPart: part) where plan.range(ofBlock: block).upperBound < first + bytes {
                guard try await blockMatches(block) else { break }
                good = plan.range(ofBlock: block).upperBound + 1 - first
            }
            if good < bytes {
                bad.insert(part)
                partProgress[part] = good > 0 ? good : nil
                resumedAt[part] = partProgress[part]
            }
        }
        if !bad.isEmpty {
            events(.retry(message: "\(bad.count) part(s) on disk did not match their SHA-256; fetching them again"))
            done.subtract(bad)
            pending = (0..<plan.partCount).filter { !done.contains($0) }
        }
    }

    func blockMatches(_ block: Int) async throws -> Bool {
        guard block < plan.blockSHA256.count else { return false }
        let range = plan.range(ofBlock: block)
        return try await sha256(of: range) == plan.blockSHA256[block]
    }

    func sha256(of range: ClosedRange<Int64>) async throws -> String {
        guard let handle else { throw FerryClientError(.unexpected, "The download was closed.") }
        var hasher = SHA256()
        var offset = range.lowerBound
        while offset <= range.upperBound {
            let length = min(Int64(1 << 20), range.upperBound + 1 - offset)
            let chunk = try await handle.readChunk(fromAbsoluteOffset: offset, length: .bytes(length))
            guard chunk.readableBytes > 0 else { break }
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            offset += Int64(chunk.readableBytes)
        }
        return Hex.encode(hasher.finalize())
    }

    // MARK: Refresh

    /// Fetches a fresh plan once for everyone who saw `seen` expire; a new version restarts.
    func refresh(seen: Int, using planner: @Sendable () async throws -> DownloadPlan) async throws {
        guard seen == generation else { return }
        let fresh = try await planner()
        guard seen == generation else { return }
        guard fresh.etag == plan.etag, fresh.size == plan.size else {
            throw Restart(reason: "The file was replaced on the server.")
        }
        plan.url = fresh.url
        plan.rangeValidator = fresh.rangeValidator
        generation += 1
        refreshes += 1
        let (bytes, total) = progress()
        let percent = total > 0 ? Int(bytes * 100 / total) : 0
        events(.refresh(message: "The link expired; fetched a fresh one and resumed at \(percent)%."))
        try saveControl()
    }

    // MARK: Control file and the end

    func saveControl() throws {
        let control = ControlFile(
            source: source, url: nil, size: plan.size, etag: plan.etag, sha256: plan.sha256,
            partSize: plan.partSize, done: done.sorted(), inFlight: (inFlight.union(startedBefore)).sorted(),
            progress: partProgress.isEmpty
                ? nil : Dictionary(uniqueKeysWithValues: partProgress.map { (String($0.key), $0.value) }))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        do {
            try control.save(to: controlPath, encoder: encoder)
        } catch {
            throw DiskSpace.writeError(error, path: controlPath, destination: destination)
        }
    }

    /// Verifies the whole file and moves it into place.
    func finish() async throws -> Downloader.Outcome {
        guard done.count == plan.partCount else {
            throw FerryClientError(.network, "Parts are still missing; run the same command again to resume.")
        }
        let digest: String
        if Self.streamsBlocks(plan) || plan.blockSHA256.isEmpty {
            // Most of the file was hashed while it downloaded; only the rest is read now.
            // Every worker has ended (and with it every earlier advance): the rest is read here.
            settled = Set(0..<plan.partCount)
            try await advanceWholeHash()
            digest = Hex.encode(wholeHasher.finalize())
        } else {
            digest =
                plan.size == 0 ? Hex.encode(SHA256.hash(data: [UInt8]())) : try await sha256(of: 0...(plan.size - 1))
        }
        if let expected = plan.sha256, expected != digest {
            throw FerryClientError(
                .checksum,
                "The download's SHA-256 is \(digest) but the server published \(expected). Nothing was deleted: the data is in \(dataPath)."
            )
        }
        try await close()
        guard rename(dataPath, destination) == 0 else {
            throw FerryClientError(.unexpected, "Cannot move the download to \(destination) (errno \(errno)).")
        }
        try? FileManager.default.removeItem(atPath: controlPath)
        ControlFile.removeLeftovers(of: controlPath)
        events(.done(path: destination, sha256: digest, bytes: plan.size, resentBytes: resent))
        return Downloader.Outcome(
            path: destination, sha256: digest, bytes: plan.size, resentBytes: resent, fetchedBytes: fetched,
            refreshes: refreshes,
            badBlocks: badBlocks)
    }

    func close() async throws {
        guard let handle else { return }
        self.handle = nil
        try await uncancelled { try await handle.close() }
    }

    /// Closes and removes the partial data and the control file (before a restart).
    func discard() async {
        try? await close()
        try? FileManager.default.removeItem(atPath: dataPath)
        try? FileManager.default.removeItem(atPath: controlPath)
        ControlFile.removeLeftovers(of: controlPath)
    }
}
