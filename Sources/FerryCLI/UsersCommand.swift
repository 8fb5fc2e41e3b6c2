import ArgumentParser
import FerryClient
import Foundation

/// `ferry users`: the users (admins), as a table or JSON lines.
struct UsersCommand: ServerCommand {
    static let configuration = CommandConfiguration(commandName: "users", abstract: "List users (admin).")
    @OptionGroup var server: ServerOptions
    @Flag(name: .long, help: "One JSON object per line.") var json = false

    func run(in context: ClientContext) async throws {
        try await ListingPrinter.print(
            try await context.api().raw("/v1/users"), key: "users",
            columns: ["username", "role", "disabled", "created_at"], json: json)
    }
}
