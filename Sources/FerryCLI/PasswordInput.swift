import FerryClient
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Passwords read the way CLI.md says: from a file (its first line), or typed on the terminal
/// without echo. Never from a command-line value (it would show in `ps` and shell history).
enum PasswordInput {
    /// The first line of `path`.
    static func firstLine(ofFile path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FerryClientError(.usage, "Cannot read \(path).")
        }
        return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
    }

    /// Whether a person can be asked (standard input is a terminal).
    static var canAsk: Bool { isatty(STDIN_FILENO) == 1 }

    /// Asks once, not echoed.
    static func ask(_ prompt: String) -> String {
        getpass(prompt).map { String(cString: $0) } ?? ""
    }

    /// Asks twice, not echoed; the two must agree.
    static func askNew(_ prompt: String) throws -> String {
        let first = ask(prompt)
        guard first == ask("Again: ") else {
            throw FerryClientError(.usage, "The two passwords differ; nothing was changed.")
        }
        return first
    }
}
