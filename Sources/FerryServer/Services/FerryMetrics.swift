import CoreMetrics
import Foundation
import Metrics
import Prometheus
import Synchronization

/// Ferry's metrics through swift-metrics, exported by swift-prometheus at `/metrics`. Each server
/// owns its registry and factory (no global bootstrap), so tests and several servers in one
/// process never share counters.
public final class FerryMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    let activeTransfers: CoreMetrics.Meter
    let bytesSent: CoreMetrics.Counter
    let uploadBytes: CoreMetrics.Counter
    let downloadsTaken: CoreMetrics.Counter
    let linkPasswordHashes: CoreMetrics.Counter

    /// Creates a fresh registry with Ferry's metrics.
    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
        ]
        self.factory = factory
        activeTransfers = CoreMetrics.Meter(label: "ferry_active_transfers", factory: factory)
        bytesSent = CoreMetrics.Counter(label: "ferry_bytes_sent_total", factory: factory)
        uploadBytes = CoreMetrics.Counter(label: "ferry_upload_bytes_total", factory: factory)
        downloadsTaken = CoreMetrics.Counter(label: "ferry_link_downloads_taken_total", factory: factory)
        linkPasswordHashes = CoreMetrics.Counter(label: "ferry_link_password_hashes_total", factory: factory)
    }

    /// The handles of one route and status. Routes are the router's patterns (a bounded set),
    /// so the cache stays small; it saves the registry lookup that making a handle costs.
    struct RequestKey: Hashable {
        var route: String
        var status: Int
    }
    let requestHandles = Mutex<[RequestKey: (CoreMetrics.Counter, CoreMetrics.Timer)]>([:])

    /// One finished request: count by route and status, latency by route.
    func request(route: String, status: Int, duration: Duration) {
        let key = RequestKey(route: route, status: status)
        let (counter, timer) = requestHandles.withLock { handles in
            if let known = handles[key] { return known }
            let made = (
                CoreMetrics.Counter(
                    label: "ferry_http_requests_total", dimensions: [("route", route), ("status", String(status))],
                    factory: factory),
                CoreMetrics.Timer(
                    label: "ferry_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            )
            handles[key] = made
            return made
        }
        counter.increment()
        timer.recordNanoseconds(
            duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// A link was issued.
    func linkIssued(strategy: String) {
        CoreMetrics.Counter(label: "ferry_links_issued_total", dimensions: [("strategy", strategy)], factory: factory)
            .increment()
    }

    /// A download failed or was refused, by API code (or `client_aborted`, `storage_error`).
    /// Housekeeping removed `count` things of a kind: `blob` (of a deleted file or replaced
    /// version), `orphan_blob`, `unfinished_upload`, `expired_link`.
    func housekeeping(_ kind: String, count: Int) {
        guard count > 0 else { return }
        CoreMetrics.Counter(label: "ferry_housekeeping_deleted_total", dimensions: [("kind", kind)], factory: factory)
            .increment(by: Int64(count))
    }

    func downloadFailed(code: String) {
        CoreMetrics.Counter(label: "ferry_download_failures_total", dimensions: [("code", code)], factory: factory)
            .increment()
    }

    /// A transfer began sending bytes.
    func transferStarted() { activeTransfers.increment() }

    /// A transfer ended, completed or not.
    func transferEnded() { activeTransfers.decrement() }

    /// Bytes went out to a client.
    func sent(_ bytes: Int) { bytesSent.increment(by: Int64(bytes)) }

    /// An upload was published.
    func uploaded(_ bytes: Int64) { uploadBytes.increment(by: bytes) }

    /// A client took one of a limited link's downloads.
    func downloadTaken() { downloadsTaken.increment() }

    /// The Prometheus text exposition.
    /// One slow hash of a link password (ideally one per client and link).
    func linkPasswordHashed() { linkPasswordHashes.increment() }

    /// Every metric in Prometheus's text format, as `GET /metrics` answers.
    public func render() -> [UInt8] { registry.emitToBuffer() }
}
