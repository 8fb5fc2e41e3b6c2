import ArgumentParser
import FerryAPIModels
import FerryClient
import Foundation

/// `ferry info ID`.
struct InfoCommand: ServerCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show one file.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File id.") var id: String

    func run(in context: ClientContext) async throws {
        let file = try await context.api().file(id: id)
        let encoder = JSONEncoder()
        encoder.outputFormatting = APIJSON.formatting.union(.prettyPrinted)
        Terminal.out(String(decoding: try encoder.encode(file), as: UTF8.self))
    }
}
