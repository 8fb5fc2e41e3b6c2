import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import Testing

/// A Ferry on the embedded default in a temporary data directory, with a known admin token.
struct TestServer {
    let directory: TemporaryDirectory
    let services: FerryServices
    let close: @Sendable () async -> Void
    let adminToken: String
    let port: Int

    /// For the tests that sign in as `admin` with a password (`admin-password-1`). Others leave it
    /// out: each bootstrap password is a bcrypt hash (cost 11, slow in a debug build), and a whole
    /// run starts hundreds of servers at once.
    static let adminPassword = ["FERRY_BOOTSTRAP_PASSWORD": "admin-password-1"]

    /// Opens backends and bootstraps `admin`; `environment` overrides FERRY_* variables.
    static func make(
        _ environment: [String: String] = [:], now: (@Sendable () -> Date)? = nil,
        store wrap: (@Sendable (any BlobStore) -> any BlobStore)? = nil
    ) async throws -> TestServer {
        let directory = try TemporaryDirectory("ferry-server")
        let token = Identifier.secret()
        let port = try FreePort.pick()
        var env = [
            "FERRY_DATA_DIR": directory.path,
            "FERRY_LISTEN": "127.0.0.1:\(port)",
            "FERRY_BOOTSTRAP_TOKEN": token,
        ]
        env.merge(environment) { $1 }
        let configuration = try FerryConfiguration(environment: env)
        var logger = Logger(label: "ferry-test")
        logger.logLevel = .warning
        let backends = try await Backends.openRunning(configuration, logger: logger)
        let services: FerryServices
        do {
            services = FerryServices(
                configuration: configuration, catalog: backends.catalog, store: wrap?(backends.store) ?? backends.store,
                logger: logger,
                keyring: try SigningKeyring.load(configuration), now: now ?? { Date() })
            _ = try await Bootstrap.run(services: services)
        } catch {
            await backends.close()
            throw error
        }
        return TestServer(
            directory: directory, services: services,
            close: {
                await services.audit.flush()
                await backends.close()
            }, adminToken: token, port: port)
    }

    /// Runs `body` against the application, then closes and removes everything.
    func test<T: Sendable>(
        _ setup: TestingSetup = .router, _ body: @Sendable (any TestClientProtocol) async throws -> T
    ) async throws -> T {
        defer { directory.remove() }
        do {
            let value = try await buildApplication(services: services).test(setup) { client in try await body(client) }
            await close()
            return value
        } catch {
            await close()
            throw error
        }
    }

    /// Runs the real server on 127.0.0.1:`port` (the configured one, so public URLs are right),
    /// runs `body`, then shuts the server down (bounded by `stopWithin` seconds, see
    /// `LiveService`) and removes everything.
    func live<T: Sendable>(stopWithin seconds: Double = 30, _ body: @Sendable () async throws -> T) async throws -> T {
        defer { directory.remove() }
        let (started, continuation) = AsyncStream<Void>.makeStream()
        // `port`, not the configuration's: a test may point two servers at one port.
        let app = Application(
            router: buildRouter(services: services), server: RequestHeadLimits.server(services.configuration),
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { _ in continuation.yield() },
            logger: services.logger)
        return try await LiveService.run(
            app, started: started, stopWithin: seconds, logger: services.logger, close: close, body)
    }

    /// Uploads over the live server with curl (inside `live`).
    func uploadWithCurl(_ bytes: [UInt8], name: String, scratch: TemporaryDirectory) async throws -> APIFile {
        let payload = scratch.appending("upload-\(Identifier.make())")
        try Data(bytes).write(to: URL(fileURLWithPath: payload))
        let r = try await ExternalTool.run(
            "curl",
            [
                "-sS", "-f", "-H", "Authorization: Bearer \(adminToken)", "--data-binary", "@\(payload)",
                "http://127.0.0.1:\(port)/v1/files?name=\(name)",
            ])
        #expect(r.status == 0, "\(r.stderr)")
        return try JSONDecoder().decode(APIFile.self, from: Data(r.stdout.utf8))
    }

    /// Audit events after everything recorded so far is written.
    func auditEvents(_ filter: AuditFilter) async throws -> Page<AuditEvent> {
        await services.audit.flush()
        return try await services.catalog.audit(filter)
    }

    var blobRoot: String { directory.appending("blobs") }

    /// Every regular file under the blob root (to prove nothing was left behind).
    func blobFiles() -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: blobRoot) else { return [] }
        return enumerator.compactMap { $0 as? String }.filter { path in
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: blobRoot + "/" + path, isDirectory: &isDirectory)
            return !isDirectory.boolValue
        }
    }

    /// Creates a user and returns a bearer token for it.
    func user(_ name: String, role: Role = .member) async throws -> String {
        try await TestAccounts.user(name, role: role, in: services.catalog)
    }
}

/// Request helpers.
extension TestClientProtocol {
    func upload(
        _ bytes: [UInt8], name: String = "report.bin", token: String, type: String = "application/octet-stream",
        extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: type]
        headers.append(contentsOf: extra)
        let query = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name
        return try await execute(
            uri: "/v1/files?name=\(query)", method: .post, headers: headers, body: ByteBuffer(bytes: bytes))
    }

    /// Uploads and decodes the file JSON.
    func uploadFile(
        _ bytes: [UInt8], name: String = "report.bin", token: String, type: String = "application/octet-stream"
    )
        async throws -> APIFile
    {
        let response = try await upload(bytes, name: name, token: token, type: type)
        #expect(response.status == .created, "\(String(buffer: response.body))")
        return try JSONDecoder().decode(APIFile.self, from: Data(buffer: response.body))
    }

    func get(
        _ uri: String, token: String?, headers extra: HTTPFields = [:], method: HTTPRequest.Method = .get
    )
        async throws -> TestResponse
    {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: method, headers: headers)
    }

    func json(
        _ uri: String, method: HTTPRequest.Method, token: String?, body: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }
}

/// The error JSON of a response (API.md's shape, `APIError`).
enum ErrorInfo {
    static func code(_ response: TestResponse) -> String? {
        (try? JSONDecoder().decode(APIError.self, from: Data(buffer: response.body)))?.error.code
    }

    static func message(_ response: TestResponse) -> String {
        (try? JSONDecoder().decode(APIError.self, from: Data(buffer: response.body)))?.error.message ?? ""
    }
}

extension Data {
    init(buffer: ByteBuffer) { self.init(buffer.readableBytesView) }
}
