import AsyncHTTPClient
import FerryClient
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The segmented downloader against a live Ferry on loopback.
@Suite struct DownloaderTests {
    static func sha(_ path: String) throws -> String { try TestData.sha256(file: path) }

    /// No `.ferry-part` files or data left beside a finished download.
    static func leftovers(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.contains(".ferry-part") }
    }

    @Test func segmentedDownloadOfAFerryFileIsVerifiedAndLeavesNothingBehind() async throws {
        try await LiveFerry.run { ferry in
            let bytes = TestData.bytes(40 * 1024 * 1024 + 123)
            let file = try await ferry.upload(bytes, name: "../../etc/evil name.bin")
            let out = try TemporaryDirectory("ferry-get")
            defer { out.remove() }
            let log = EventLog()
            let result = try await ferry.downloader().download(
                DownloadOptions(source: .file(id: file.id), directory: out.path, connections: 4), events: log.record)
            // The server's name is used, but never as a path.
            #expect(result.path == out.path + "/evil name.bin")
            #expect(try Self.sha(result.path) == TestData.sha256(bytes))
            #expect(result.sha256 == file.sha256)
            #expect(result.resentBytes == 0)
            #expect(Self.leftovers(out.path).isEmpty)
            #expect(log.all.contains { if case .done = $0 { true } else { false } })
            if case .started(_, _, let total, let have, let connections)? = log.all.first {
                #expect(total == Int64(bytes.count) && have == 0 && connections == 4)
            } else {
                Issue.record("no started event first")
            }
        }
    }

    @Test func anOutputThatIsADirectoryGetsTheServersNameInside() async throws {
        try await LiveFerry.run { ferry in
            let bytes = TestData.bytes(100_000, seed: 12)
            let file = try await ferry.upload(bytes, name: "report.csv")
            let out = try TemporaryDirectory("ferry-get-dir")
            defer { out.remove() }
            for destination in [out.path, out.path + "/"] {
                let result = try await ferry.downloader().download(
                    DownloadOptions(source: .file(id: file.id), destination: destination), events: { _ in })
                #expect(result.path == out.path + "/report.csv")
                #expect(try Self.sha(result.path) == TestData.sha256(bytes))
                try FileManager.default.removeItem(atPath: result.path)
            }
            // A directory that does not exist is a usage error before anything is fetched.
            await #expect {
                _ = try await ferry.downloader().download(
                    DownloadOptions(source: .file(id: file.id), destination: out.path + "/missing/"), events: { _ in })
            } throws: { error in
                (error as? FerryClientError)?.kind == .usage
                    && (error as? FerryClientError)?.message.contains("does not exist") == true
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
        }
    }

    @Test func killedTenTimesAtRandomPointsAndResumedEndsWithTheRightBytes() async throws {
        try await LiveFerry.run { ferry in
            let bytes = TestData.bytes(48 * 1024 * 1024 + 5, seed: 7)
            let file = try await ferry.upload(bytes)
            let manifest = try await ferry.api().manifest(id: file.id)
            let out = try TemporaryDirectory("ferry-get")
            defer { out.remove() }
            let destination = out.appending("resumed.bin")
            let downloader = ferry.downloader()
            for round in 0..<10 {
                // Killed when the first part of the run lands: the others are on their way, cut wherever
                // they happen to be.
                let stopAfter = 1
                let parts = Mutex(0)
                let task = Task {
                    try await downloader.download(
                        {
                            var options = DownloadOptions(
                                source: .file(id: file.id), destination: destination, connections: 2)
                            options.afterPart = { _ in
                                // "kill -9": the task is cancelled mid-transfer, parts in flight.
                                if parts.withLock({
                                    $0 += 1; return $0
                                }) >= stopAfter {
                                    withUnsafeCurrentTask { $0?.cancel() }
                                }
                            }
                            return options
                        }(), events: { _ in })
                }
                _ = try? await task.value
                #expect(!FileManager.default.fileExists(atPath: destination), "round \(round): finished early")
                #expect(FileManager.default.fileExists(atPath: destination + ".ferry-part"))
            }
            let result = try await downloader.download(
                DownloadOptions(source: .file(id: file.id), destination: destination, connections: 2), events: { _ in })
            #expect(try Self.sha(destination) == TestData.sha256(bytes))
            // At most the parts that were on their way are fetched again.
            #expect(result.resentBytes <= 2 * manifest.partSize)
            #expect(Self.leftovers(out.path).isEmpty)
        }
    }

    /// A part cut mid-way is taken up after its blocks that were written and verified (saved in
    /// the control file as they land), not from its start; those blocks are checked on disk first,
    /// and one that no longer matches sends the whole part again.
    @Test(arguments: [false, true])
    func aPartCutMidwayIsTakenUpAfterItsVerifiedBlocks(_ tampered: Bool) async throws {
        try await LiveFerry.run { ferry in
            // Over 256 MiB: the plan's parts are 16 MiB, two 8 MiB blocks each.
            let bytes = TestData.bytes(260 * 1024 * 1024 + 7, seed: 21)
            let file = try await ferry.upload(bytes)
            let manifest = try await ferry.api().manifest(id: file.id)
            let (part, block) = (Int(manifest.partSize), Int(manifest.blockSize))
            #expect(part == 16 << 20 && block == 8 << 20)
            let out = try TemporaryDirectory("ferry-get")
            defer { out.remove() }
            let destination = out.appending("taken-up.bin")

            // What a run stopped mid-part leaves: every part done but part 15 (the 16th), whose
            // first block was written and verified and whose second was still arriving.
            var data = bytes
            let start = 15 * part
            for index in (start + block)..<(start + part) { data[index] = 0 }
            if tampered { data[start + 100] ^= 0xFF }
            try Data(data).write(to: URL(fileURLWithPath: destination + ".ferry-part.data"))
            let control: [String: Any] = [
                "version": 1, "source": file.id, "size": bytes.count, "etag": file.etag, "sha256": file.sha256,
                "part_size": part, "done": Array(0..<15) + [16], "in_flight": [15], "progress": ["15": block],
            ]
            try JSONSerialization.data(withJSONObject: control).write(
                to: URL(fileURLWithPath: destination + ".ferry-part"))

            let log = EventLog()
            let result = try await ferry.downloader().download(
                DownloadOptions(source: .file(id: file.id), destination: destination), events: log.record)
            #expect(try Self.sha(destination) == TestData.sha256(bytes))
            let expected = Int64(tampered ? part : part - block)
            #expect(result.fetchedBytes == expected)
            #expect(result.resentBytes == expected)
            #expect(log.all.contains { if case .retry = $0 { true } else { false } } == tampered)
            #expect(Self.leftovers(out.path).isEmpty)
        }
    }

    @Test func linksExpiringEveryFewRequestsAreRefreshedAndTheDownloadCompletes() async throws {
        let clock = ManualClock()
        try await LiveFerry.run(["FERRY_LINK_TTL": "1"], clock: clock) { ferry in
            let bytes = TestData.bytes(30 * 1024 * 1024, seed: 3)
            let file = try await ferry.upload(bytes)
            // From now on every reading of the clock moves it 150 ms: a 1 s link lasts a few requests.
            clock.step.withLock { $0 = 0.15 }
            let out = try TemporaryDirectory("ferry-get")
            defer { out.remove() }
            let log = EventLog()
            let result = try await ferry.downloader().download(
                DownloadOptions(source: .file(id: file.id), directory: out.path, connections: 2), events: log.record)
            #expect(try Self.sha(result.path) == TestData.sha256(bytes))
            #expect(result.refreshes >= 1)
            let messages = log.all.compactMap { if case .refresh(let m) = $0 { m } else { nil } }
            #expect(messages.first?.hasPrefix("The link expired; fetched a fresh one and resumed at ") == true)
        }
    }

    @Test func pausedPastExpiryResumesWithAFreshLink() async throws {
        let clock = ManualClock()
        try await LiveFerry.run(["FERRY_LINK_TTL": "1"], clock: clock) { ferry in
            let bytes = TestData.bytes(20 * 1024 * 1024, seed: 4)
            let file = try await ferry.upload(bytes)
            let out = try TemporaryDirectory("ferry-get")
            defer { out.remove() }
            let destination = out.appending("paused.bin")
            var options = DownloadOptions(source: .file(id: file.id), destination: destination, connections: 1)
            options.afterPart = { part in
                if part == 2 { withUnsafeCurrentTask { $0?.cancel() } }
            }
            let first = Task { [options] in try await ferry.downloader().download(options, events: { _ in }) }
            _ = try? await first.value
            clock.advance(by: 3600)  // paused for an hour: the link is long gone
            options.afterPart = nil
            let result = try await ferry.downloader().download(options, events: { _ in })
            #expect(try Self.sha(destination) == TestData.sha256(bytes))
            #expect(result.resentBytes <= 2 * 1024 * 1024)
        }
    }

    @Test func contentReplacedMidDownloadRestartsAndEndsWithTheNewBytes() async throws {
        try await LiveFerry.run { ferry in
            let old = TestData.bytes(20 * 1024 * 1024, seed: 5)
            let new = TestData.bytes(12 * 1024 * 1024 + 9, seed: 6)
            let file = try await ferry.upload(old)
            let out = try TemporaryDirectory("ferry-get")
            defer { out.remove() }
            var options = DownloadOptions(
                source: .file(id: file.id), destination: out.appending("x.bin"), connections: 2)
            let http = ferry.http
            let base = ferry.base
            let token = ferry.adminToken
            // The first part from the fourth on replaces the content; every part finishing after
            // that waits until the replacement is done, so no worker can fetch the rest of the old
            // version meanwhile (on a slow machine it did, and the download ended, rightly, with
            // the old version whole).
            let replacement = OnceTask()
            options.afterPart = { part in
                guard part >= 3 else { return }
                try await replacement.run {
                    var request = HTTPClientRequest(url: "\(base)/v1/files/\(file.id)/content")
                    request.method = .PUT
                    request.headers.add(name: "Authorization", value: "Bearer \(token)")
                    request.body = .bytes(ByteBuffer(bytes: new))
                    let response = try await http.execute(request, timeout: .seconds(30))
                    #expect(response.status == .ok)
                }
            }
            let log = EventLog()
            let result = try await ferry.downloader().download(options, events: log.record)
            #expect(try Self.sha(result.path) == TestData.sha256(new))
            #expect(result.restarts == 1)
            #expect(
                log.all.contains {
                    if case .restart(let reason) = $0 {
                        reason.contains("replaced") || reason.contains("changed")
                    } else {
                        false
                    }
                })
        }
    }

    @Test func grantRevokedMidDownloadStopsWithTheReason() async throws {
        try await LiveFerry.run { ferry in
            let bytes = TestData.bytes(20 * 1024 * 1024, seed: 8)
            let file = try await ferry.upload(bytes)
            let bob = try await ferry.member("bob")
            try await ferry.api().share(fileID: file.id, username: "bob")
            let out = try TemporaryDirectory("ferry-get")
            defer { out.remove() }
            let api = ferry.api()
            var options = DownloadOptions(
                source: .file(id: file.id), destination: out.appending("b.bin"), connections: 1)
            options.afterPart = { part in
                if part == 1 { try await api.unshare(fileID: file.id, username: "bob") }
            }
            do {
                _ = try await ferry.downloader(token: bob).download(options, events: { _ in })
                Issue.record("the download went on after the grant was revoked")
            } catch let error as FerryClientError {
                #expect(error.kind == .forbidden || error.kind == .notFound)
                #expect(error.exitCode == 4 || error.exitCode == 5)
                #expect(error.message.lowercased().contains("access") || error.message.contains("No such file"))
            }
            // What was fetched stays for a later resume; the destination was never created.
            #expect(!FileManager.default.fileExists(atPath: out.appending("b.bin")))
        }
    }

    @Test func aPlainLinkWorksAsAGenericSegmentedDownload() async throws {
        try await LiveFerry.run { ferry in
            let bytes = TestData.bytes(9 * 1024 * 1024 + 77, seed: 9)
            let file = try await ferry.upload(bytes, name: "plain.bin")
            let link = try await ferry.api().createLink(fileID: file.id, options: LinkOptions(ttlSeconds: 600))
            let out = try TemporaryDirectory("ferry-get")
            defer { out.remove() }
            let result = try await Downloader(http: ferry.http) { _ in nil }.download(
                DownloadOptions(
                    source: try DownloadSource(parsing: link.url), directory: out.path, connections: 3,
                    partSize: 1024 * 1024), events: { _ in })
            #expect(result.path == out.path + "/plain.bin")
            #expect(try Self.sha(result.path) == TestData.sha256(bytes))
            // A revoked plain link is a stop with the reason, not a retry loop.
            try await ferry.api().revokeLink(id: link.id)
            do {
                _ = try await Downloader(http: ferry.http) { _ in nil }.download(
                    DownloadOptions(source: try DownloadSource(parsing: link.url), destination: out.appending("again")),
                    events: { _ in })
                Issue.record("a revoked link downloaded")
            } catch let error as FerryClientError {
                #expect(error.kind == .forbidden)
                #expect(error.code == "link_revoked")
            }
        }
    }

    /// `--limit-rate`: the connections share one budget, so 3 MiB at 1 MiB/s take at least the
    /// time the budget allows (a lower bound: a busy machine only makes it slower).
    @Test func aRateLimitHoldsAcrossConnections() async throws {
        try await LiveFerry.run { ferry in
            let bytes = TestData.bytes(3 * 1024 * 1024, seed: 41)
            let file = try await ferry.upload(bytes)
            let out = try TemporaryDirectory("ferry-get")
            defer { out.remove() }
            var options = DownloadOptions(
                source: .file(id: file.id), destination: out.appending("slow.bin"), connections: 4)
            options.maxBytesPerSecond = 1024 * 1024
            let clock = ContinuousClock()
            let started = clock.now
            let result = try await ferry.downloader().download(options, events: { _ in })
            let elapsed = clock.now - started
            #expect(try Self.sha(result.path) == TestData.sha256(bytes))
            // (3 MiB - a quarter-second burst) at 1 MiB/s is 2.75 s.
            #expect(elapsed >= .seconds(2.5), "\(elapsed)")
        }
    }

    /// A link holder has no manifest, but Ferry's links announce the file's SHA-256
    /// (`Repr-Digest`): bytes that changed behind the catalog's back are caught. A SHA-256 given
    /// by the user is checked against the announced one before anything is fetched.
    @Test func aLinkDownloadIsVerifiedAgainstTheAnnouncedDigest() async throws {
        try await LiveFerry.run { ferry in
            let bytes = TestData.bytes(3 * 1024 * 1024 + 5, seed: 31)
            let file = try await ferry.upload(bytes, name: "announced.bin")
            let link = try await ferry.api().createLink(fileID: file.id, options: LinkOptions(ttlSeconds: 600))
            let out = try TemporaryDirectory("ferry-get")
            defer { out.remove() }
            let plain = Downloader(http: ferry.http) { _ in nil }
            func options(_ name: String, expecting sha: String? = nil) throws -> DownloadOptions {
                var options = DownloadOptions(
                    source: try DownloadSource(parsing: link.url), destination: out.appending(name), connections: 2,
                    partSize: 1024 * 1024)
                options.expectedSHA256 = sha
                return options
            }
            let good = try await plain.download(try options("good.bin", expecting: file.sha256), events: { _ in })
            #expect(good.sha256 == TestData.sha256(bytes))

            let wrong = String(repeating: "ab", count: 32)
            await #expect {
                _ = try await plain.download(try options("wrong.bin", expecting: wrong), events: { _ in })
            } throws: { error in
                (error as? FerryClientError)?.kind == .checksum
                    && (error as? FerryClientError)?.message.contains("nothing was downloaded") == true
            }
            #expect(!FileManager.default.fileExists(atPath: out.appending("wrong.bin.ferry-part.data")))

            // The stored bytes rot (same size): the catalog still announces the uploaded SHA-256.
            let record = try #require(try await ferry.services.catalog.file(id: file.id))
            try Data(TestData.bytes(bytes.count, seed: 32)).write(
                to: URL(fileURLWithPath: ferry.directory.appending("data/blobs/\(record.blobKey)")))
            await #expect {
                _ = try await plain.download(try options("rotten.bin"), events: { _ in })
            } throws: { error in
                (error as? FerryClientError)?.kind == .checksum
            }
            #expect(!FileManager.default.fileExists(atPath: out.appending("rotten.bin")))
        }
    }

    @Test func aBlockThatNeverMatchesStopsWithAChecksumErrorAndKeepsTheData() async throws {
        try await LiveFerry.run { ferry in
            // 64 MiB: the plan's parts are whole 8 MiB blocks, checked as they stream in.
            let bytes = TestData.bytes(64 * 1024 * 1024, seed: 12)
            let uploaded = try await ferry.upload(bytes)
            // The catalog now publishes a wrong hash for block 3 (as if the bytes rotted in storage).
            let record = try #require(try await ferry.services.catalog.file(id: uploaded.id))
            var blocks = record.blockSHA256
            blocks[2] = String(repeating: "0", count: 64)
            _ = try await ferry.services.catalog.replaceContent(
                fileID: record.id, expectedVersion: record.version,
                with: FileContent(
                    size: record.size, contentType: record.contentType, sha256: record.sha256, blobKey: record.blobKey,
                    blockSHA256: blocks), now: Date())
            let out = try TemporaryDirectory("ferry-get")
            defer { out.remove() }
            let log = EventLog()
            do {
                _ = try await ferry.downloader().download(
                    DownloadOptions(source: .file(id: uploaded.id), destination: out.appending("rot.bin")),
                    events: log.record)
                Issue.record("a file with a bad block was accepted")
            } catch let error as FerryClientError {
                #expect(error.kind == .checksum)
                #expect(error.exitCode == 7)
                #expect(error.message.contains("Block 3"))
            }
            #expect(log.all.filter { if case .retry = $0 { true } else { false } }.count >= 3)
            #expect(!FileManager.default.fileExists(atPath: out.appending("rot.bin")))
            #expect(FileManager.default.fileExists(atPath: out.appending("rot.bin.ferry-part.data")))
        }
    }

    @Test func sourcesAreClassified() throws {
        let id = Identifier.make()
        #expect(try DownloadSource(parsing: id) == .file(id: id))
        #expect(
            try DownloadSource(parsing: "https://f.example.com/d/\(id)")
                == .broker(base: "https://f.example.com", id: id))
        #expect(
            try DownloadSource(parsing: "http://h:8080/ferry/d/\(id)") == .broker(base: "http://h:8080/ferry", id: id))
        #expect(
            try DownloadSource(parsing: "https://f.example.com/t/abc.def") == .url("https://f.example.com/t/abc.def"))
        #expect(throws: FerryClientError.self) { try DownloadSource(parsing: "ftp://x/y") }
        #expect(throws: FerryClientError.self) { try DownloadSource(parsing: "not an id") }
        #expect(Downloader.safeName("../../etc/passwd") == "passwd")
        #expect(Downloader.safeName(".bashrc") == "bashrc")
        #expect(Downloader.safeName("a\u{0}b\nc") == "abc")
        #expect(Downloader.safeName("..") == "download")
    }
}

/// Work that runs once; every caller waits for it to end.
actor OnceTask {
    var task: Task<Void, any Error>?

    func run(_ work: @escaping @Sendable () async throws -> Void) async throws {
        let task = self.task ?? Task { try await work() }
        self.task = task
        try await task.value
    }
}
