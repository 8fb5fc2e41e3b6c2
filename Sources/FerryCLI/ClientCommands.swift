import ArgumentParser
import FerryClient
import Foundation

/// `ferry login`: checks a URL and token against the server and saves them (mode 0600).
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Save the server URL and an API token for the other commands.",
        discussion: "The token is read from --token, FERRY_TOKEN, or a line on standard input (not echoed).")

    @OptionGroup var server: ServerOptions

    func run() async throws {
        var options = server
        if options.token == nil, ProcessInfo.processInfo.environment["FERRY_TOKEN"]?.isEmpty != false {
            if isatty(STDIN_FILENO) == 1, let typed = getpass("API token: ") {
                options.token = String(cString: typed)
            } else {
                options.token = readLine(strippingNewline: true)
            }
        }
        try await ClientContext.run(options) { context in
            guard let url = context.url, let token = context.token, !token.isEmpty else {
                throw FerryClientError(.usage, "Give the server with --url and a token with --token (or on stdin).")
            }
            let me = try await context.api().raw("/v1/session")
            try SavedLogin(url: url, token: token).save()
            Terminal.out(
                "Signed in to \(url) as \(me["username"]?.description ?? "?") (\(me["role"]?.description ?? "?")).")
            Terminal.out("Saved to \(SavedLogin.path) (mode 0600).")
        }
    }
}

/// `ferry put`: a streamed upload with its SHA-256.
struct PutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Upload a file (streamed; the server checks its SHA-256).")

    @OptionGroup var server: ServerOptions
    @Argument(help: "The file to upload; `-` reads standard input (then --name is needed).") var path: String
    @Option(name: .long, help: "Name on the server (default: the file's name).") var name: String?
    @Option(name: .long, help: "Media type (default: application/octet-stream).") var type: String?
    @Flag(name: .long, help: "Print the file JSON.") var json = false

    func validate() throws {
        if path == "-" && name == nil {
            throw ValidationError("Name the upload with --name when reading standard input.")
        }
    }

    func run() async throws {
        try await ClientContext.run(server) { context in
            let source = path == "-" ? "/dev/stdin" : path
            guard FileManager.default.isReadableFile(atPath: source) else {
                throw FerryClientError(.usage, "Cannot read \(path).")
            }
            let fileName = name ?? (path as NSString).lastPathComponent
            let contentType = type ?? "application/octet-stream"
            let showProgress = Terminal.stderrIsTerminal && !json
            var progress: (@Sendable (Int64) -> Void)?
            if showProgress {
                progress = { sent in FileHandle.standardError.write(Data("\r\(Terminal.bytes(sent)) sent  ".utf8)) }
            }
            let file: RemoteFile
            if Downloader.isRegularFile(source) {
                file = try await context.api().upload(
                    path: source, name: fileName, contentType: contentType, progress: progress)
            } else {
                // A pipe or a terminal: read once, as it comes (the digest is checked afterwards).
                let descriptor = open(source, O_RDONLY)
                guard descriptor >= 0 else { throw FerryClientError(.usage, "Cannot read \(path).") }
                file = try await context.api().upload(
                    pipe: descriptor, name: fileName, contentType: contentType, progress: progress)
            }
            if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            if json {
                Terminal.out(String(decoding: try JSONEncoder().encode(file), as: UTF8.self))
            } else {
                Terminal.out("\(file.id)  \(file.name)  \(Terminal.bytes(file.size))  sha256 \(file.sha256)")
            }
        }
    }
}

/// `ferry ls`: the files you can see, newest first.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the files you can see.")
    @OptionGroup var server: ServerOptions
    @Flag(name: .long, help: "One JSON object per line.") var json = false

    func run() async throws {
        try await ClientContext.run(server) { context in
            let files = try await context.api().files()
            if json {
                for file in files { Terminal.out(String(decoding: try JSONEncoder().encode(file), as: UTF8.self)) }
                return
            }
            Terminal.table(
                ["ID", "SIZE", "MODIFIED", "OWNER", "NAME"],
                files.map { [$0.id, Terminal.bytes($0.size), $0.updatedAt, $0.owner, $0.name] })
        }
    }
}

/// `ferry info ID`.
struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show one file.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File id.") var id: String

    func run() async throws {
        try await ClientContext.run(server) { context in
            let file = try await context.api().file(id: id)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            Terminal.out(String(decoding: try encoder.encode(file), as: UTF8.self))
        }
    }
}

/// `ferry rm ID`.
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a file.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File id.") var id: String

    func run() async throws {
        try await ClientContext.run(server) { context in
            try await context.api().delete(id: id)
            Terminal.out("Deleted \(id).")
        }
    }
}

