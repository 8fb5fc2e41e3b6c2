import AsyncHTTPClient
import FerryCatalogPostgres
import FerryCore
import FerrySigV4
import FerryStorageS3
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// `ferry doctor` (CLI.md "Deployment check"): the deployment a configuration describes, checked
/// the way links fail in production. Every probe is bounded in time; nothing secret is printed;
/// the only change is a probe object written, read back and deleted.
public struct Doctor: Sendable {
    /// One check's outcome, a line of the report.
    public struct Check: Sendable, Equatable, Codable {
        /// The stable dotted name, e.g. `storage.probe`.
        public var check: String
        /// `ok`, `warn`, `fail` or `skip`.
        public var status: Status
        /// What was found.
        public var detail: String
        /// What to do about it; nil when ok.
        public var fix: String?

        /// The outcome of a check.
        public enum Status: String, Sendable, Codable {
            case ok, warn, fail, skip
        }

        /// Creates a check.
        public init(_ check: String, _ status: Status, _ detail: String, fix: String? = nil) {
            self.check = check
            self.status = status
            self.detail = detail
            self.fix = fix
        }

        enum CodingKeys: String, CodingKey { case check, status, detail, fix }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(check, forKey: .check)
            try c.encode(status, forKey: .status)
            try c.encode(detail, forKey: .detail)
            try c.encode(fix, forKey: .fix)  // null when ok, as CLI.md shows
        }
    }

    let configuration: FerryConfiguration
    /// The variables the configuration was read from (environment, then the --config file).
    let variables: [String: String]
    let logger: Logger
    /// This host's clock; a test hook shifts it (debug builds only, `FERRY_TEST_CLOCK_OFFSET`).
    let now: @Sendable () -> Date
    /// How long any one probe may take.
    let timeout: TimeAmount

    /// Creates a doctor for a parsed configuration.
    public init(
        configuration: FerryConfiguration, variables: [String: String], logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }, timeout: TimeAmount = .seconds(5)
    ) {
        self.configuration = configuration
        self.variables = variables
        self.logger = logger
        self.now = now
        self.timeout = timeout
    }

    /// Every variable Ferry reads (README "Configuration"); anything else named `FERRY_*` is a typo.
    static let knownVariables: Set<String> = [
        "FERRY_LISTEN", "FERRY_PUBLIC_URL", "FERRY_DATA_DIR", "FERRY_DATABASE_URL", "FERRY_DATABASE_POOL",
        "FERRY_DATABASE_TIMEOUT", "FERRY_STORAGE", "FERRY_S3_ENDPOINT", "FERRY_S3_REGION", "FERRY_S3_PATH_STYLE",
        "FERRY_S3_PUBLIC_ENDPOINT", "FERRY_SIGNING_KEYS", "FERRY_LINK_TTL", "FERRY_LINK_TTL_MAX",
        "FERRY_PROXY_MAX_BYTES", "FERRY_MAX_UPLOAD_BYTES", "FERRY_ALLOWED_TYPES", "FERRY_CORS_ORIGINS",
        "FERRY_BOOTSTRAP_TOKEN", "FERRY_BOOTSTRAP_PASSWORD", "FERRY_TRUSTED_PROXIES", "FERRY_UPLOAD_EXPIRY",
        "FERRY_SHUTDOWN_GRACE", "FERRY_IDLE_TIMEOUT", "FERRY_SEND_TIMEOUT", "FERRY_METRICS_TOKEN",
        "FERRY_CLOUDFRONT_DOMAIN", "FERRY_CLOUDFRONT_KEY_PAIR_ID",
        "FERRY_CLOUDFRONT_PRIVATE_KEY_FILE", "FERRY_CLOUDFRONT_HASH",
        // The client's, harmless in a server's environment.
        "FERRY_URL", "FERRY_TOKEN", "FERRY_LINK_PASSWORD", "FERRY_TEST_CLOCK_OFFSET",
    ]

    /// Runs every check, in order.
    public func run() async -> [Check] {
        var checks = configurationChecks()
        checks += await catalogChecks()
        checks += await storageChecks()
        checks.append(signingKeysCheck())
        if let cloudFront = await cloudFrontCheck() { checks.append(cloudFront) }
        checks += await serviceChecks()
        return checks
    }

    // MARK: Configuration

    func configurationChecks() -> [Check] {
        var checks = [Check("config.parse", .ok, "every variable parses (the same code as `ferry serve`)")]
        // FERRY_TEST_* belong to the test harness (scripts/test), not to a deployment.
        let unknown = variables.keys.filter {
            $0.hasPrefix("FERRY_") && !$0.hasPrefix("FERRY_TEST_") && !Self.knownVariables.contains($0)
        }.sorted()
        checks.append(
            unknown.isEmpty
                ? Check("config.unknown_variables", .ok, "no unknown FERRY_* variable")
                : Check(
                    "config.unknown_variables", .warn, "unknown variables (typos?): \(unknown.joined(separator: ", "))",
                    fix: "Rename or remove them; README \"Configuration\" lists every variable Ferry reads."))
        let url = URL(string: configuration.publicURL)
        let host = url?.host ?? ""
        let loopback = host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
        if configuration.publicURLNamesNoHost {
            checks.append(
                Check(
                    "config.public_url", .warn, configuration.publicURLNamesNoHostWarning,
                    fix: configuration.publicURLNamesNoHostFix))
        } else if configuration.isSecure || loopback {
            checks.append(Check("config.public_url", .ok, "public URL \(configuration.publicURL)"))
        } else {
            checks.append(
                Check(
                    "config.public_url", .warn,
                    "public URL \(configuration.publicURL) is plain http on a non-loopback host: links and session cookies travel in clear and cookies lack Secure",
                    fix: "Put TLS in front and set FERRY_PUBLIC_URL=https://..."))
        }
        if case .s3 = configuration.storage, configuration.linkTTLMax > LinkIssuer.storageTTLMax {
            checks.append(
                Check(
                    "config.link_ttl", .warn,
                    "FERRY_LINK_TTL_MAX is \(configuration.linkTTLMax) s, above the 7 days a storage link can live",
                    fix: "Set FERRY_LINK_TTL_MAX=604800 or less; longer links are refused for storage delivery."))
        } else {
            checks.append(
                Check(
                    "config.link_ttl", .ok, "link TTL \(configuration.linkTTL) s, at most \(configuration.linkTTLMax) s"
                ))
        }
        return checks
    }

    // MARK: Helpers

    /// Runs `body`, failing when it takes longer than `timeout`.
    func bounded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let limit = Duration.nanoseconds(timeout.nanoseconds)
        do {
            return try await Deadline.run(within: limit, body)
        } catch is Deadline.Expired {
            throw DoctorFailure("no answer within \(limit)")
        }
    }

    /// An HTTP client that fails at once on a refused connection (instead of retrying it until
    /// the deadline), for probes.
    static func httpClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// `path` or its nearest ancestor that exists.
    static func nearestExisting(_ path: String) -> String {
        var url = URL(fileURLWithPath: path).standardizedFileURL
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" { url.deleteLastPathComponent() }
        return url.path
    }

    static func describe(_ error: any Error) -> String {
        // The administrator reads this: the cause a client is never shown (the store's own error,
        // "S3 PutObject failed (404 NoSuchBucket) ..."), rather than the client's message, which
        // for a misconfigured store sends them back here ("`ferry doctor` checks it").
        if let error = error as? FerryError { return error.underlying.map(describe) ?? error.message }
        if let error = error as? DoctorFailure { return error.description }
        if let error = error as? IOError {
            // NIO's words for a refused connection read "connection reset (error set): Connection
            // refused (errno: 111)"; the system's message says it plainly (no "is the server running
            // there?": each check says what it expected to find).
            return String(cString: strerror(error.errnoCode)).lowercased()
        }
        return NetworkFailure.describe(error)
    }
}

/// Why a probe failed, in words.
struct DoctorFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
