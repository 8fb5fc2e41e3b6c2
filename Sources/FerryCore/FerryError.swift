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

        /// 400: malformed JSON, bad parameter (the message names it).
        public static let badRequest = Code(400, "bad_request")
        /// 400: uploaded bytes do not match the digest the client sent.
        public static let checksumMismatch = Code(400, "checksum_mismatch")
        /// 401: no or unknown credentials.
        public static let unauthenticated = Code(401, "unauthenticated")
        /// 401: a password-protected link without a password.
        public static let passwordRequired = Code(401, "password_required")
        /// 401: a password-protected link with the wrong password.
        public static let wrongPassword = Code(401, "wrong_password")
        /// 403: authenticated, but no right to this file or action.
        public static let forbidden = Code(403, "forbidden")
        /// 403: signed link checked after its expiry.
        public static let linkExpired = Code(403, "link_expired")
        /// 403: signed link altered, forged, or signed with a retired key.
        public static let invalidSignature = Code(403, "invalid_signature")
        /// 403: link bound to another client address.
        public static let ipMismatch = Code(403, "ip_mismatch")
        /// 403: the link was revoked (`DELETE /v1/links/{id}`).
        public static let linkRevoked = Code(403, "link_revoked")
        /// 404: no such file, or the caller may not know it exists (a caller who cannot see a file gets 404; one who can see it but not do the action gets 403).
        public static let notFound = Code(404, "not_found")
        /// 405: the route does not accept this method.
        public static let methodNotAllowed = Code(405, "method_not_allowed")
        /// 409: the resource changed meanwhile or the name is taken.
        public static let conflict = Code(409, "conflict")
        /// 409: a tus `PATCH` whose `Upload-Offset` is not the upload's current offset.
        public static let offsetMismatch = Code(409, "offset_mismatch")
        /// 409: a storage or CDN link cannot be recalled; it expires on its own.
        public static let notRevocable = Code(409, "not_revocable")
        /// 410: every download of a limited link is taken by other clients.
        public static let linkUsed = Code(410, "link_used")
        /// 410: the file was deleted after the link was issued.
        public static let fileGone = Code(410, "file_gone")
        /// 410: the file's content was replaced after the link was issued (the link is bound to one version).
        public static let fileChanged = Code(410, "file_changed")
        /// 412: `If-Match` / `If-Unmodified-Since` failed.
        public static let preconditionFailed = Code(412, "precondition_failed")
        /// 413: upload over the configured limit.
        public static let tooLarge = Code(413, "too_large")
        /// 415: upload media type not in the allowed list.
        public static let typeNotAllowed = Code(415, "type_not_allowed")
        /// 415: a tus `PATCH` body not sent as `application/offset+octet-stream` (tus 1.0.0).
        public static let unsupportedPatchType = Code(415, "unsupported_media_type")
        /// 416: see Ranges.
        public static let rangeNotSatisfiable = Code(416, "range_not_satisfiable")
        /// 423: another request is writing this upload right now; retry.
        public static let uploadLocked = Code(423, "upload_locked")
        /// 429: too many attempts; `Retry-After` says when to try again.
        public static let rateLimited = Code(429, "rate_limited")
        /// 431: the request head is over `RequestHeadLimits`.
        public static let requestHeaderTooLarge = Code(431, "request_header_too_large")
        /// 500: a bug on the server; the cause is logged, never shown.
        public static let internalError = Code(500, "internal_error")
        /// 503: catalog or storage unreachable; nothing is lost, retry later.
        public static let unavailable = Code(503, "unavailable")
        /// 460: a tus chunk does not match its `Upload-Checksum` (nothing of it kept).
        public static let chunkChecksumMismatch = Code(460, "checksum_mismatch")
        /// 507: the store has no room for this upload; nothing stored, downloads keep working.
        public static let insufficientStorage = Code(507, "insufficient_storage")
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
