import ArgumentParser
import FerryClient
import Foundation

/// `ferry tokens`: your API tokens (never their secrets), as a table or JSON lines.
struct TokensCommand: ServerCommand {
    static let configuration = CommandConfiguration(commandName: "tokens", abstract: "List your API tokens.")
    @OptionGroup var server: ServerOptions
    @Flag(name: .long, help: "One JSON object per line.") var json = false

    func run(in context: ClientContext) async throws {
        try await ListingPrinter.print(
            try await context.api().raw("/v1/tokens"), key: "tokens", columns: ["id", "name", "created_at"],
            json: json)
    }
}
