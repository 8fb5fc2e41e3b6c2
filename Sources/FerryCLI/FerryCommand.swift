import ArgumentParser

/// The `ferry` command: the server and the client in one binary.
public struct FerryCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Secure, resumable file delivery: the server and its command-line client.",
        subcommands: [ServeCommand.self])

    public init() {}
}

/// The executable's entry point.
public enum FerryMain {
    /// Parses the process arguments and runs the command, exiting with its code.
    public static func run() async {
        await FerryCommand.main()
    }
}
