import ArgumentParser
import FerryAPIModels
import FerryClient
import Foundation

/// `ferry info ID`.
struct InfoCommand: ServerCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show one file or bundle.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "File or bundle id.") var id: String

    func run(in context: ClientContext) async throws {
        let api = try context.api()
        let encoder = JSONEncoder()
        encoder.outputFormatting = APIJSON.formatting.union(.prettyPrinted)
        let json = try await FileOrBundle.run(
            file: { try encoder.encode(try await api.file(id: id)) },
            bundle: { try encoder.encode(try await api.bundle(id: id)) })
        Terminal.out(String(decoding: json, as: UTF8.self))
    }
}
