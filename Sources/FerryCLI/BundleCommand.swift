import ArgumentParser
import FerryAPIModels
import FerryClient
import Foundation

/// `ferry bundle ID...`: many files as one resumable zip; prints the bundle's id.
struct BundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle", abstract: "Make a bundle of files (one resumable zip) and print its id.",
        discussion: """
            The archive's bytes are fixed when the bundle is made (members stored, bound to their current \
            versions), so `ferry get BUNDLE_ID` downloads it in parallel and resumes, and `ferry link \
            BUNDLE_ID` shares it. A member deleted or replaced later ends the bundle (410).
            """)
    @OptionGroup var server: ServerOptions
    @Argument(help: "File ids, in archive order (1 to 1000).") var ids: [String]
    @Option(name: .long, help: "The archive's name (default bundle.zip).") var name: String?
    @Flag(name: .long, help: "Print the bundle as JSON instead of its id.") var json = false

    func validate() throws {
        guard (1...1000).contains(ids.count) else { throw ValidationError("Name 1 to 1000 file ids.") }
    }

    func run() async throws {
        try await ClientContext.run(server) { context in
            let bundle = try await context.api().createBundle(fileIDs: ids, name: name)
            if json {
                Terminal.out(try APIJSON.line(bundle))
            } else {
                Terminal.out(bundle.id)
            }
        }
    }
}
