import Crypto
import FerryCore
import Foundation
import NIOCore
import _NIOFileSystem

#if canImport(Glibc)
    import Glibc
#endif

/// One download in progress: the data file, the control file and the whole-file hash, around a
/// `TransferState` that decides (which parts are done, waiting, to fetch again, to refresh).
actor Transfer {
    private(set) var state: TransferState
    let source: String
    nonisolated let destination: String
    let dataPath: String
    let controlPath: String
    let events: @Sendable (DownloadEvent) -> Void
    private var handle: ReadWriteFileHandle?
    /// The whole-file SHA-256 over the settled prefix, advanced while other parts download.
    private var wholeHasher = SHA256()
    private var hashedParts = 0
    private var hashing = false

    var plan: DownloadPlan { state.plan }

    init(
        state: TransferState, source: String, destination: String, handle: ReadWriteFileHandle,
        events: @escaping @Sendable (DownloadEvent) -> Void
    ) {
        self.state = state
        self.source = source
        self.destination = destination
        dataPath = destination + ".ferry-part.data"
        controlPath = destination + ".ferry-part"
        self.handle = handle
        self.events = events
    }

    /// A transfer dropped without `close()` (its task cancelled at the wrong moment) still
    /// closes its file; SwiftNIO traps on a handle released open.
    deinit { _ = try? handle?.detachUnsafeFileDescriptor().close() }

    /// Opens a transfer, resuming from a matching control file: parts recorded as done are kept
    /// once their blocks check out on disk. A control file for another version starts afresh.
    static func open(
        plan: DownloadPlan, source: String, destination: String, maxAttempts: Int,
        events: @escaping @Sendable (DownloadEvent) -> Void
    ) async throws -> Transfer {
        let controlPath = destination + ".ferry-part"
        let dataPath = destination + ".ferry-part.data"
        let manager = FileManager.default
        ControlFile.removeLeftovers(of: controlPath)
        let control =
            manager.fileExists(atPath: dataPath)
            ? manager.contents(atPath: controlPath).flatMap { try? JSONDecoder().decode(ControlFile.self, from: $0) }
            : nil
        if TransferState.resume(control, plan: plan) == .otherVersion {
            events(.restart(reason: "The partial download is of another version of the file; starting over."))
        }
        let state = TransferState(plan: plan, control: control, maxAttempts: maxAttempts)
        if state.startsEmpty { try? manager.removeItem(atPath: dataPath) }
        if !manager.fileExists(atPath: dataPath) {
            // The mode of any new file (0666 less the umask), as curl, wget and aria2c make it: the
            // result is renamed into place and a download into a shared or served directory must
            // be readable there. (It was 0600.) The control file, which may hold a link, stays 0600.
            if let failure = createFileUnderUmask(dataPath) {
                throw FerryClientError(.unexpected, "Cannot create \(dataPath): \(failure).")
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
            if state.startsEmpty { try? manager.removeItem(atPath: dataPath) }
            throw DiskSpace.writeError(error, path: dataPath, destination: destination)
        }
        let transfer = Transfer(state: state, source: source, destination: destination, handle: handle, events: events)
        try await transfer.recheckBlocksOnDisk()
        try await transfer.saveControl()
        return transfer
    }

    /// A request for a part begins (the first or a retry): where it starts in the part.
    func beginFetch(part: Int, ranged: Bool) -> Int64 {
        state.beginFetch(part: part, ranged: ranged)
    }

    /// The first `bytes` of a part in flight are written and their blocks matched: a part fetched
    /// again (a retry now, a resume later) starts after them.
    func verified(part: Int, bytes: Int64) throws {
        if state.verified(part: part, bytes: bytes) { try saveControl() }
    }

    // MARK: Scheduling

    func remainingParts() -> [Int] { state.remainingParts }

    /// The next part to fetch, or nil when none is waiting.
    func nextPart() -> Int? {
        guard let part = state.nextPart() else { return nil }
        try? saveControl()
        return part
    }

    func current() -> (DownloadPlan, Int) { (state.plan, state.generation) }

    func progress() -> (Int64, Int64) { state.progress }

    func counts() -> (refreshes: Int, badBlocks: Int, fetched: Int64) {
        (state.refreshes, state.badBlocks, state.fetched)
    }

    /// What to do about a failed request of a part (see `TransferState.failed`).
    func failed(part: Int, _ failure: TransferState.Failure, generation: Int) -> TransferState.Action {
        state.failed(part: part, failure, generation: generation)
    }

    /// Writes a chunk of a part at its offset.
    func write(_ chunk: ByteBuffer, at offset: Int64, part: Int) async throws {
        guard let handle else { throw FerryClientError(.unexpected, "The download was closed.") }
        do {
            try await handle.write(contentsOf: chunk.readableBytesView, toAbsoluteOffset: offset)
        } catch {
            throw DiskSpace.writeError(error, path: dataPath, destination: destination)
        }
        state.wrote(chunk.readableBytes, part: part)
    }

    /// Whether parts are whole blocks, so a part's blocks are checked as its bytes stream in.
    nonisolated static func streamsBlocks(_ plan: DownloadPlan) -> Bool { TransferState.streamsBlocks(plan) }

    /// Records a part as landed. `digests` are the SHA-256 of its blocks computed while it streamed
    /// in (nil: blocks now whole on disk are read back). A bad block's parts are fetched again.
    func completed(part: Int, digests: [Int: String]? = nil) async throws {
        switch try withDataPath({ try state.landed(part: part, digests: digests) }) {
        case .done:
            break
        case .corrupted(let block):
            reportBadBlock(block)
        case .check(let blocks):
            for block in blocks {
                let matches = try await blockMatches(block)
                try withDataPath { try state.blockChecked(block, matches: matches) }
                if !matches { reportBadBlock(block) }
            }
        }
        try saveControl()
    }

    private func reportBadBlock(_ block: Int) {
        events(.retry(message: "block \(block + 1) did not match its SHA-256; fetching it again"))
    }

    /// Runs a state change whose checksum failure should say where the partial data is kept.
    private func withDataPath<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as FerryClientError where error.kind == .checksum {
            throw FerryClientError(.checksum, error.message + " The partial data is kept in \(dataPath).")
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
        guard !hashing, !plan.blocksProveWholeFile, Self.streamsBlocks(plan) || plan.blockSHA256.isEmpty,
            let handle
        else { return nil }
        var last = hashedParts - 1
        while last + 1 < plan.partCount, state.settled.contains(last + 1) { last += 1 }
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

    /// Checks what an earlier run left on disk against the manifest (whole blocks of done parts,
    /// and the verified start of parts taken up mid-way); what does not match is fetched again.
    func recheckBlocksOnDisk() async throws {
        let (whole, prefixes) = state.blocksToRecheck
        var good: Set<Int> = []
        var bad: Set<Int> = []
        for block in whole {
            if try await blockMatches(block) { good.insert(block) } else { bad.insert(block) }
        }
        var holding: [Int: Int64] = [:]
        for (part, blocks, _) in prefixes {
            let first = plan.range(ofPart: part).lowerBound
            var bytes: Int64 = 0
            for block in blocks {
                guard try await blockMatches(block) else { break }
                bytes = plan.range(ofBlock: block).upperBound + 1 - first
            }
            holding[part] = bytes
        }
        let redo = state.rechecked(goodBlocks: good, badBlocks: bad, prefixes: holding)
        if redo > 0 {
            events(.retry(message: "\(redo) part(s) on disk did not match their SHA-256; fetching them again"))
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
        try await Self.feed(range, from: handle, into: &hasher)
        return Hex.encode(hasher.finalize())
    }

    // MARK: Refresh

    /// Fetches a fresh plan once for everyone who saw `seen` expire; nil when the link is fresh
    /// again, else why the download must start over (a new version).
    func refresh(seen: Int, using planner: @Sendable () async throws -> DownloadPlan) async throws -> String? {
        guard seen == state.generation else { return nil }
        let fresh = try await planner()
        switch state.refreshed(seen: seen, fresh: fresh) {
        case .alreadyFresh:
            return nil
        case .replaced(let reason):
            return reason
        case .refreshed(let percent):
            events(.refresh(message: "The link expired; fetched a fresh one and resumed at \(percent)%."))
            try saveControl()
            return nil
        }
    }

    // MARK: Control file and the end

    func saveControl() throws {
        let control = state.control(source: source)
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
        guard state.isComplete else {
            throw FerryClientError(.network, "Parts are still missing; run the same command again to resume.")
        }
        let digest: String
        if plan.blocksProveWholeFile, let published = plan.sha256,
            state.verifiedBlocks.count == plan.blockSHA256.count
        {
            // Every block matched the manifest, which came with the file's SHA-256: the whole file
            // is proven without reading it again (1 GiB less to read and hash).
            digest = published
        } else if !plan.blocksProveWholeFile, Self.streamsBlocks(plan) || plan.blockSHA256.isEmpty {
            // Most of the file was hashed while it downloaded; only the rest is read now.
            // Every worker has ended (and with it every earlier advance): the rest is read here.
            state.settleAll()
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
        events(.done(path: destination, sha256: digest, bytes: plan.size, resentBytes: state.resent))
        return Downloader.Outcome(
            path: destination, sha256: digest, bytes: plan.size, resentBytes: state.resent,
            fetchedBytes: state.fetched, refreshes: state.refreshes, badBlocks: state.badBlocks)
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

/// Creates an empty file with mode 0666 less the umask; the system's reason if it cannot.
private func createFileUnderUmask(_ path: String) -> String? {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o666)
    guard descriptor >= 0 else { return String(cString: strerror(errno)) }
    close(descriptor)
    return nil
}
