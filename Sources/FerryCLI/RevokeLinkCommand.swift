import ArgumentParser
import FerryClient
import Foundation

/// `ferry revoke-link LINK_ID`.
struct RevokeLinkCommand: ServerCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke-link", abstract: "Revoke a link at once (server links; storage links expire).")
    @OptionGroup var server: ServerOptions
    @Argument(help: "Link id.") var id: String

    func run(in context: ClientContext) async throws {
        try await context.api().revokeLink(id: id)
        Terminal.out("Revoked \(id).")
    }
}
