import FerryClient
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Passwords read the way CLI.md says: from a file (its first line), or typed on the terminal
/// without echo. Never from a command-line value (it would show in `ps` and shell history).
enum PasswordInput {
    /// The first line of `path` (without its `\n` or `\r\n`). A pipe works too, as with
    /// `--password-file <(pass show ferry/link)`: read to its end, never by its (zero) size.
    static func firstLine(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FerryClientError(.usage, "Cannot read \(path): \(String(cString: strerror(errno))).")
        }
        defer { try? handle.close() }
        // A password is short; a larger file is not a password file.
        guard let data = try? handle.read(upToCount: 64 * 1024) ?? Data(),
            let text = String(data: data, encoding: .utf8)
        else {
            throw FerryClientError(.usage, "Cannot read \(path) as UTF-8 text.")
        }
        // Not `split(separator: "\n")`: Swift reads a Windows line end `\r\n` as one Character.
        return String(text.prefix { !$0.isNewline })
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
