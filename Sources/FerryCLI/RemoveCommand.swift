import ArgumentParser
import FerryClient
import Foundation

/// `ferry rm ID`.
struct RemoveCommand: ServerCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a file.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File id.") var id: String

    func run(in context: ClientContext) async throws {
        try await context.api().delete(id: id)
        Terminal.out("Deleted \(id).")
    }
}
