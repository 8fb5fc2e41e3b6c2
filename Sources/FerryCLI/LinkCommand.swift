import ArgumentParser
import FerryClient
import Foundation

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
