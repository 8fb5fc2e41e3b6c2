import FerryCore
import Foundation
import Logging

/// The long-lived parts every controller uses, injected once when the application is built.
public final class FerryServices: Sendable, RedactedDescription {
    /// The configuration.
    public let configuration: FerryConfiguration
    /// The catalog.
    public let catalog: any Catalog
    /// The blob store.
    public let store: any BlobStore
    /// The audit log writer.
    public let audit: AuditLog
    /// The clock; tests inject a fixed or advancing one.
    public let now: @Sendable () -> Date
    /// The logger.
    public let logger: Logger
    let authenticator: Authenticator
    /// Counters, gauges and histograms exported at `/metrics`.
    public let metrics: FerryMetrics
    /// The keys of server links.
    public let keyring: SigningKeyring
    /// The running hashes of the tus uploads this node is writing.
    let uploadHashes = UploadHashes()
    /// Password links: the slow hash once per client, then fast checks and cookies.
    let linkPasswords: LinkPasswords
    /// Small immutable blobs kept in memory for the hottest downloads.
    let smallBlobs = SmallBlobCache()

    /// Wires the parts together.
    public init(
        configuration: FerryConfiguration, catalog: any Catalog, store: any BlobStore, logger: Logger,
        keyring: SigningKeyring, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.keyring = keyring
        self.configuration = configuration
        self.catalog = catalog
        self.store = store
        self.now = now
        self.logger = logger
        let metrics = FerryMetrics()
        self.metrics = metrics
        self.audit = AuditLog(catalog: catalog, logger: logger, metrics: metrics)
        self.authenticator = Authenticator(catalog: catalog, configuration: configuration, now: now)
        self.linkPasswords = LinkPasswords(catalog: catalog, keyring: keyring, metrics: metrics, now: now)
    }

    /// Forgets this node's running hashes of an upload, as if another node continued it (tests).
    public func forgetUploadHashes(_ id: String) async { await uploadHashes.remove(id) }

    /// Never the configuration's secrets, whatever prints the services.
    public var description: String { "FerryServices(\(configuration))" }
}
