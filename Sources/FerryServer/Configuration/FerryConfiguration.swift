import Configuration
import FerryCatalogPostgres
import FerryCore
import FerryStorageS3
import Foundation
import Logging

/// Everything `ferry serve` reads from its environment, in one place (API.md "Configuration").
///
/// Values are read through swift-configuration's `EnvironmentVariablesProvider`; each is then
/// validated here so that a bad value stops the server with one line naming the variable.
public struct FerryConfiguration: Sendable {
    /// Host to bind (`FERRY_LISTEN`, default `127.0.0.1:8080`).
    public var host: String
    /// Port to bind; 0 picks a free port (tests).
    public var port: Int
    /// Base of absolute URLs (`FERRY_PUBLIC_URL`, default `http://<FERRY_LISTEN>`), no trailing slash.
    public var publicURL: String
    /// Embedded catalog and local blobs (`FERRY_DATA_DIR`, default `./ferry-data`).
    public var dataDirectory: String
    /// The catalog (`FERRY_DATABASE_URL`, default `sqlite://<data dir>/ferry.sqlite`).
    public var database: Database
    /// The blob store (`FERRY_STORAGE`, default `file://<data dir>/blobs`).
    public var storage: Storage
    /// Seconds in-flight requests may take to finish after SIGTERM or SIGINT before they are
    /// cancelled (`FERRY_SHUTDOWN_GRACE`, 30); clients resume cut downloads with ranges.
    public var shutdownGrace: Int
    /// Seconds a connection may sit without a complete request part: an idle keep-alive, or a
    /// request head or body trickled slower (slowloris) (`FERRY_IDLE_TIMEOUT`, 60, nginx's
    /// `client_header_timeout`).
    public var idleTimeout: Int
    /// Seconds a client may read nothing of a response before the connection is cut
    /// (`FERRY_SEND_TIMEOUT`, 60, nginx's `send_timeout`); during shutdown, one second.
    public var sendTimeout: Int
    /// Default link lifetime in seconds (`FERRY_LINK_TTL`, 300).
    public var linkTTL: Int
    /// Longest link lifetime in seconds (`FERRY_LINK_TTL_MAX`, 86400).
    public var linkTTLMax: Int
    /// Broker streams below this size and redirects at or above (`FERRY_PROXY_MAX_BYTES`, 5 MiB).
    public var proxyMaxBytes: Int64
    /// Largest upload in bytes (`FERRY_MAX_UPLOAD_BYTES`, 10 GiB).
    public var maxUploadBytes: Int64
    /// Seconds an unfinished tus upload is kept (`FERRY_UPLOAD_EXPIRY`, 7 days).
    public var uploadExpiry: Int
    /// Allowed upload media types (`FERRY_ALLOWED_TYPES`, nil = any); `image/*` wildcards.
    public var allowedTypes: [String]?
    /// Origins allowed to call the API from a browser (`FERRY_CORS_ORIGINS`).
    public var corsOrigins: [String]
    /// The admin's first API token (`FERRY_BOOTSTRAP_TOKEN`).
    public var bootstrapToken: String?
    /// The admin's first password (`FERRY_BOOTSTRAP_PASSWORD`).
    public var bootstrapPassword: String?
    /// Networks whose `X-Forwarded-For` is believed (`FERRY_TRUSTED_PROXIES`).
    public var trustedProxies: [CIDR]
    /// Bearer token `/metrics` requires when set (`FERRY_METRICS_TOKEN`).
    public var metricsToken: String?
    /// CDN delivery (`FERRY_CLOUDFRONT_*`, parsed by the store's own parser); nil when not configured.
    public var cloudFront: CloudFrontURLSigner.Configuration?
    /// Link signing keys, first signs, all verify (`FERRY_SIGNING_KEYS`); nil = generated into the data dir.
    public var signingKeys: [SigningKey]?

    /// Where the catalog lives; each backend's settings are its own type, parsed by its own parser.
    public enum Database: Sendable, Equatable {
        case sqlite(path: String)
        /// `FERRY_DATABASE_URL=postgres://...`, `FERRY_DATABASE_POOL`, `FERRY_DATABASE_TIMEOUT`.
        case postgres(PostgresCatalog.Configuration)
    }

    /// Where blobs live.
    public enum Storage: Sendable, Equatable {
        case local(root: String)
        /// `FERRY_STORAGE=s3://bucket[/prefix]` with `FERRY_S3_*` and `AWS_*`.
        case s3(S3BlobStore.Configuration)
    }

    /// One HMAC key for signed links.
    public struct SigningKey: Sendable, Equatable {
        /// The id (random, URL-safe).
        public var id: String
        /// The key bytes (never printed).
        public var secret: [UInt8]

