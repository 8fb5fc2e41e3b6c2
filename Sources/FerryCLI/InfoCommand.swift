import ArgumentParser
import FerryClient
import Foundation

/// `ferry info ID`.
struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show one file.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File id.") var id: String

    func run() async throws {
        try await ClientContext.run(server) { context in
            let file = try await context.api().file(id: id)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            Terminal.out(String(decoding: try encoder.encode(file), as: UTF8.self))
        }
    }
}
