import FerryCore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How Ferry reaches PostgreSQL (`FERRY_DATABASE_URL=postgres://...`).
public struct PostgresCatalogConfiguration: Sendable, Equatable {
    /// The host name or address.
    public var host: String
    /// The TCP port.
    public var port: Int
    /// The username.
    public var username: String
    /// A password (never logged).
    public var password: String?
    /// The database name.
    public var database: String
    /// `disable`, `prefer` or `require` (`?sslmode=`); default `prefer`.
    public var tlsMode: String
    /// Connections per node (`FERRY_DATABASE_POOL`, default 20).
    public var maximumConnections: Int
    /// Longest wait for a new connection.
    public var connectTimeout: Duration
    /// Longest wait for one catalog call, connection included (`FERRY_DATABASE_TIMEOUT`, default 10 s):
    /// when the database is down, requests fail with 503 after this instead of hanging.
    public var queryTimeout: Duration
    /// A schema to use instead of `public` (tests run each in its own).
    public var schema: String?

    /// Parses `postgres://user:pass@host:port/db?sslmode=...[&schema=name]`. Errors name the variable and never
    /// echo the password.
    public init(
        url: String, maximumConnections: Int = 20, connectTimeout: Duration = .seconds(10),
        queryTimeout: Duration = .seconds(10), schema: String? = nil
    ) throws(ConfigurationError) {
        guard let components = URLComponents(string: url),
            components.scheme == "postgres" || components.scheme == "postgresql",
            let host = components.host, !host.isEmpty, let user = components.user, !user.isEmpty
        else {
            throw ConfigurationError(
                variable: "FERRY_DATABASE_URL",
                problem: "expected postgres://user:password@host:port/database[?sslmode=disable|prefer|require]")
        }
        self.host = host
        port = components.port ?? 5432
        // URLComponents decodes percent-escapes in the user and password.
        username = user
        password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? username : path
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        guard ["disable", "prefer", "require"].contains(mode) else {
            throw ConfigurationError(
                variable: "FERRY_DATABASE_URL", problem: "sslmode must be disable, prefer or require, got '\(mode)'")
        }
        tlsMode = mode
        let schema = schema ?? components.queryItems?.first { $0.name == "schema" }?.value
        self.maximumConnections = max(1, maximumConnections)
        self.connectTimeout = connectTimeout
        self.queryTimeout = queryTimeout
        if let schema {
            let valid =
                !schema.isEmpty && schema.utf8.count <= 63
                && schema.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
            guard valid else {
                throw ConfigurationError(
                    variable: "FERRY_DATABASE_URL", problem: "schema names are lowercase letters, digits and _")
            }
        }
        self.schema = schema
    }

    /// The catalog `ferry serve` configures: `FERRY_DATABASE_URL` (a `postgres://` URL, already
    /// told apart from `sqlite://` by the caller), `FERRY_DATABASE_POOL` (connections per node,
    /// default 20) and `FERRY_DATABASE_TIMEOUT` (seconds a call waits, default 10).
    public init(url: String, source: ConfigurationSource) throws(ConfigurationError) {
        let pool = try source.integer("FERRY_DATABASE_POOL", default: 20, range: 1...1000, unit: "connections")
        let timeout = try source.integer("FERRY_DATABASE_TIMEOUT", default: 10, range: 1...600, unit: "seconds")
        try self.init(url: url, maximumConnections: pool, queryTimeout: .seconds(timeout))
    }

    var client: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch tlsMode {
            case "disable": .disable
            case "require": .require(.makeClientConfiguration())
            default: .prefer(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = connectTimeout
        if let schema { configuration.options.additionalStartupParameters = [("search_path", schema)] }
        return configuration
    }
}

/// The catalog on PostgreSQL, shared by every Ferry node.
///
/// PostgreSQL does the coordination: each method is one statement or one transaction, a limited
/// link's download is taken under a row lock on the link, and nothing revocation can change is
/// cached, so a revocation on one node stops every node at once. Queries are built only with
/// `PostgresQuery` interpolation (every value is a bind parameter). Times are stored as seconds
/// since 1970 in double precision, the same values the SQLite catalog keeps.
public final class PostgresCatalog: Catalog, Service {
    let client: PostgresClient
    let logger: Logger
    let schema: String?
    let queryTimeout: Duration
    /// Set when a call found the database gone (no answer in time, or no connection), cleared by
    /// the next call that succeeds: meanwhile calls wait at most `outageTimeout`, so a node that
    /// knows its catalog is down answers 503 within a second instead of each request waiting the
    /// whole `queryTimeout` (and `/readyz` says so as fast).
    let outage = Mutex(false)
    static let outageTimeout = Duration.seconds(1)

