import ArgumentParser
import FerryClient
import Foundation

/// `ferry links ID`.
struct LinksCommand: ServerCommand {
    static let configuration = CommandConfiguration(
        commandName: "links", abstract: "List a file's or a bundle's links.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File or bundle id.") var id: String

    func run(in context: ClientContext) async throws {
        let api = try context.api()
        let links = try await FileOrBundle.run(
            file: { try await api.links(fileID: id) }, bundle: { try await api.links(bundleID: id) })
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
