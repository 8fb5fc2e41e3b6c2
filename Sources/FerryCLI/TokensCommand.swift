import ArgumentParser
import FerryClient
import Foundation

/// `ferry tokens`: your API tokens (never their secrets), as a table or JSON lines.
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
