import ArgumentParser
import FerryClient
import Foundation

/// `ferry login`: checks a URL and token against the server and saves them (mode 0600).
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Save the server URL and an API token for the other commands.",
        discussion: "The token is read from --token, FERRY_TOKEN, or a line on standard input (not echoed).")

    @OptionGroup var server: ServerOptions

    func run() async throws {
        var options = server
        if options.token == nil, ProcessInfo.processInfo.environment["FERRY_TOKEN"]?.isEmpty != false {
            if isatty(STDIN_FILENO) == 1, let typed = getpass("API token: ") {
                options.token = String(cString: typed)
            } else {
                options.token = readLine(strippingNewline: true)
            }
        }
        try await ClientContext.run(options) { context in
            guard let url = context.url, let token = context.token, !token.isEmpty else {
                throw FerryClientError(.usage, "Give the server with --url and a token with --token (or on stdin).")
            }
            let me = try await context.api().raw("/v1/session")
            try SavedLogin(url: url, token: token).save()
            Terminal.out(
                "Signed in to \(url) as \(me["username"]?.description ?? "?") (\(me["role"]?.description ?? "?")).")
            Terminal.out("Saved to \(SavedLogin.path) (mode 0600).")
        }
    }
}
