import ArgumentParser
import AsyncHTTPClient
import Crypto
import FerryClient
import FerryCore
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import UnixSignals

/// `ferry get`: segmented, resumable, verified downloads (CLI.md "Downloads").
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Download a file: parallel, resumable, verified.",
        discussion: """
            SOURCE is a file id, a /d/{id} URL, a /t/{token} link, or any http(s) URL. Parts are fetched \
            in parallel and checked against the server's SHA-256 of every 8 MiB block; the file appears \
            only when complete and verified. While it runs, PATH.ferry-part records progress: run the \
            same command again to resume. An expired link is refreshed through the server (file ids and \
            /d/ URLs); a file replaced on the server restarts from zero, never mixing two versions.

            Exit codes: 0 done, 1 unexpected, 2 usage, 3 network (run again to resume), 4 not allowed, \
            5 not found or gone, 6 link expired (plain URL), 7 checksum mismatch.
            """)

    @OptionGroup var server: ServerOptions

    @Argument(help: "File id, /d/{id} URL, /t/{token} link or any http(s) URL.")
    var source: String

    @Option(
        name: .short,
        help: ArgumentHelp(
            "Destination (default: the server's name for the file, here). `-` writes to stdout.", valueName: "path"))
    var output: String?

    @Option(name: .long, help: "Parallel connections (1-32).")
    var connections: Int = 4

    @Option(name: .long, help: "Part size in bytes for plain URLs (Ferry files use the server's plan).")
    var partSize: Int64?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The SHA-256 (hex) the file must have; checked at the end (Ferry files and links carry their own).",
            valueName: "hex"))
    var sha256: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "At most this many bytes a second over all connections (suffix K, M or G for KiB, MiB, GiB), as curl's.",
            valueName: "rate"))
    var limitRate: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "For a password link: the password on this file's first line (else FERRY_LINK_PASSWORD, else asked on a terminal).",
            valueName: "file"))
    var passwordFile: String?

    @Flag(name: .long, help: "One JSON object per line on stdout instead of a progress bar.")
    var json = false

    @Flag(name: .long, help: "Print nothing but errors.")
    var quiet = false

    func validate() throws {
        guard (1...32).contains(connections) else { throw ValidationError("--connections must be from 1 to 32.") }
        if let partSize, partSize < 64 * 1024 { throw ValidationError("--part-size must be at least 65536 bytes.") }
        if let limitRate, Self.bytes(limitRate) == nil {
            throw ValidationError("--limit-rate takes a rate like 500K, 20M or 1G (bytes a second).")
        }
        if let sha256, sha256.count != 64 || Hex.decode(sha256) == nil {
            throw ValidationError("--sha256 takes the 64 hex digits of a SHA-256.")
        }
    }

    func run() async throws {
        try await ClientContext.run(server) { context in
            var parsed = try DownloadSource(parsing: source)
            // A bundle id (CLI.md "Bundles"): its archive, a plain URL with the bearer token, ranged
            // and resumable like any file (bound to the bundle's strong ETag).
            var bearer: String?
            if case .file(let id) = parsed, let api = try? context.api(), (try? await api.bundle(id: id)) != nil {
                parsed = .url(api.bundleContentURL(id: id))
                bearer = api.authorizationHeader
            }
            let token = context.token
            let http = context.http
            let configuredURL = context.url
            let downloader = Downloader(http: http, userAgent: "ferry-cli") { base in
                guard let url = base ?? configuredURL else { return nil }
                return FerryAPI(baseURL: url, token: token, httpClient: http)
            }
            let password = try givenLinkPassword()
            if output == "-" {
                try await Self.askingForPassword(given: password) { password in
                    try await stream(
                        parsed, into: .standardOutput, downloader: downloader, context: context, password: password,
                        authorization: bearer)
                }
                return
            }
            if let output, FileManager.default.fileExists(atPath: output), !output.hasSuffix("/"),
                !Downloader.isRegularFile(output), !Downloader.isDirectory(output)
            {
                // `-o /dev/null`, a named pipe: written in one stream, as curl does.
                guard let handle = FileHandle(forWritingAtPath: output) else {
                    throw FerryClientError(.unexpected, "Cannot write to \(output).")
                }
                defer { try? handle.close() }
                try await Self.askingForPassword(given: password) { password in
                    try await stream(
                        parsed, into: handle, downloader: downloader, context: context, password: password,
                        authorization: bearer)
                }
                return
            }
            let reporter = Reporter(mode: json ? .json : quiet ? .quiet : Terminal.stderrIsTerminal ? .bar : .lines)
            let options = {
                var options = DownloadOptions(
                    source: parsed, destination: output, connections: connections, partSize: partSize)
                options.expectedSHA256 = sha256
                options.maxBytesPerSecond = limitRate.flatMap(Self.bytes)
                options.authorization = bearer
                return options
            }()
            do {
                let ending = try await Self.askingForPassword(given: password) { password in
                    var withPassword = options
                    withPassword.linkPassword = password
                    let final = withPassword
                    return try await Self.untilSignalled {
                        try await downloader.download(final, events: reporter.report)
                    }
                }
                switch ending {
                case .finished(let result):
                    reporter.finish(result)
                case .signalled(let signal):
                    // What is on disk stays: the control file was written as parts and blocks landed.
                    reporter.interrupted(by: signal == .sigint ? "Ctrl-C" : "SIGTERM")
                    throw ExitCode(signal == .sigint ? 130 : 143)
                }
            } catch let error as FerryClientError {
                reporter.failed(error)
                throw error
            }
        }
    }

    /// The password of a password link from `--password-file`, else `FERRY_LINK_PASSWORD`.
    func givenLinkPassword() throws -> String? {
        if let passwordFile { return try PasswordInput.firstLine(ofFile: passwordFile) }
        if let value = ProcessInfo.processInfo.environment["FERRY_LINK_PASSWORD"], !value.isEmpty { return value }
        return nil
    }

    /// Runs `work` with the given password; when the link turns out to need one and none was
    /// given, asks on the terminal (if there is one) and runs it once more. Nothing was written
    /// by the refused first try (the refusal comes before any byte).
    static func askingForPassword<T>(given: String?, _ work: (String?) async throws -> T) async throws -> T {
        do {
            return try await work(given)
        } catch let error as FerryClientError where error.code == "password_required" && given == nil {
            guard PasswordInput.canAsk else { throw error }
            return try await work(PasswordInput.ask("Password for this link: "))
        }
    }

    /// `500K`, `20M`, `1G` (powers of 1024, as curl) or plain bytes; nil when not a positive rate.
    static func bytes(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        var unit: Int64 = 1
        if let last = digits.last?.uppercased().first, let scale = units[last] {
            unit = scale
            digits = digits.dropLast()
        }
        guard let value = Int64(digits), value > 0, value <= Int64.max / unit else { return nil }
        return value * unit
    }

    enum Ending: Sendable {
        case finished(DownloadResult)
        case signalled(UnixSignal)
    }

    /// Runs `work` until it ends or SIGINT / SIGTERM arrives; then `work` is cancelled (a download
    /// stops where it is, resumable) and the signal is returned, for a message and exit 130 / 143.
    static func untilSignalled(_ work: @escaping @Sendable () async throws -> DownloadResult) async throws -> Ending {
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        return try await withThrowingTaskGroup(of: Ending.self) { group in
            group.addTask { .finished(try await work()) }
            group.addTask {
                for await signal in signals { return .signalled(signal) }
                throw CancellationError()  // the sequence ends only when this task is cancelled
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// `-o -` (stdout), a device or a pipe: one stream (no parallelism, no resume). The bytes are
    /// counted and hashed on their way; bytes that do not match the file's SHA-256 (from the
    /// manifest, the server's `Repr-Digest`, or `--sha256`) end with exit 7 (what was written
    /// cannot be taken back, but the reader is told).
    func stream(
        _ source: DownloadSource, into handle: FileHandle, downloader: Downloader, context: ClientContext,
        password: String?, authorization: String? = nil
    ) async throws {
        var url = source.description
        var expected: (size: Int64?, sha256: String)?
        if let manifest = try await downloader.manifest(for: source) {
            (url, expected) = (manifest.link.url, (manifest.file.size, manifest.file.sha256))
        }
        let response: HTTPClientResponse
        do {
            var request = HTTPClientRequest(url: url)
            if let authorization {
                request.headers.add(name: "Authorization", value: authorization)
            } else if let password, case .url = source {
                request.headers.add(
                    name: "Authorization", value: "Basic " + Data(":\(password)".utf8).base64EncodedString())
            }
            response = try await context.http.execute(request, timeout: .seconds(60))
        } catch {
            throw FerryClientError(
                .network, "Could not reach \(Downloader.redacted(url)): \(NetworkFailure.describe(error))")
        }
        guard response.status.code == 200 else {
            let body = try await response.body.collect(upTo: 64 * 1024)
            throw FerryAPI.error(status: Int(response.status.code), body: body)
        }
        if expected == nil, let announced = DownloadPlan.sha256(fromDigestHeaders: response.headers) {
            expected = (response.headers.first(name: "content-length").flatMap { Int64($0) }, announced)
        }
        if let sha256 { expected = (expected?.size, sha256.lowercased()) }
        var hasher = SHA256()
        var size: Int64 = 0
        let limiter = limitRate.flatMap(Self.bytes).map { RateLimiter(bytesPerSecond: $0) }
        do {
            for try await chunk in response.body {
                try await limiter?.take(chunk.readableBytes)
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                try handle.write(contentsOf: chunk.readableBytesView)
                size += Int64(chunk.readableBytes)
            }
        } catch let error as CocoaError {
            // Foundation says only "error 512": the system's errno is beneath it.
            let code = (error.userInfo[NSUnderlyingErrorKey] as? NSError).map { Int32($0.code) }
            if code == EPIPE {
                // The reader went away (`| head`): stop quietly, as every listing does
                // (`Terminal.write`); what the reader took is its own to judge.
                throw ExitCode.success
            }
            let reason = code.map { String(cString: strerror($0)) } ?? error.localizedDescription
            throw FerryClientError(.unexpected, "Cannot write the download after \(size) bytes: \(reason).")
        } catch {
            throw FerryClientError(
                .network, "The connection broke after \(size) bytes: \(NetworkFailure.describe(error))")
        }
        guard let expected else { return }
        let digest = Hex.encode(hasher.finalize())
        guard size == expected.size ?? size, digest == expected.sha256 else {
            throw FerryClientError(
                .checksum,
                "The bytes streamed (\(size), SHA-256 \(digest)) are not the file's (SHA-256 \(expected.sha256)): discard what was written."
            )
        }
    }
}

/// Shows a download's events: a progress bar on a terminal, JSON lines, plain lines, or nothing.
final class Reporter: Sendable {
    enum Mode { case bar, json, lines, quiet }
    let mode: Mode
    let state = Mutex(State())

    struct State {
        var started = Date()
        var baseline: Int64 = 0
        var lastBytes: Int64 = 0
        var rate: Double = 0
        var lastAt = Date()
        var name = ""
        var resent: Int64 = 0
        var latest: Int64 = 0
        var total: Int64 = 0
    }

    init(mode: Mode) { self.mode = mode }

    var report: @Sendable (DownloadEvent) -> Void { { self.handle($0) } }

    func handle(_ event: DownloadEvent) {
        switch event {
        case .started(let name, let path, let total, let have, let connections):
            state.withLock {
                $0.started = Date()
                $0.lastAt = Date()
                $0.baseline = have
                $0.lastBytes = have
                $0.name = name
                $0.latest = have
                $0.total = total
            }
            switch mode {
            case .json:
                Terminal.json([
                    "event": "started", "name": name, "path": path, "total": total, "bytes": have,
                    "connections": connections,
                ])
            case .bar, .lines:
                let resumed = have > 0 ? ", resuming at \(Terminal.bytes(have))" : ""
                FileHandle.standardError.write(
                    Data("Downloading \(name) (\(Terminal.bytes(total))) to \(path)\(resumed)\n".utf8))
            case .quiet: break
            }
        case .progress(let bytes, let total, let connections):
            let rate = state.withLock { s -> Double in
                s.latest = bytes
                let now = Date()
                let elapsed = now.timeIntervalSince(s.lastAt)
                if elapsed > 0.2 {
                    let instant = Double(bytes - s.lastBytes) / elapsed
                    s.rate = s.rate == 0 ? instant : 0.7 * s.rate + 0.3 * instant
                    s.lastAt = now
                    s.lastBytes = bytes
                }
                return s.rate
            }
            switch mode {
            case .json:
                Terminal.json(["event": "progress", "bytes": bytes, "total": total, "rate": Int64(rate)])
            case .bar:
                let percent = total > 0 ? Double(bytes) * 100 / Double(total) : 100
                let width = 24
                let filled = total > 0 ? Int(Double(width) * Double(bytes) / Double(total)) : width
                let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
                let eta = rate > 0 ? Terminal.duration(Double(total - bytes) / rate) : "--:--"
                let line = String(
                    format: "\r[%@] %5.1f%%  %@ / %@  %@/s  ETA %@  %d conn  ", bar, percent,
                    Terminal.bytes(bytes), Terminal.bytes(total), Terminal.bytes(Int64(rate)), eta, connections)
                FileHandle.standardError.write(Data(line.utf8))
            case .lines, .quiet: break
            }
        case .refresh(let message), .restart(let message), .retry(let message):
            let name: String
            switch event {
            case .refresh: name = "refresh"
            case .restart: name = "restart"
            default: name = "retry"
            }
            switch mode {
            case .json: Terminal.json(["event": name, "message": message])
            case .bar: FileHandle.standardError.write(Data("\r\u{1B}[K\(message)\n".utf8))
            case .lines: FileHandle.standardError.write(Data("\(message)\n".utf8))
            case .quiet: break
            }
        case .done(_, _, _, let resent):
            state.withLock { $0.resent = resent }
        }
    }

    func finish(_ result: DownloadResult) {
        let elapsed = state.withLock { Date().timeIntervalSince($0.started) }
        switch mode {
        case .json:
            Terminal.json([
                "event": "done", "path": result.path, "sha256": result.sha256, "bytes": result.bytes,
                "resent_bytes": result.resentBytes, "fetched_bytes": result.fetchedBytes, "refreshes": result.refreshes,
                "restarts": result.restarts,
                "bad_blocks": result.badBlocks,
            ])
        case .bar, .lines:
            if mode == .bar { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            var notes: [String] = []
            if result.refreshes > 0 { notes.append("\(result.refreshes) link refresh(es)") }
            if result.restarts > 0 { notes.append("restarted \(result.restarts)x: the file changed") }
            if result.resentBytes > 0 { notes.append("\(Terminal.bytes(result.resentBytes)) fetched again") }
            if result.badBlocks > 0 { notes.append("\(result.badBlocks) corrupted block(s) fetched again") }
            let rate = elapsed > 0 ? Terminal.bytes(Int64(Double(result.bytes) / elapsed)) + "/s" : ""
            FileHandle.standardError.write(
                Data(
                    ("Saved \(result.path) (\(Terminal.bytes(result.bytes)), \(rate), SHA-256 verified \(result.sha256.prefix(12))…)"
                        + (notes.isEmpty ? "" : "; " + notes.joined(separator: ", ")) + "\n").utf8))
        case .quiet: break
        }
    }

    /// Stopped by the user: where it stood, and that the same command resumes.
    func interrupted(by cause: String) {
        let (bytes, total) = state.withLock { ($0.latest, $0.total) }
        let percent = total > 0 ? Int(bytes * 100 / total) : 0
        let message =
            "Stopped by \(cause) at \(percent)% (\(Terminal.bytes(bytes)) of \(Terminal.bytes(total))); "
            + "run the same command again to resume: what was written and verified is kept."
        switch mode {
        case .json:
            Terminal.json(["event": "error", "code": "interrupted", "message": message, "bytes": bytes, "total": total])
        case .bar:
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            Terminal.error(message)
        case .lines, .quiet:
            Terminal.error(message)
        }
    }

    func failed(_ error: FerryClientError) {
        switch mode {
        case .json:
            Terminal.json(["event": "error", "code": error.code ?? "\(error.kind)", "message": error.message])
        case .bar:
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        case .lines, .quiet: break
        }
    }
}
