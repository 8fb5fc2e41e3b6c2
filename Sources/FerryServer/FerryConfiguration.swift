import Configuration
import FerryCore
import FerryStorageS3
import Foundation
import Logging
import SystemPackage

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
    /// PostgreSQL connections per node (`FERRY_DATABASE_POOL`, default 20).
    public var databasePool: Int
    /// Seconds a catalog call may wait for PostgreSQL before it fails with 503 (`FERRY_DATABASE_TIMEOUT`, 10).
    public var databaseTimeout: Int
    /// The blob store (`FERRY_STORAGE`, default `file://<data dir>/blobs`).
    public var storage: Storage
    /// Seconds in-flight requests may take to finish after SIGTERM or SIGINT before they are
    /// cancelled (`FERRY_SHUTDOWN_GRACE`, 30); clients resume cut downloads with ranges.
    public var shutdownGrace: Int
    /// Default link lifetime in seconds (`FERRY_LINK_TTL`, 300).
    public var linkTTL: Int
    /// Longest link lifetime in seconds (`FERRY_LINK_TTL_MAX`, 86400).
    public var linkTTLMax: Int
    /// Broker streams below this size and redirects at or above (`FERRY_PROXY_MAX_BYTES`, 5 MiB).
    public var proxyMaxBytes: Int64
    /// Largest upload in bytes (`FERRY_MAX_UPLOAD_BYTES`, 10 GiB).
    public var maxUploadBytes: Int64
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
    /// CDN delivery (`FERRY_CLOUDFRONT_*`); nil when not configured.
    public var cloudFront: CloudFrontSettings?
    /// Link signing keys, first signs, all verify (`FERRY_SIGNING_KEYS`); nil = generated into the data dir.
    public var signingKeys: [SigningKey]?

    /// Where the catalog lives.
    public enum Database: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(url: String)
    }

    /// Where blobs live.
    public enum Storage: Sendable, Equatable {
        case local(root: String)
        case s3(S3Settings)
    }

    /// An S3-compatible store (`FERRY_STORAGE=s3://bucket[/prefix]`, `FERRY_S3_*`, `AWS_*`).
    /// The description never shows the secret key or the session token.
    public struct S3Settings: Sendable, Equatable, CustomStringConvertible {
        public var bucket: String
        /// Key prefix without a trailing slash; empty for none.
        public var prefix: String
        /// `FERRY_S3_REGION`, default `us-east-1`.
        public var region: String
        /// `FERRY_S3_ENDPOINT` (`http(s)://host[:port]`), parsed by the S3 store's own parser; nil = AWS.
        public var endpoint: S3Endpoint?
        /// `FERRY_S3_PUBLIC_ENDPOINT`; nil = the endpoint.
        public var publicEndpoint: S3Endpoint?
        /// `FERRY_S3_PATH_STYLE`.
        public var pathStyle: Bool
        public var accessKeyID: String
        public var secretAccessKey: String
        public var sessionToken: String?

        public var description: String {
            "s3://\(bucket)/\(prefix) region=\(region) endpoint=\(endpoint.map { "\($0)" } ?? "aws") pathStyle=\(pathStyle) "
                + "accessKeyID=\(accessKeyID) secretAccessKey=<redacted>"
        }
    }

    /// CloudFront delivery of links (`FERRY_CLOUDFRONT_*`).
    public struct CloudFrontSettings: Sendable, Equatable {
        /// `FERRY_CLOUDFRONT_DOMAIN`, e.g. `d111111abcdef8.cloudfront.net`.
        public var domain: String
        public var keyPairID: String
        /// A PEM file readable by its owner only (mode 0600 or stricter).
        public var privateKeyFile: String
        /// `sha1` (default) or `sha256`.
        public var hashAlgorithm: String
    }

    /// One HMAC key for signed links.
    public struct SigningKey: Sendable, Equatable {
        public var id: String
        public var secret: [UInt8]

        /// Creates a key.
        public init(id: String, secret: [UInt8]) {
            self.id = id
            self.secret = secret
        }
    }

    /// A configuration error: one line naming the variable, never its value when it is a secret.
    public struct Invalid: Error, CustomStringConvertible {
        public var variable: String
        public var problem: String
        public var description: String { "\(variable): \(problem)" }
    }

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
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.drop { $0 == " " || $0 == "\t" }
        }
        if let index = lines.firstIndex(where: { $0.hasPrefix("export ") }) {
            throw Invalid(
                variable: "--config",
                problem: "line \(index + 1) of \(file) starts with 'export'; write FERRY_NAME=value lines")
        }
        let secrets = Self.secretVariables.filter { name in lines.contains { $0.hasPrefix(name + "=") } }
        if let first = secrets.first { try SecretFile.checkMode(file, variable: first) }
        let fromFile: EnvironmentVariablesProvider
        do {
            fromFile = try await EnvironmentVariablesProvider(
                environmentFilePath: FilePath(file), secretsSpecifier: .specific(Set(Self.secretVariables)))
        } catch {
            throw Invalid(variable: "--config", problem: "cannot read \(file) as FERRY_NAME=value lines")
        }
        return try FerryConfiguration(providers: [Self.provider(environment), fromFile])
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
        database = try Self.parseDatabase(env.string("FERRY_DATABASE_URL"), dataDirectory: dataDirectory)
        databasePool = try env.integer("FERRY_DATABASE_POOL", default: 20, range: 1...1000, unit: "connections")
        databaseTimeout = try env.integer("FERRY_DATABASE_TIMEOUT", default: 10, range: 1...600, unit: "seconds")
        storage = try Self.parseStorage(env.string("FERRY_STORAGE"), dataDirectory: dataDirectory, env: env)
        cloudFront = try Self.parseCloudFront(env, storage: storage)
        shutdownGrace = try env.integer("FERRY_SHUTDOWN_GRACE", default: 30, range: 0...86_400, unit: "seconds")
        linkTTL = try env.integer("FERRY_LINK_TTL", default: 300, range: 1...604_800, unit: "seconds")
        linkTTLMax = try env.integer("FERRY_LINK_TTL_MAX", default: 86_400, range: 1...31_536_000, unit: "seconds")
        if linkTTL > linkTTLMax {
            throw Invalid(variable: "FERRY_LINK_TTL", problem: "is above FERRY_LINK_TTL_MAX (\(linkTTLMax))")
        }
        proxyMaxBytes = Int64(
            try env.integer("FERRY_PROXY_MAX_BYTES", default: 5_242_880, range: 0...Int.max, unit: "bytes"))
        maxUploadBytes = Int64(
            try env.integer("FERRY_MAX_UPLOAD_BYTES", default: 10_737_418_240, range: 1...Int.max, unit: "bytes"))
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
            guard let text = string(variable) else { return value }
            guard let number = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
                throw Invalid(
                    variable: variable,
                    problem:
                        "expected a whole number of \(unit) from \(range.lowerBound) to \(range.upperBound), got '\(text)'"
                )
            }
            return number
        }
    }
}

