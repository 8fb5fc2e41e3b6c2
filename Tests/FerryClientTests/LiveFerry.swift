import AsyncHTTPClient
import FerryClient
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A clock tests move by hand.
final class ManualClock: Sendable {
    let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    /// Seconds added on every reading (0 = frozen): makes links expire after a known number of requests.
    let step = Mutex<TimeInterval>(0)

    func read() -> Date {
        let step = self.step.withLock { $0 }
        return current.withLock { date -> Date in
            let value = date
            date = date.addingTimeInterval(step)
            return value
        }
    }

    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// A Ferry on the embedded default running on 127.0.0.1 for the length of a test, with an
/// `HTTPClient` and API clients for its admin.
struct LiveFerry {
    let directory: TemporaryDirectory
    let services: FerryServices
    let base: String
    let adminToken: String
    let http: HTTPClient

    /// Starts the server, runs `body`, stops everything.
    static func run<T: Sendable>(
        _ environment: [String: String] = [:], clock: ManualClock? = nil,
        _ body: @Sendable (LiveFerry) async throws -> T
    ) async throws -> T {
        let directory = try TemporaryDirectory("ferry-client")
        defer { directory.remove() }
        let token = Identifier.secret()
        let port = try FreePort.pick()
        var env = [
            "FERRY_DATA_DIR": directory.appending("data"), "FERRY_LISTEN": "127.0.0.1:\(port)",
            "FERRY_BOOTSTRAP_TOKEN": token,
        ]
        env.merge(environment) { $1 }
        let configuration = try FerryConfiguration(environment: env)
        var logger = Logger(label: "ferry-client-test")
        logger.logLevel = .warning
        let backends = try await Backends.openRunning(configuration, logger: logger)
        let now: @Sendable () -> Date
        if let clock { now = { clock.read() } } else { now = { Date() } }
        let keyring = try SigningKeyring.load(configuration)
        let services = FerryServices(
            configuration: configuration, catalog: backends.catalog, store: backends.store, logger: logger,
            keyring: keyring, now: now)
        _ = try await Bootstrap.run(services: services)
        let (started, continuation) = AsyncStream<Void>.makeStream()
        let router = buildRouter(services: services)
        let app = Hummingbird.Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { (_: any Channel) in continuation.yield() }, logger: logger)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let live = LiveFerry(
            directory: directory, services: services, base: "http://127.0.0.1:\(port)", adminToken: token, http: http)
        return try await LiveService.run(
            app, started: started, logger: logger,
            close: {
                try? await http.shutdown()
                await services.audit.flush()
                await backends.close()
            }
        ) { try await body(live) }
    }

    func api(token: String? = nil) -> FerryAPI {
        FerryAPI(baseURL: base, token: token ?? adminToken, httpClient: http)
    }

    func downloader(token: String? = nil) -> Downloader {
        let api = self.api(token: token)
        return Downloader(http: http, userAgent: "ferry-test") { _ in api }
    }

    /// Uploads bytes through the API and returns the file.
    func upload(_ bytes: [UInt8], name: String = "data.bin", token: String? = nil) async throws -> RemoteFile {
        let path = directory.appending("upload-\(Identifier.make())")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await api(token: token).upload(path: path, name: name, contentType: "application/octet-stream")
    }

    /// Creates a member and a bearer token for it.
    func member(_ name: String) async throws -> String {
        try await TestAccounts.user(name, in: services.catalog)
    }
}

/// Collects events from a download.
final class EventLog: Sendable {
    let events = Mutex<[DownloadEvent]>([])
    var record: @Sendable (DownloadEvent) -> Void { { event in self.events.withLock { $0.append(event) } } }
    var all: [DownloadEvent] { events.withLock { $0 } }
}
