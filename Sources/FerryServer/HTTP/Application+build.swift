import FerryCatalogPostgres
import FerryCatalogSQLite
import FerryCore
import FerrySigV4
import FerryStorageLocal
import FerryStorageS3
import Foundation
import Hummingbird
import Logging

/// Builds the router with every Ferry route.
public func buildRouter(services: FerryServices) -> Router<FerryRequestContext> {
    let router = Router(context: FerryRequestContext.self, options: .autoGenerateHeadEndpoints)
    if !services.configuration.corsOrigins.isEmpty {
        router.middlewares.add(CORSMiddleware(origins: Set(services.configuration.corsOrigins)))
    }
    router.middlewares.add(RequestMiddleware(logger: services.logger, metrics: services.metrics))
    router.middlewares.add(AuthenticationMiddleware(authenticator: services.authenticator))
    OperationsController(services: services).addRoutes(to: router)
    AccountsController(services: services).addRoutes(to: router)
    FilesController(services: services).addRoutes(to: router)
    LinksController(services: services).addRoutes(to: router)
    LinkDeliveryController(services: services).addRoutes(to: router)
    BrokerController(services: services).addRoutes(to: router)
    WebController(services: services).addRoutes(to: router)
    return router
}

/// Builds the Hummingbird application on already-opened services, with the request head limits of
/// `RequestHeadLimits`.
public func buildApplication(services: FerryServices) -> some ApplicationProtocol {
    Application(
        router: buildRouter(services: services), server: RequestHeadLimits.server,
        configuration: .init(
            address: .hostname(services.configuration.host, port: services.configuration.port), serverName: nil),
        logger: services.logger)
}

/// Opens the catalog and the store that the configuration names.
public enum Backends {
    /// The opened backends and how to close them.
    public struct Opened: Sendable {
        public let catalog: any Catalog
        public let store: any BlobStore
        public let close: @Sendable () async -> Void
    }

    /// Opens the catalog and store, creating the data directory (mode 0700) when it is used.
    public static func open(_ configuration: FerryConfiguration, logger: Logger) async throws -> Opened {
        let catalog: any Catalog
        let closeCatalog: @Sendable () async -> Void
        switch configuration.database {
        case .sqlite(let path):
            try createDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
            let sqlite = try SQLiteCatalog(configuration: .init(path: path))
            catalog = sqlite
            closeCatalog = { try? sqlite.close() }
        case .postgres(let settings):
            let postgres = PostgresCatalog(configuration: settings, logger: logger)
            // The connection pool runs for as long as the catalog is open.
            let pool = Task { try await postgres.run() }
            do {
                try await postgres.migrate()
            } catch {
                pool.cancel()
                throw error
            }
            catalog = postgres
            closeCatalog = {
                pool.cancel()
                _ = await pool.result
            }
        }
        let store: any BlobStore
        var closeStore: @Sendable () async -> Void = {}
        switch configuration.storage {
        case .local(let root):
            store = try await LocalBlobStore(configuration: .init(root: root))
        case .s3(let settings):
            // Everything that can fail comes first: an HTTP client must be shut down once made.
            let cdn = try cdnSigner(configuration.cloudFront, prefix: settings.prefix)
            let s3 = S3BlobStore(client: S3Client(configuration: settings, logger: logger), cdn: cdn, logger: logger)
            store = s3
            closeStore = { await s3.shutdown() }
        }
        return Opened(
            catalog: catalog, store: store,
            close: { [closeStore] in
                await closeStore()
                await closeCatalog()
            })
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

    static func createDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }
}
