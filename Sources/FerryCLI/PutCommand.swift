import ArgumentParser
import FerryAPIModels
import FerryClient
import FerryCore
import Foundation

/// `ferry put`: a resumable upload through tus with its SHA-256 (CLI.md "Uploads"); a pipe is
/// streamed in one request.
struct PutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Upload a file (resumable: run the same command again to continue).",
        discussion: """
            A file is sent in chunks through tus (/v1/uploads); interrupted (Ctrl-C, kill, network, server \
            restart), the same command continues where the server says the upload stands, once it has checked \
            that the local file did not change. The server checks the whole file's SHA-256 before it appears. \
            `ferry put -` streams standard input in one request (no resume).
            """)

    @OptionGroup var server: ServerOptions
    @Argument(help: "The file to upload; `-` reads standard input (then --name is needed).") var path: String
    @Option(name: .long, help: "Name on the server (default: the file's name).") var name: String?
    @Option(name: .long, help: "Media type (default: what the name implies, else application/octet-stream).")
    var type: String?
    @Option(name: .long, help: "Replace the content of this file (a new version).") var replace: String?
    @Flag(name: .long, help: "Print progress events and the file as JSON lines.") var json = false
    @Option(
        name: .long,
        help: ArgumentHelp(
            "At most this many bytes a second (suffix K, M or G for KiB, MiB, GiB), as curl's.", valueName: "rate"))
    var limitRate: String?

    func validate() throws {
        if path == "-" && name == nil {
            throw ValidationError("Name the upload with --name when reading standard input.")
        }
        if let limitRate, GetCommand.bytes(limitRate) == nil {
            throw ValidationError("--limit-rate takes a rate like 500K, 20M or 1G (bytes a second).")
        }
        if let name, name.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--name is empty; give the name the file should have on the server.")
        }
        if let type, MediaType.essence(type) == nil {
            throw ValidationError("--type takes a media type like application/pdf, not '\(type)'.")
        }
    }

    func run() async throws {
        try await ClientContext.run(server) { context in
            let source = path == "-" ? "/dev/stdin" : path
            guard FileManager.default.isReadableFile(atPath: source) else {
                throw FerryClientError(.usage, "Cannot read \(path).")
            }
            if Downloader.isDirectory(source) {
                throw FerryClientError(
                    .usage,
                    "\(path) is a directory; ferry put uploads one file (a directory as one: tar c \(path) | ferry put - --name NAME.tar)."
                )
            }
            let fileName = name ?? (path as NSString).lastPathComponent
            let showProgress = Terminal.stderrIsTerminal && !json
            var progress: (@Sendable (Int64) -> Void)?
            if showProgress {
                progress = { sent in FileHandle.standardError.write(Data("\r\(Terminal.bytes(sent)) sent  ".utf8)) }
            }
            let file: RemoteFile
            if Downloader.isRegularFile(source) {
                var options = ResumableUploadOptions(
                    path: source, name: fileName, contentType: type, replace: replace,
                    stateDirectory: Self.stateDirectory)
                options.maxBytesPerSecond = limitRate.flatMap(GetCommand.bytes)
                let json = json
                let report = progress
                file = try await context.api().resumableUpload(options) { event in
                    if json {
                        Self.print(event, path: source)
                    } else if case .progress(let bytes, _) = event {
                        report?(bytes)
                    } else if case .restart(let reason) = event {
                        Terminal.error(reason)
                    }
                }
            } else {
                guard replace == nil else {
                    throw FerryClientError(.usage, "--replace needs a file, not a pipe: use curl -T - with PUT.")
                }
                // A pipe or a terminal: read once, as it comes (the digest is checked afterwards).
                let descriptor = open(source, O_RDONLY)
                guard descriptor >= 0 else { throw FerryClientError(.usage, "Cannot read \(path).") }
                file = try await context.api().upload(
                    pipe: descriptor, name: fileName,
                    // As the server would type it: the name's extension, else octet-stream.
                    contentType: type ?? MediaType.implied(byFileName: fileName) ?? "application/octet-stream",
                    progress: progress)
            }
            if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            if json {
                Terminal.out(try APIJSON.line(file))
            } else {
                Terminal.out("\(file.id)  \(file.name)  \(Terminal.bytes(file.size))  sha256 \(file.sha256)")
            }
        }
    }

    /// Where unfinished uploads are remembered: `$XDG_STATE_HOME/ferry/uploads`, else
    /// `~/.local/state/ferry/uploads`.
    static var stateDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/ferry/uploads" }
        return (environment["HOME"] ?? NSTemporaryDirectory()) + "/.local/state/ferry/uploads"
    }

    /// One `--json` line per event, as `ferry get` prints them.
    static func print(_ event: UploadEvent, path: String) {
        switch event {
        case .started(let name, let total, let sent):
            Terminal.json(["event": "started", "name": name, "path": path, "total": total, "bytes": sent])
        case .progress(let bytes, let total):
            Terminal.json(["event": "progress", "bytes": bytes, "total": total])
        case .retry(let message):
            Terminal.json(["event": "retry", "message": message])
        case .restart(let reason):
            Terminal.json(["event": "restart", "message": reason])
        }
    }
}
