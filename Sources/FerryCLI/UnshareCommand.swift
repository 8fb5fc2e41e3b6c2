import ArgumentParser
import FerryClient
import Foundation

/// `ferry unshare ID USER`.
struct UnshareCommand: ServerCommand {
    static let configuration = CommandConfiguration(
        commandName: "unshare", abstract: "Stop sharing a file with a user (their links stop too).")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File id.") var id: String
    @Argument(help: "Username.") var user: String

    func run(in context: ClientContext) async throws {
        try await context.api().unshare(fileID: id, username: user)
        Terminal.out("Stopped sharing \(id) with \(user).")
    }
}
