import ArgumentParser
import FerryClient
import Foundation

/// `ferry share ID USER`.
struct ShareCommand: ServerCommand {
    static let configuration = CommandConfiguration(commandName: "share", abstract: "Let a user read a file.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File id.") var id: String
    @Argument(help: "Username.") var user: String

    func run(in context: ClientContext) async throws {
        try await context.api().share(fileID: id, username: user)
        Terminal.out("Shared \(id) with \(user).")
    }
}
