import FerryCore
import FerrySigV4

// The store owns its settings: `ferry serve` hands it the variables, and what it cannot use stops
// the start naming the variable (never a fallback to AWS's endpoint with the credentials given).
extension S3Configuration {
    /// Reads `s3://bucket[/prefix]` (the value of `FERRY_STORAGE`) with `FERRY_S3_REGION`,
    /// `FERRY_S3_ENDPOINT`, `FERRY_S3_PUBLIC_ENDPOINT`, `FERRY_S3_PATH_STYLE` and the credentials
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
    public init(storage text: String, source: ConfigurationSource) throws(ConfigurationError) {
        let rest = text.dropFirst("s3://".count)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let bucket = String(parts[0])
        guard text.hasPrefix("s3://"), Self.isValidBucketName(bucket) else {
            throw ConfigurationError(variable: "FERRY_STORAGE", problem: "'\(bucket)' is not a valid S3 bucket name")
        }
        var prefix = parts.count > 1 ? String(parts[1]) : ""
        while prefix.hasSuffix("/") { prefix.removeLast() }
        let region = source.string("FERRY_S3_REGION") ?? "us-east-1"
        guard region.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }) else {
            throw ConfigurationError(
                variable: "FERRY_S3_REGION", problem: "'\(region)' is not a region name like eu-west-3")
        }
        let pathStyle = try source.boolean("FERRY_S3_PATH_STYLE", default: false)
        guard let accessKeyID = source.string("AWS_ACCESS_KEY_ID") else {
            throw ConfigurationError(
                variable: "AWS_ACCESS_KEY_ID",
                problem: "is not set; S3 storage needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        guard let secret = source.string("AWS_SECRET_ACCESS_KEY") else {
            throw ConfigurationError(
                variable: "AWS_SECRET_ACCESS_KEY",
                problem: "is not set; S3 storage needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        self.init(
            bucket: bucket, prefix: prefix, region: region,
            endpoint: try Self.endpoint("FERRY_S3_ENDPOINT", source),
            publicEndpoint: try Self.endpoint("FERRY_S3_PUBLIC_ENDPOINT", source), pathStyle: pathStyle,
            credentials: AWSCredentials(
                accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: source.string("AWS_SESSION_TOKEN")))
    }

    /// An endpoint variable, parsed by `S3Endpoint(parsing:)`: the one parser of endpoints.
    static func endpoint(_ variable: String, _ source: ConfigurationSource) throws(ConfigurationError) -> S3Endpoint? {
        guard let text = source.string(variable) else { return nil }
        if text.contains("@") {
            throw ConfigurationError(
                variable: variable,
                problem: "holds user info (user@host), which an S3 endpoint cannot use; "
                    + "give the credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        guard let endpoint = S3Endpoint(parsing: text) else {
            throw ConfigurationError(
                variable: variable, problem: "expected http(s)://host[:port] with no user, path or query, got '\(text)'"
            )
        }
        return endpoint
    }
}

// The secret key and session token never reach a log line through a description.
extension S3Configuration: RedactedDescription {
    public var description: String {
        "s3://\(bucket)/\(prefix) region=\(region) endpoint=\(endpoint) publicEndpoint=\(publicEndpoint) "
            + "pathStyle=\(pathStyle) accessKeyID=\(credentials.accessKeyID) secretAccessKey=<redacted>"
    }
}

extension S3BlobStore {
    /// How the store reaches its bucket.
    public typealias Configuration = S3Configuration
}
