import ArgumentParser
import FerryClient
import Foundation

/// `ferry links ID`.
struct LinksCommand: ServerCommand {
    static let configuration = CommandConfiguration(commandName: "links", abstract: "List a file's links.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File id.") var id: String

    func run(in context: ClientContext) async throws {
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