/// `ferry link ID`: prints the URL alone.
struct LinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link", abstract: "Issue a short-lived link to a file and print its URL.",
        discussion: "The URL is a secret shown only now. Limited links count downloads per client.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File id.") var id: String
    @Option(name: .long, help: "Lifetime in seconds (default: the server's FERRY_LINK_TTL).") var ttl: Int?
    @Option(name: .long, help: "Downloads allowed (per client: address + User-Agent).") var maxDownloads: Int?
    @Flag(name: .long, help: "One download only.") var singleUse = false
    @Option(name: .long, help: "Only this client address may use the link.") var bindIP: String?

    func validate() throws {
        if singleUse && maxDownloads != nil { throw ValidationError("Use --single-use or --max-downloads, not both.") }
    }

    func run() async throws {
        try await ClientContext.run(server) { context in
            let link = try await context.api().createLink(
                fileID: id,
                options: LinkOptions(
                    ttlSeconds: ttl, maxDownloads: maxDownloads, singleUse: singleUse ? true : nil, bindIP: bindIP))
            Terminal.out(link.url)
        }
    }
}

/// `ferry links ID`.
struct LinksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "links", abstract: "List a file's links.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File id.") var id: String

    func run() async throws {
        try await ClientContext.run(server) { context in
            let links = try await context.api().links(fileID: id)
            Terminal.table(
                ["ID", "EXPIRES", "DOWNLOADS", "STRATEGY", "ISSUER", "REVOKED"],
                links.map {
                    [
                        $0.id, $0.expiresAt, "\($0.downloadsUsed)/" + ($0.maxDownloads.map(String.init) ?? "∞"),
                        $0.strategy, $0.issuer, $0.revokedAt ?? "-",
                    ]
                })
        }
    }
}

/// `ferry revoke-link LINK_ID`.
struct RevokeLinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke-link", abstract: "Revoke a link at once (server links; storage links expire).")
    @OptionGroup var server: ServerOptions
    @Argument(help: "Link id.") var id: String

    func run() async throws {
        try await ClientContext.run(server) { context in
            try await context.api().revokeLink(id: id)
            Terminal.out("Revoked \(id).")
        }
    }
}

/// `ferry share ID USER`.
struct ShareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "share", abstract: "Let a user read a file.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File id.") var id: String
    @Argument(help: "Username.") var user: String

    func run() async throws {
        try await ClientContext.run(server) { context in
            try await context.api().share(fileID: id, username: user)
            Terminal.out("Shared \(id) with \(user).")
        }
    }
}

/// `ferry unshare ID USER`.
struct UnshareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unshare", abstract: "Stop sharing a file with a user (their links stop too).")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File id.") var id: String
    @Argument(help: "Username.") var user: String

    func run() async throws {
        try await ClientContext.run(server) { context in
            try await context.api().unshare(fileID: id, username: user)
            Terminal.out("Stopped sharing \(id) with \(user).")
        }
    }
}

/// `ferry users`, `ferry tokens`, `ferry audit`: what the server lists, as a table or JSON lines.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "users", abstract: "List users (admin).")
    @OptionGroup var server: ServerOptions
    @Flag(name: .long, help: "One JSON object per line.") var json = false

    func run() async throws {
        try await ClientContext.run(server) { context in
            try await ListingPrinter.print(
                try await context.api().raw("/v1/users"), key: "users",
                columns: ["username", "role", "disabled", "created_at"], json: json)
        }
    }
}

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokens", abstract: "List your API tokens.")
    @OptionGroup var server: ServerOptions
    @Flag(name: .long, help: "One JSON object per line.") var json = false

    func run() async throws {
        try await ClientContext.run(server) { context in
            try await ListingPrinter.print(
                try await context.api().raw("/v1/tokens"), key: "tokens", columns: ["id", "name", "created_at"],
                json: json)
        }
    }
}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Show the audit log, newest first (admin).")
    @OptionGroup var server: ServerOptions
    @Option(name: .long, help: "Only this file.") var file: String?
    @Option(name: .long, help: "Only this actor (username).") var actor: String?
    @Option(name: .long, help: "Only this event, e.g. download.failed.") var event: String?
    @Option(name: .long, help: "How many events (1-1000).") var limit: Int = 50
    @Flag(name: .long, help: "One JSON object per line.") var json = false

    func run() async throws {
        try await ClientContext.run(server) { context in
            var query = [("limit", "\(limit)")]
            if let file { query.append(("file_id", file)) }
            if let actor { query.append(("actor", actor)) }
            if let event { query.append(("event", event)) }
            // Values escaped whole: a '+' or '&' in them must reach the server as itself.
            let path = "/v1/audit?" + query.map { "\($0.0)=\(FerryAPI.segment($0.1))" }.joined(separator: "&")
            try await ListingPrinter.print(
                try await context.api().raw(path), key: "events",
                columns: ["at", "event", "actor", "file_id", "client_ip", "detail"], json: json)
        }
    }
}

enum ListingPrinter {
    static func print(_ answer: [String: JSONValue], key: String, columns: [String], json: Bool) async throws {
        guard case .array(let items)? = answer[key] else {
            throw FerryClientError(.unexpected, "The server's answer has no \(key).")
        }
        if json {
            for item in items { Terminal.out(String(decoding: try JSONEncoder().encode(item), as: UTF8.self)) }
            return
        }
        Terminal.table(
            columns.map { $0.uppercased() },
            items.map { item in
                guard case .object(let fields) = item else { return [] }
                return columns.map { fields[$0]?.description ?? "-" }
            })
    }
}
