import FerryCore
import XMLCoder

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An error answer of an S3-compatible service (its XML `<Error>` body), or a transport failure.
/// The description names the operation, status, S3 code and request id; never credentials.
public struct S3Error: Error, Sendable, CustomStringConvertible {
    /// The call that failed, e.g. `GetObject`.
    public var operation: String
    /// HTTP status, or nil when no response arrived.
    public var status: Int?
    /// S3's error code (`NoSuchKey`, `AccessDenied`, `SlowDown`, ...), or a transport description.
    public var code: String
    /// What S3 said.
    public var message: String
    /// S3's request id, for support.
    public var requestID: String?
    /// Attempts made before giving up.
    public var attempts: Int

    /// Creates an error.
    public init(
        operation: String, status: Int?, code: String, message: String, requestID: String? = nil, attempts: Int = 1
    ) {
        self.operation = operation
        self.status = status
        self.code = code
        self.message = message
        self.requestID = requestID
        self.attempts = attempts
    }

    public var description: String {
        let status = self.status.map(String.init) ?? "no response"
        return "S3 \(operation) failed (\(status) \(code)): \(message)"
            + (requestID.map { " [request \($0)]" } ?? "") + (attempts > 1 ? " after \(attempts) attempts" : "")
    }

    /// What S3-compatible servers answer when they are out of space or over a quota: MinIO's
    /// 507, Ceph RGW's quota, and the generic 507 name.
    static let storageFullCodes: Set<String> = ["XMinioStorageFull", "QuotaExceeded", "InsufficientStorage"]

    /// Whether retrying the same idempotent call may succeed.
    public var isRetryable: Bool {
        guard let status else { return true }
        if Self.storageFullCodes.contains(code) { return false }
        return status >= 500 || status == 429 || code == "SlowDown" || code == "RequestTimeout"
            || code == "InternalError" || code == "RequestTimeTooSkewed"
    }

    /// The error an S3 response body describes (`<Error><Code>...`), falling back to the status.
    static func from(operation: String, status: Int, body: [UInt8], requestID: String?) -> S3Error {
        if let parsed = try? S3XML.decoder().decode(ErrorBody.self, from: Data(body)) {
            return S3Error(
                operation: operation, status: status, code: parsed.code, message: parsed.message ?? "",
                requestID: parsed.requestId ?? requestID)
        }
        let code =
            switch status {
            case 404: "NotFound"
            case 403: "AccessDenied"
            case 412: "PreconditionFailed"
            case 416: "InvalidRange"
            case 503: "SlowDown"
            default: "HTTP\(status)"
            }
        return S3Error(operation: operation, status: status, code: code, message: "", requestID: requestID)
    }

    /// What Ferry tells its own clients: missing bytes are 404 as on local disk, an unsatisfiable
    /// range is 416, everything else (credentials refused, bucket missing, outage) is 503 with the
    /// details kept for the log.
    public var ferryError: FerryError {
        switch code {
        case "NoSuchKey", "NotFound":
            return FerryError(.notFound, "The file's bytes are missing from storage.", underlying: self)
        case "InvalidRange":
            return FerryError(.rangeNotSatisfiable, "The range is outside the stored file.", underlying: self)
        case "EntityTooLarge":
            return FerryError(.tooLarge, "The storage refused an object this large.", underlying: self)
        case _ where Self.storageFullCodes.contains(code):
            return FerryError(
                .insufficientStorage,
                "The server's storage has no room for this upload; nothing was stored. Downloads keep working; try again once the administrator has freed space.",
                underlying: self)
        case _ where Self.configurationCodes.contains(code):
            // Retrying will not help until an administrator fixes the bucket or the credentials.
            return FerryError(
                .unavailable,
                "The server's storage refused the request: its configuration needs the administrator (the server log says why; `ferry doctor` checks it). Nothing was lost; retry once it is fixed.",
                underlying: self, retryAfter: 60)
        default:
            return FerryError.unavailable("storage", underlying: self)
        }
    }

    /// S3 codes that say the bucket, the region or the credentials are wrong: no retry helps.
    static let configurationCodes: Set<String> = [
        "NoSuchBucket", "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch",
        "AuthorizationHeaderMalformed", "InvalidBucketName", "PermanentRedirect", "ExpiredToken",
        "InvalidToken", "AccountProblem",
    ]

    struct ErrorBody: Decodable {
        var code: String
        var message: String?
        var requestId: String?
    }
}
