/// Why a client call or a download failed, with the exit code CLI.md gives each cause.
public struct FerryClientError: Error, Sendable, CustomStringConvertible {
    /// The cause, as the command line reports it.
    public enum Kind: Sendable, Equatable {
        /// The network failed after retries; running again resumes.
        case network
        /// Not signed in, or not allowed (401, 403).
        case forbidden
        /// No such file, or gone (404, 410).
        case notFound
        /// The link expired and nothing can refresh it (a plain URL or a `/t/` link).
        case expired
        /// The bytes do not match the checksum the server published.
        case checksum
        /// The command was used wrongly.
        case usage
        /// Anything else.
        case unexpected
    }

    /// What kind of failure (decides the exit code).
    public var kind: Kind
    /// The API error code (`link_expired`, `forbidden`, ...) when the server sent one.
    public var code: String?
    /// HTTP status when the failure was an answer.
    public var status: Int?
    /// A sentence for a person.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String, code: String? = nil, status: Int? = nil) {
        self.kind = kind
        self.message = message
        self.code = code
        self.status = status
    }

    /// The process exit code (CLI.md "Exit codes").
    public var exitCode: Int32 {
        switch kind {
        case .unexpected: 1
        case .usage: 2
        case .network: 3
        case .forbidden: 4
        case .notFound: 5
        case .expired: 6
        case .checksum: 7
        }
    }

    public var description: String { message }

    /// The error an API answer describes (API.md error shape `{"error": {"code", "message"}}`).
    static func fromAnswer(status: Int, code: String?, message: String?) -> FerryClientError {
        let text = message ?? "The server answered \(status)."
        let kind: Kind =
            switch (status, code) {
            case (_, "link_expired"): .expired
            case (401, _), (403, _): .forbidden
            case (404, _), (410, _): .notFound
            case (400, _), (409, _), (412, _), (413, _), (415, _), (416, _): .unexpected
            case (429, _), (500..., _): .network
            default: .unexpected
            }
        return FerryClientError(kind, text, code: code, status: status)
    }
}