        /// Creates a key.
        public init(id: String, secret: [UInt8]) {
            self.id = id
            self.secret = secret
        }
    }

    /// A configuration error: one line naming the variable, never its value when it is a secret.
    public typealias Invalid = ConfigurationError

    /// Variables whose values are secrets and never printed.
    static let secretVariables = [
        "FERRY_BOOTSTRAP_TOKEN", "FERRY_BOOTSTRAP_PASSWORD", "FERRY_METRICS_TOKEN", "FERRY_SIGNING_KEYS",
        "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "FERRY_DATABASE_URL",
    ]

    /// Reads and validates the configuration from environment variables.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        try self.init(providers: [Self.provider(environment)])
    }

    /// Reads the environment and, beneath it, a file of the same `FERRY_*=value` lines (systemd's
    /// EnvironmentFile and `docker --env-file` format): a variable set in the environment wins.
    /// A file that holds a secret must be readable by its owner only.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment, file: String
    ) async throws -> FerryConfiguration {
        guard FileManager.default.fileExists(atPath: file) else {
            throw Invalid(variable: "--config", problem: "\(file) does not exist")
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw Invalid(variable: "--config", problem: "cannot read \(file)")
        }
        let lines = Self.lines(of: text).map { $0.drop { $0 == " " || $0 == "\t" } }
        if let index = lines.firstIndex(where: { $0.hasPrefix("export ") }) {
            throw Invalid(
                variable: "--config",
                problem: "line \(index + 1) of \(file) starts with 'export'; write FERRY_NAME=value lines")
        }
        let variables = Self.variables(inFile: text)
        if let first = Self.secretVariables.first(where: { variables[$0] != nil }) {
            try SecretFile.checkMode(file, variable: first)
        }
        return try FerryConfiguration(providers: [Self.provider(environment), Self.provider(variables)])
    }

    /// The lines of a configuration file, ended by `\n` or by `\r\n` (a file saved on Windows).
    /// Swift reads `\r\n` as one `Character`, so splitting on `"\n"` keeps such a file whole —
    /// swift-configuration's own env-file parser does, which is why `load` parses the file here.
    static func lines(of text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
    }

    /// The `NAME=value` lines of a configuration file, by swift-configuration's env-file rules:
    /// names and values trimmed, blank lines, `#` comments and lines without `=` or a name passed
    /// over, the last of a repeated name kept.
    public static func variables(inFile text: String) -> [String: String] {
        var variables: [String: String] = [:]
        for line in lines(of: text) {
            let pair = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { continue }
            let name = pair[0].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, !name.hasPrefix("#") else { continue }
            variables[name] = pair[1].trimmingCharacters(in: .whitespaces)
        }
        return variables
    }

    /// The environment as swift-configuration reads it, its secrets marked as such.
    static func provider(_ environment: [String: String]) -> EnvironmentVariablesProvider {
        EnvironmentVariablesProvider(
            environmentVariables: environment, secretsSpecifier: .specific(Set(secretVariables)))
    }

    /// Reads and validates the configuration from providers, the first that has a value winning.
    init(providers: [any ConfigProvider]) throws {
        let env = Reader(reader: ConfigReader(providers: providers))

        let listen = env.string("FERRY_LISTEN") ?? "127.0.0.1:8080"
        (host, port) = try Self.parseListen(listen)
        let public_ = env.string("FERRY_PUBLIC_URL") ?? "http://\(listen)"
        publicURL = try Self.parsePublicURL(public_)
        dataDirectory = env.string("FERRY_DATA_DIR") ?? "./ferry-data"
        if dataDirectory.isEmpty { throw Invalid(variable: "FERRY_DATA_DIR", problem: "must not be empty") }
        let source = env.source
        database = try Self.parseDatabase(
            env.string("FERRY_DATABASE_URL"), dataDirectory: dataDirectory, source: source)
        storage = try Self.parseStorage(env.string("FERRY_STORAGE"), dataDirectory: dataDirectory, source: source)
        cloudFront = try CloudFrontURLSigner.Configuration(source: source)
        if cloudFront != nil, case .local = storage {
            throw Invalid(
                variable: "FERRY_CLOUDFRONT_DOMAIN", problem: "CloudFront delivery needs FERRY_STORAGE=s3://...")
        }
        shutdownGrace = try env.integer("FERRY_SHUTDOWN_GRACE", default: 30, range: 0...86_400, unit: "seconds")
        idleTimeout = try env.integer("FERRY_IDLE_TIMEOUT", default: 60, range: 1...86_400, unit: "seconds")
        sendTimeout = try env.integer("FERRY_SEND_TIMEOUT", default: 60, range: 1...86_400, unit: "seconds")
        linkTTL = try env.integer("FERRY_LINK_TTL", default: 300, range: 1...604_800, unit: "seconds")
        linkTTLMax = try env.integer("FERRY_LINK_TTL_MAX", default: 86_400, range: 1...31_536_000, unit: "seconds")
        if linkTTL > linkTTLMax {
            throw Invalid(variable: "FERRY_LINK_TTL", problem: "is above FERRY_LINK_TTL_MAX (\(linkTTLMax))")
        }
        proxyMaxBytes = Int64(
            try env.integer("FERRY_PROXY_MAX_BYTES", default: 5_242_880, range: 0...Int.max, unit: "bytes"))
        maxUploadBytes = Int64(
            try env.integer("FERRY_MAX_UPLOAD_BYTES", default: 10_737_418_240, range: 1...Int.max, unit: "bytes"))
        uploadExpiry = try env.integer("FERRY_UPLOAD_EXPIRY", default: 604_800, range: 60...31_536_000, unit: "seconds")
        allowedTypes = try env.string("FERRY_ALLOWED_TYPES").map(Self.parseTypes)
        corsOrigins = try (env.string("FERRY_CORS_ORIGINS") ?? "").split(separator: ",").map {
            try Self.parseOrigin(String($0).trimmingCharacters(in: .whitespaces))
        }
        bootstrapToken = env.string("FERRY_BOOTSTRAP_TOKEN")
        if let token = bootstrapToken, token.utf8.count < 16 {
            throw Invalid(
                variable: "FERRY_BOOTSTRAP_TOKEN", problem: "is shorter than 16 characters; use a long random value")
        }
        bootstrapPassword = env.string("FERRY_BOOTSTRAP_PASSWORD")
        if let password = bootstrapPassword, password.count < 8 {
            throw Invalid(variable: "FERRY_BOOTSTRAP_PASSWORD", problem: "is shorter than 8 characters")
        }
        trustedProxies = try (env.string("FERRY_TRUSTED_PROXIES") ?? "").split(separator: ",").map { text in
            guard let cidr = CIDR(String(text).trimmingCharacters(in: .whitespaces)) else {
                throw Invalid(variable: "FERRY_TRUSTED_PROXIES", problem: "'\(text)' is not a CIDR like 10.0.0.0/8")
            }
            return cidr
        }
        metricsToken = env.string("FERRY_METRICS_TOKEN")
        signingKeys = try env.string("FERRY_SIGNING_KEYS").map(Self.parseSigningKeys)
    }

    /// A thin wrapper that treats an empty variable as unset.
    struct Reader {
        let reader: ConfigReader

        func string(_ variable: String) -> String? {
            let key = variable.lowercased().split(separator: "_").joined(separator: ".")
            let secret = FerryConfiguration.secretVariables.contains(variable)
            guard let value = reader.string(forKey: ConfigKey(key), isSecret: secret), !value.isEmpty else {
                return nil
            }
            return value
        }

        func integer(_ variable: String, default value: Int, range: ClosedRange<Int>, unit: String) throws -> Int {
            try source.integer(variable, default: value, range: range, unit: unit)
        }

        /// The same values for the backends' own parsers.
        var source: ConfigurationSource {
            ConfigurationSource { [reader] variable in
                let key = variable.lowercased().split(separator: "_").joined(separator: ".")
                let secret = FerryConfiguration.secretVariables.contains(variable)
                return reader.string(forKey: ConfigKey(key), isSecret: secret)
            }
        }
    }
}

