import ArgumentParser
import FerryClient
import Foundation

/// `ferry rm ID`.
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a file.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File id.") var id: String

    func run() async throws {
        try await ClientContext.run(server) { context in
            try await context.api().delete(id: id)
            Terminal.out("Deleted \(id).")
        }
    }
}
