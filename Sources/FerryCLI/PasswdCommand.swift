import ArgumentParser
import FerryClient
import Foundation

/// `ferry passwd [USER]`: sets a password for the web app's sign-in, through the API (an admin
/// for anyone, a user for itself). The first start's admin has only a token: this is how it gets
/// a password when the printed sign-in link was not used in time.
struct PasswdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd", abstract: "Set a user's password for the web app (yours by default).",
        discussion: """
            The new password is read from --password-file, else asked twice on the terminal (not echoed), \
            else read as one line from standard input. At least 8 characters.
            """)

    @OptionGroup var server: ServerOptions
    @Argument(help: "Username (default: the token's own user).") var user: String?
    @Option(name: .long, help: "Read the new password from this file (its first line).") var passwordFile: String?

    func run() async throws {
        try await ClientContext.run(server) { context in
            let api = try context.api()
            let username: String
            if let user {
                username = user
            } else {
                guard case .string(let me)? = try await api.raw("/v1/session")["username"] else {
                    throw FerryClientError(.unexpected, "The server did not say who this token belongs to.")
                }
                username = me
            }
            let password = try readPassword(for: username)
            try await api.setPassword(username: username, password: password)
            Terminal.out("Password set for \(username); it signs in at \(context.url ?? "the server")/login.")
        }
    }

    func readPassword(for username: String) throws -> String {
        if let passwordFile { return try PasswordInput.firstLine(ofFile: passwordFile) }
        if PasswordInput.canAsk { return try PasswordInput.askNew("New password for \(username): ") }
        return readLine(strippingNewline: true) ?? ""
    }
}
