/// The one error type Ferry surfaces: an opaque code (with its HTTP status and API string),
/// a message that is safe to show a client, and an underlying error that is only ever logged.
public struct FerryError: Error, Sendable, CustomStringConvertible {
    /// A stable machine code, carrying its HTTP status and API code string.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The HTTP status this code maps to.
        public let status: Int
        /// The API code string, e.g. `link_expired`.
        public let rawValue: String

        init(_ status: Int, _ rawValue: String) {
            self.status = status
            self.rawValue = rawValue
        }

        public var description: String { rawValue }

        public static let badRequest = Code(400, "bad_request")
        public static let checksumMismatch = Code(400, "checksum_mismatch")
        public static let unauthenticated = Code(401, "unauthenticated")
        public static let forbidden = Code(403, "forbidden")
        public static let linkExpired = Code(403, "link_expired")
        public static let invalidSignature = Code(403, "invalid_signature")
        public static let ipMismatch = Code(403, "ip_mismatch")
        public static let linkRevoked = Code(403, "link_revoked")
        public static let notFound = Code(404, "not_found")
        public static let methodNotAllowed = Code(405, "method_not_allowed")
        public static let conflict = Code(409, "conflict")
        public static let notRevocable = Code(409, "not_revocable")
        public static let linkUsed = Code(410, "link_used")
        public static let fileGone = Code(410, "file_gone")
        public static let fileChanged = Code(410, "file_changed")
        public static let preconditionFailed = Code(412, "precondition_failed")
        public static let tooLarge = Code(413, "too_large")
        public static let typeNotAllowed = Code(415, "type_not_allowed")
        public static let rangeNotSatisfiable = Code(416, "range_not_satisfiable")
        public static let rateLimited = Code(429, "rate_limited")
        public static let requestHeaderTooLarge = Code(431, "request_header_too_large")
        public static let internalError = Code(500, "internal_error")
        public static let unavailable = Code(503, "unavailable")
    }

    /// The machine code.
    public let code: Code
    /// A sentence a person can act on; safe to render to the client.
    public let message: String
    /// The cause, for logs only; never rendered.
    public let underlying: (any Error)?
    /// Seconds to wait before retrying (429, 503).
    public let retryAfter: Int?

    /// Creates an error with a code, a client-safe message and an optional cause.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

extension FerryError {
    /// The catalog or storage could not be reached.
    public static func unavailable(_ what: String, underlying: (any Error)? = nil) -> FerryError {
        FerryError(
            .unavailable, "The \(what) is unreachable right now; nothing was lost. Retry in a few seconds.",
            underlying: underlying, retryAfter: 5)
    }

    /// No such file, or the caller may not know it exists.
    public static let fileNotFound = FerryError(.notFound, "No such file, or you do not have access to it.")
}
