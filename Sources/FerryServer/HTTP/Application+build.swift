import FerryCatalogPostgres
import FerryCatalogSQLite
import FerryCore
import FerrySigV4
import FerryStorageLocal
import FerryStorageS3
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Tracing

/// Builds the router with every Ferry route; `answeringOtherMethods` adds the 405 answers of
/// `MethodNotAllowed` (off only to list the routes the controllers add).
public func buildRouter(services: FerryServices, answeringOtherMethods: Bool = true) -> Router<FerryRequestContext> {
    let router = Router(context: FerryRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Traces only when `ferry serve` bootstrapped OpenTelemetry: otherwise not a cycle is spent.
    if !(InstrumentationSystem.tracer is NoOpTracer) { router.middlewares.add(RequestTracingMiddleware()) }
    if !services.configuration.corsOrigins.isEmpty {
        router.middlewares.add(CORSMiddleware(origins: Set(services.configuration.corsOrigins)))
    }
    router.middlewares.add(RequestMiddleware(logger: services.logger, metrics: services.metrics))
    router.middlewares.add(AuthenticationMiddleware(authenticator: services.authenticator))
    OperationsController(services: services).addRoutes(to: router)
    AccountsController(services: services).addRoutes(to: router)
    FilesController(services: services).addRoutes(to: router)
    UploadsController(services: services).addRoutes(to: router)
    LinksController(services: services).addRoutes(to: router)
    BundlesController(services: services).addRoutes(to: router)
    LinkDeliveryController(services: services).addRoutes(to: router)
    BrokerController(services: services).addRoutes(to: router)
    WebController(services: services).addRoutes(to: router)
    if answeringOtherMethods { MethodNotAllowed.add(to: router) }
    return router
}

/// Builds the Hummingbird application on already-opened services, with the request head limits of
/// `RequestHeadLimits`.
public func buildApplication(services: FerryServices) -> some ApplicationProtocol {
    Application(
        router: buildRouter(services: services), server: RequestHeadLimits.server(services.configuration),
        configuration: .init(
            address: .hostname(services.configuration.host, port: services.configuration.port), serverName: nil),
        logger: services.logger)
}

/// Opens the catalog and the store that the configuration names.
public enum Backends {
    /// The opened backends, what must run while they are used, and how to close them.
    public struct Opened: Sendable {
        /// The catalog.
        public let catalog: any Catalog
        /// The blob store.
        public let store: any BlobStore
        /// Long-lived parts to run in the `ServiceGroup` before anything uses the catalog (the
        /// PostgreSQL connection pool), first in the group so that they stop last.
        public let services: [any Service]
        /// Brings the catalog's schema up to date; needs `services` running.
        public let migrate: @Sendable () async throws -> Void
        /// Releases what the build opened (HTTP clients, the catalog) once the services stopped.
        public let close: @Sendable () async -> Void
    }

    /// For `ferry serve`: the lock to hold while this process serves the catalog (a SQLite catalog
    /// has one node, `SQLiteCatalog.ServeLock`; nil for PostgreSQL). A node holding it may be
    /// draining after SIGTERM, so it is awaited for that node's grace plus 5 s (`waiting` is told
    /// the holder's pid and that wait once), then refused with `conflict`.
    public static func lockForServing(
        _ configuration: FerryConfiguration, waiting: @Sendable (_ pid: String?, _ seconds: Int) -> Void = { _, _ in }
    ) async throws -> (any Sendable)? {
        guard case .sqlite(let path) = configuration.database else { return nil }
        try createDirectory(forCatalog: path, configuration)
        let seconds = configuration.shutdownGrace + 5
        return try await SQLiteCatalog.ServeLock(
            catalogPath: path, wait: Double(seconds), waiting: { pid in waiting(pid, seconds) })
    }

    /// Opens the catalog and store, creating the data directory (mode 0700) when it is used.
    /// Nothing runs yet: `ferry serve` puts `services` in its ServiceGroup and migrates there.
    public static func open(_ configuration: FerryConfiguration, logger: Logger) async throws -> Opened {
        let catalog: any Catalog
        let closeCatalog: @Sendable () async -> Void
        var services: [any Service] = []
        var migrate: @Sendable () async throws -> Void = {}
        switch configuration.database {
        case .sqlite(let path):
            try createDirectory(forCatalog: path, configuration)
            let sqlite = try SQLiteCatalog(configuration: .init(path: path))
            catalog = sqlite
            closeCatalog = { try? sqlite.close() }
        case .postgres(let settings):
            let postgres = PostgresCatalog(configuration: settings, logger: logger)
            catalog = postgres
            closeCatalog = {}
            services = [postgres]
            migrate = { try await postgres.migrate() }
        }
        let store: any BlobStore
        let closeStore: @Sendable () async -> Void
        do {
            (store, closeStore) = try await openStore(configuration, logger: logger)
        } catch {
            await closeCatalog()
            throw error
        }
        return Opened(
            catalog: catalog, store: store, services: services, migrate: migrate,
            close: { [closeStore] in
                await closeStore()
                await closeCatalog()
            })
    }

    /// Opens the blob store alone (`ferry doctor` probes it without creating a catalog).
    public static func openStore(
        _ configuration: FerryConfiguration, logger: Logger
    ) async throws -> (store: any BlobStore, close: @Sendable () async -> Void) {
        switch configuration.storage {
        case .local(let root):
            return (try await LocalBlobStore(configuration: .init(root: root)), {})
        case .s3(let settings):
            // Everything that can fail comes first: an HTTP client must be shut down once made.
            let cdn = try cdnSigner(configuration.cloudFront, prefix: settings.prefix)
            let s3 = S3BlobStore(client: S3Client(configuration: settings, logger: logger), cdn: cdn, logger: logger)
            return (s3, { await s3.shutdown() })
        }
    }

    /// Opens the backends and runs their services in a task of their own until `close`, then
    /// migrates: for tests and tools that run no ServiceGroup.
    public static func openRunning(_ configuration: FerryConfiguration, logger: Logger) async throws -> Opened {
        let opened = try await open(configuration, logger: logger)
        let services = opened.services
        let running = Task {
            try await withThrowingDiscardingTaskGroup { group in
                for service in services { group.addTask { try await service.run() } }
            }
        }
        let close: @Sendable () async -> Void = {
            await opened.close()
            running.cancel()
            _ = await running.result
        }
        do {
            try await opened.migrate()
        } catch {
            await close()
            throw error
        }
        return Opened(
            catalog: opened.catalog, store: opened.store, services: [], migrate: {}, close: close)
    }

    /// The CloudFront signer when CDN delivery is configured; its key file must be mode 0600.
    static func cdnSigner(
        _ settings: CloudFrontURLSigner.Configuration?, prefix: String
    ) throws -> (any CDNURLSigner)? {
        guard let settings else { return nil }
        let pem = try SecretFile.read(settings.privateKeyFile, variable: "FERRY_CLOUDFRONT_PRIVATE_KEY_FILE")
        let signer: CloudFrontSigner
        do {
            signer = try CloudFrontSigner(
                keyPairID: settings.keyPairID, privateKeyPEM: pem, hashAlgorithm: settings.hashAlgorithm)
        } catch {
            throw FerryConfiguration.Invalid(
                variable: "FERRY_CLOUDFRONT_PRIVATE_KEY_FILE", problem: "does not hold an RSA private key in PEM form")
        }
        return CloudFrontURLSigner(domain: settings.domain, prefix: prefix, signer: signer)
    }

    /// Creates the SQLite catalog's directory (mode 0700); a failure names the variable to fix and
    /// the cause, not Foundation's "NSCocoaErrorDomain error 512".
    static func createDirectory(forCatalog path: String, _ configuration: FerryConfiguration) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        // `mkdir -p` one component at a time, so the failing one and its errno can be told.
        var prefix = ""
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: prefix, isDirectory: &isDirectory) {
                if isDirectory.boolValue { continue }
                throw invalidDirectory(directory, configuration, "\(prefix) is a file, not a directory")
            }
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw invalidDirectory(directory, configuration, "\(prefix): \(String(cString: strerror(errno)))")
            }
        }
    }

    private static func invalidDirectory(
        _ directory: String, _ configuration: FerryConfiguration, _ reason: String
    ) -> FerryConfiguration.Invalid {
        let dataDirectory = URL(fileURLWithPath: configuration.dataDirectory).standardizedFileURL.path
        let variable = directory == dataDirectory ? "FERRY_DATA_DIR" : "FERRY_DATABASE_URL"
        return FerryConfiguration.Invalid(variable: variable, problem: "cannot create \(directory): \(reason)")
    }
}