// Secrets never reach a log line through a description: ServiceLifecycle logs its services (and with
// them everything they hold) with `String(describing:)` at debug level, and a test greps the log.
extension FerryConfiguration: RedactedDescription {
    public var description: String {
        "FerryConfiguration(listen: \(host):\(port), publicURL: \(publicURL), dataDirectory: \(dataDirectory), "
            + "database: \(database), storage: \(storage), bootstrapToken: \(Self.redacted(bootstrapToken)), "
            + "bootstrapPassword: \(Self.redacted(bootstrapPassword)), metricsToken: \(Self.redacted(metricsToken)), "
            + "signingKeys: \(signingKeys.map { "\($0)" } ?? "generated"))"
    }

    static func redacted(_ secret: String?) -> String { secret == nil ? "none" : "<redacted>" }
}

extension FerryConfiguration.Database: RedactedDescription {
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite(\(path))"
        case .postgres(let configuration): "postgres(\(configuration))"
        }
    }
}

extension FerryConfiguration.Storage: RedactedDescription {
    public var description: String {
        switch self {
        case .local(let root): "local(\(root))"
        case .s3(let configuration): "\(configuration)"
        }
    }
}

extension FerryConfiguration.SigningKey: RedactedDescription {
    public var description: String { "SigningKey(id: \(id), secret: <redacted>)" }
}