// Secrets never reach a log line through a description: ServiceLifecycle logs its services (and with
// them everything they hold) with `String(describing:)` at debug level, and a test greps the log.
extension FerryConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "FerryConfiguration(listen: \(host):\(port), publicURL: \(publicURL), dataDirectory: \(dataDirectory), "
            + "database: \(database), storage: \(storage), bootstrapToken: \(Self.redacted(bootstrapToken)), "
            + "bootstrapPassword: \(Self.redacted(bootstrapPassword)), metricsToken: \(Self.redacted(metricsToken)), "
            + "signingKeys: \(signingKeys.map { "\($0)" } ?? "generated"))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }

    static func redacted(_ secret: String?) -> String { secret == nil ? "none" : "<redacted>" }
}

extension FerryConfiguration.Database: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite(\(path))"
        case .postgres(let url):
            // postgres://user:password@host/db: the password goes.
            if let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://"),
                let colon = url[scheme.upperBound..<at].firstIndex(of: ":")
            {
                "postgres(\(url[..<colon]):<redacted>\(url[at...]))"
            } else {
                "postgres(\(url))"
            }
        }
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
}

extension FerryConfiguration.Storage: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        switch self {
        case .local(let root): "local(\(root))"
        case .s3(let settings): "\(settings)"
        }
    }

    public var debugDescription: String { description }
}

extension FerryConfiguration.S3Settings: CustomDebugStringConvertible, CustomReflectable {
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
}

extension FerryConfiguration.SigningKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "SigningKey(id: \(id), secret: <redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["id": id]) }
}
