import ArgumentParser
import AsyncHTTPClient
import FerryAPIModels
import FerryClient
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#endif

/// `--url` and `--token`, shared by every client command.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: "Server URL (else FERRY_URL, else the one saved by `ferry login`).")
    var url: String?

    @Option(name: .long, help: "API token (else FERRY_TOKEN, else the one saved by `ferry login`).")
    var token: String?
}

/// Where `ferry login` keeps the server and token: `$XDG_CONFIG_HOME/ferry/config`, mode 0600.
struct SavedLogin: Codable {
    var url: String
    var token: String

    static var path: String {
        let env = ProcessInfo.processInfo.environment
        let base =
            env["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((env["HOME"] ?? NSHomeDirectory()) + "/.config")
        return base + "/ferry/config"
    }

    static func load() throws -> SavedLogin? {
        let path = Self.path
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw FerryClientError(.usage, "\(path) is readable by others; run `chmod 600 \(path)` (it holds a token).")
        }
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(SavedLogin.self, from: data)
    }

    func save() throws {
        let path = Self.path
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // Created 0600 before the token is written, replaced atomically.
        do {
            try PrivateFile.replace(path, with: try APIJSON.encode(self))
        } catch {
            throw FerryClientError(.unexpected, "Cannot write \(path): \(error).")
        }
    }
}

/// The server, token and HTTP client of one command run.
struct ClientContext {
    let url: String?
    /// Where `url` came from, for a message: `--url`, `FERRY_URL` or the saved login.
    let urlSource: String
    let token: String?
    let http: HTTPClient

    /// Resolves flags, then FERRY_URL/FERRY_TOKEN, then the saved login (CLI.md).
    init(_ options: ServerOptions) throws {
        let env = ProcessInfo.processInfo.environment
        let saved = try SavedLogin.load()
        let fromEnvironment = env["FERRY_URL"].flatMap { $0.isEmpty ? nil : $0 }
        url = options.url ?? fromEnvironment ?? saved?.url
        urlSource =
            options.url != nil ? "--url" : fromEnvironment != nil ? "FERRY_URL" : "The URL saved by `ferry login`"
        token = options.token ?? env["FERRY_TOKEN"].flatMap { $0.isEmpty ? nil : $0 } ?? saved?.token
        var configuration = HTTPClient.Configuration(redirectConfiguration: .follow(max: 5, allowCycles: false))
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        configuration.decompression = .disabled
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The API of the configured server; a clear usage error when there is none.
    func api() throws -> FerryAPI {
        guard let url else {
            throw FerryClientError(.usage, "No server: run `ferry login --url URL`, or set FERRY_URL and FERRY_TOKEN.")
        }
        // Told at once, not as "Could not reach 127.0.0.1:8080: HTTPClientError.invalidURL" (exit 3).
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "http" || scheme == "https", parsed.host?.isEmpty == false, parsed.query == nil
        else {
            throw FerryClientError(
                .usage,
                "\(urlSource) must be the server's http(s) URL, like https://files.example.com or http://127.0.0.1:8080; got '\(url)'."
            )
        }
        return FerryAPI(baseURL: url, token: token, httpClient: http)
    }

    func shutdown() async { try? await http.shutdown() }

    /// Runs `body` with a context, printing a failure as one line and exiting with its code.
    static func run(_ options: ServerOptions, _ body: (ClientContext) async throws -> Void) async throws {
        let context: ClientContext
        do {
            context = try ClientContext(options)
        } catch let error as FerryClientError {
            Terminal.error(error.message)
            throw ExitCode(error.exitCode)
        }
        do {
            try await body(context)
            await context.shutdown()
        } catch let error as FerryClientError {
            await context.shutdown()
            Terminal.error(error.message)
            throw ExitCode(error.exitCode)
        } catch {
            await context.shutdown()
            throw error
        }
    }
}

/// A command that talks to a server: `run(in:)` gets a client context (`ClientContext.run`),
/// made from the command's `--server`/`--token` options and shut down afterwards.
protocol ServerCommand: AsyncParsableCommand {
    /// The server options.
    var server: ServerOptions { get }
    /// The command's work.
    func run(in context: ClientContext) async throws
}

extension ServerCommand {
    func run() async throws { try await ClientContext.run(server) { context in try await run(in: context) } }
}

/// Writing to the terminal.
enum Terminal {
    static func out(_ line: String) {
        write(STDOUT_FILENO, line + "\n")
    }

    static func error(_ line: String) {
        write(STDERR_FILENO, "ferry: " + line + "\n")
    }

    /// Writes all of `text`; a reader that went away (`ferry ls | head`) ends the program quietly,
    /// as other command-line tools do, instead of Foundation's trap on EPIPE.
    static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { exit(fd == STDOUT_FILENO ? 0 : 1) }
                return
            }
            bytes = bytes.dropFirst(n)
        }
    }

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// `1.5 MiB`, `312.4 GiB`.
    static func bytes(_ count: Int64) -> String { ByteCount.format(count) }

    /// `0:04`, `1:02:03`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s % 3600 / 60, s % 60)
            : String(format: "%d:%02d", s / 60, s % 60)
    }

    /// One JSON object as a line.
    static func json(_ object: [String: Any]) {
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        out(String(decoding: data, as: UTF8.self))
    }

    /// A table with a header, columns padded to their widest cell.
    static func table(_ header: [String], _ rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0.indices.contains(i) ? $0[i].count : 0 }.max() ?? 0 }
        for row in all {
            let cells = row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }
            out(cells.joined(separator: "  "))
        }
    }
}
