import ArgumentParser
import FerryClient
import Foundation

/// `ferry link ID`: prints the URL alone.
struct LinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link", abstract: "Issue a short-lived link to a file or bundle and print its URL.",
        discussion: "The URL is a secret shown only now. Limited links count downloads per client.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File or bundle id.") var id: String
    @Option(name: .long, help: "Lifetime in seconds (default: the server's FERRY_LINK_TTL).") var ttl: Int?
    @Option(name: .long, help: "Downloads allowed (per client: address + User-Agent).") var maxDownloads: Int?
    @Flag(name: .long, help: "One download only.") var singleUse = false
    @Option(name: .long, help: "Only this client address may use the link.") var bindIP: String?
    @Flag(name: .long, help: "Protect the link with a password, asked on the terminal (not echoed).")
    var password = false
    @Option(name: .long, help: "Protect the link with the password on this file's first line.")
    var passwordFile: String?

    func validate() throws {
        if singleUse && maxDownloads != nil { throw ValidationError("Use --single-use or --max-downloads, not both.") }
        if password && passwordFile != nil { throw ValidationError("Use --password or --password-file, not both.") }
    }

    /// The link's password, if one was asked for.
    func linkPassword() throws -> String? {
        if let passwordFile { return try PasswordInput.firstLine(ofFile: passwordFile) }
        guard password else { return nil }
        guard PasswordInput.canAsk else {
            throw FerryClientError(.usage, "--password asks on a terminal; without one, use --password-file FILE.")
        }
        return try PasswordInput.askNew("Password for the link: ")
    }

    func run() async throws {
        try await ClientContext.run(server) { context in
            let options = LinkOptions(
                ttlSeconds: ttl, maxDownloads: maxDownloads, singleUse: singleUse ? true : nil, bindIP: bindIP,
                password: try linkPassword())
            let api = try context.api()
            let link = try await FileOrBundle.run(
                file: { try await api.createLink(fileID: id, options: options) },
                bundle: { try await api.createBundleLink(bundleID: id, options: options) })
            Terminal.out(link.url)
        }
    }
}
