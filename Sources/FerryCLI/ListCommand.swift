import ArgumentParser
import FerryAPIModels
import FerryClient
import Foundation

/// `ferry ls`: the files you can see, newest first.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the files you can see.")
    @OptionGroup var server: ServerOptions
    @Flag(name: .long, help: "One JSON object per line.") var json = false

    func run() async throws {
        try await ClientContext.run(server) { context in
            let files = try await context.api().files()
            if json {
                for file in files { Terminal.out(try APIJSON.line(file)) }
                return
            }
            Terminal.table(
                ["ID", "SIZE", "MODIFIED", "OWNER", "NAME"],
                files.map { [$0.id, Terminal.bytes($0.size), $0.updatedAt, $0.owner, $0.name] })
        }
    }
}
