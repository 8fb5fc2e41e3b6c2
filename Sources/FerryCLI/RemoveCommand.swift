import ArgumentParser
import FerryClient
import Foundation

/// `ferry rm ID`.
struct RemoveCommand: ServerCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Delete a file or a bundle (a bundle's files stay).")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File or bundle id.") var id: String

    func run(in context: ClientContext) async throws {
        let api = try context.api()
        try await FileOrBundle.run(
            file: { try await api.delete(id: id) }, bundle: { try await api.deleteBundle(id: id) })
        Terminal.out("Deleted \(id).")
    }
}
