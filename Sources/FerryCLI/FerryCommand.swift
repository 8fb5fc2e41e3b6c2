import ArgumentParser
import FerryBuildInfo
import Foundation

/// The `ferry` command: the server and the client in one binary.
public struct FerryCommand: AsyncParsableCommand {
    /// The command tree: `serve` and the client commands.
    public static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Secure, resumable file delivery: the server and its command-line client.",
        discussion: """
            Client commands find the server and token in --url/--token, then FERRY_URL/FERRY_TOKEN, \
            then what `ferry login` saved ($XDG_CONFIG_HOME/ferry/config, mode 0600). \
            Shell completion: `ferry --generate-completion-script bash` (or zsh, fish).
            """,
        version: "ferry " + FerryVersion.description,
        subcommands: [
            ServeCommand.self, LoginCommand.self, GetCommand.self, PutCommand.self, ListCommand.self,
            InfoCommand.self, RemoveCommand.self, LinkCommand.self, LinksCommand.self, RevokeLinkCommand.self,
            ShareCommand.self, UnshareCommand.self, UsersCommand.self, PasswdCommand.self, TokensCommand.self,
            AuditCommand.self, BundleCommand.self, DoctorCommand.self,
        ])

    /// Creates the root command (ArgumentParser fills it in).
    public init() {}
}

/// The executable's entry point.
public enum FerryMain {
    /// Parses the process arguments; a usage error exits here with 2 (CLI.md), not
    /// ArgumentParser's 64.
    public static func parse() -> any ParsableCommand {
        do {
            return try FerryCommand.parseAsRoot()
        } catch {
            exit(error)
        }
    }

    /// Whether the command is the server, which runs Swift concurrency's jobs on SwiftNIO's event
    /// loops (see `main.swift`).
    public static func isServer(_ command: any ParsableCommand) -> Bool { command is ServeCommand }

    /// Runs a parsed command, exiting with its code.
    public static func run(_ command: any ParsableCommand) async {
        var command = command
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(error)
        }
    }

    static func exit(_ error: any Error) -> Never {
        if FerryCommand.exitCode(for: error) == .validationFailure {
            FileHandle.standardError.write(Data((FerryCommand.fullMessage(for: error) + "\n").utf8))
            FerryCommand.exit(withError: ExitCode(2))
        }
        FerryCommand.exit(withError: error)
    }
}