    /// Creates the catalog; `run()` must be running (as a service) before it is used.
    public init(configuration: PostgresCatalogConfiguration, logger: Logger) {
        client = PostgresClient(configuration: configuration.client, backgroundLogger: logger)
        self.logger = logger
        schema = configuration.schema
        queryTimeout = configuration.queryTimeout
    }

    /// Runs the connection pool until cancelled.
    public func run() async throws {
        await client.run()
    }

    public func ping() async throws {
        _ = try await rows("SELECT 1")
    }

    // MARK: Plumbing

    /// Runs a query and reads every row (results here are small: one page at most).
    @discardableResult
    func rows(_ query: PostgresQuery, function: String = #function) async throws -> [PostgresRandomAccessRow] {
        try await bounded(function: function) {
            var out: [PostgresRandomAccessRow] = []
            for try await row in try await self.client.query(query, logger: self.logger) {
                out.append(row.makeRandomAccess())
            }
            return out
        }
    }

    /// Runs `body` in one transaction.
    func transaction<T: Sendable>(
        timeout: Duration? = nil, function: String = #function,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await bounded(timeout: timeout, function: function) {
            try await self.client.withTransaction(logger: self.logger) { connection in try await body(connection) }
        }
    }

    /// Runs a catalog call within `queryTimeout`, mapping every failure to `FerryError`. (The pool
    /// waits for a connection as long as it takes; a request must not.) Traced as a child span
    /// `catalog <function>` of the request.
    func bounded<T: Sendable>(
        timeout: Duration? = nil, function: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await Spans.catalog(function, system: "postgresql") { try await unspanned(timeout: timeout, body) }
    }

    private func unspanned<T: Sendable>(
        timeout: Duration?, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let known = outage.withLock { $0 }
        let limit = known ? min(timeout ?? queryTimeout, Self.outageTimeout) : (timeout ?? queryTimeout)
        do {
            // Not a task group: a query on a connection to a host that stopped answering ignores
            // cancellation, and the group would wait for it (a stalled database hung requests).
            let value: T
            do {
                value = try await Deadline.run(within: limit, body)
            } catch is Deadline.Expired {
                throw FerryError.unavailable("catalog database", underlying: CatalogTimeout(after: limit))
            }
            if known { outage.withLock { $0 = false } }
            return value
        } catch {
            if Self.isOutage(error) { outage.withLock { $0 = true } }
            throw Self.map(error)
        }
    }

    /// Whether a failure says the database is gone: no answer in time, or no connection. An error
    /// the server answered with (a constraint, say) or one of ours is not.
    static func isOutage(_ error: any Error) -> Bool {
        if let error = error as? FerryError {
            return error.underlying is CatalogTimeout
        }
        if let error = error as? PSQLError { return error.serverInfo == nil }
        return !(error is CancellationError)
    }

    @discardableResult
    func rows(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [PostgresRandomAccessRow] {
        var out: [PostgresRandomAccessRow] = []
        for try await row in try await connection.query(query, logger: logger) { out.append(row.makeRandomAccess()) }
        return out
    }

    static func map(_ error: any Error) -> FerryError {
        if let error = error as? FerryError { return error }
        if let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] {
            if state == "23505" { return FerryError(.conflict, "That already exists.", underlying: error) }
            if state.hasPrefix("23") {
                return FerryError(.conflict, "That conflicts with what is stored.", underlying: error)
            }
        }
        return FerryError.unavailable("catalog", underlying: error)
    }

    struct CatalogTimeout: Error, CustomStringConvertible {
        var after: Duration
        var description: String { "no answer from PostgreSQL within \(after)" }
    }

    static func date(_ cell: PostgresCell) throws -> Date {
        Date(timeIntervalSince1970: try cell.decode(Double.self))
    }

    static func optionalDate(_ cell: PostgresCell) throws -> Date? {
        try cell.decode(Double?.self).map(Date.init(timeIntervalSince1970:))
    }
}

// The password never reaches a log line through a description.
extension PostgresCatalogConfiguration: RedactedDescription {
    public var description: String {
        "postgres://\(username)\(password == nil ? "" : ":<redacted>")@\(host):\(port)/\(database) "
            + "pool=\(maximumConnections) timeout=\(queryTimeout)"
    }
}

extension PostgresCatalog {
    /// How the catalog reaches PostgreSQL.
    public typealias Configuration = PostgresCatalogConfiguration
}
