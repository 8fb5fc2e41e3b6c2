import AsyncHTTPClient
import FerryClient
import FerryCore
import FerryTestSupport
import Foundation
import NIOCore
import Testing

/// Network failures are told by their cause, not in the libraries' words ("connection reset
/// (error set): Connection refused) (errno: 111)", "handshakeFailed(NIOSSL.BoringSSLError...)").
@Suite struct NetworkFailureTests {
    /// What AsyncHTTPClient throws for a GET of `url` (at once: not retrying the connection until
    /// the deadline, which ends with the same error).
    static func failure(of url: String) async throws -> any Error {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { _ = client.shutdown() }
        do {
            _ = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        } catch {
            return error
        }
        Issue.record("\(url) answered")
        return CancellationError()
    }

    @Test func aClosedPortIsARefusedConnection() async throws {
        let port = try FreePort.pick()
        let words = NetworkFailure.describe(try await Self.failure(of: "http://127.0.0.1:\(port)/"))
        #expect(words == "connection refused (is the server running there?)")
    }

    @Test func httpsToAPlainHTTPServerSaysSo() async throws {
        let work = try TemporaryDirectory("ferry-network")
        defer { work.remove() }
        let port = try FreePort.pick()
        let server = try ExternalTool.start(
            "python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", work.path])
        defer { server.kill() }
        try await Eventually.check(timeout: 20) {
            (try? await ExternalTool.run("curl", ["-s", "-o", "/dev/null", "http://127.0.0.1:\(port)/"]))?.status == 0
        }
        let words = NetworkFailure.describe(try await Self.failure(of: "https://127.0.0.1:\(port)/"))
        #expect(words == "the TLS handshake failed: nothing speaks https there (is the URL http://?)", "\(words)")
    }

    @Test func theClientsOwnErrorsAndUnknownOnes() {
        #expect(NetworkFailure.describe(HTTPClientError.connectTimeout) == "timed out while connecting")
        #expect(NetworkFailure.describe(HTTPClientError.remoteConnectionClosed) == "the server closed the connection")
        #expect(NetworkFailure.describe(IOError(errnoCode: ECONNRESET, reason: "read")) == "connection reset by peer")
        struct Odd: Error {}
        #expect(NetworkFailure.describe(Odd()) == "Odd()")
    }
}
