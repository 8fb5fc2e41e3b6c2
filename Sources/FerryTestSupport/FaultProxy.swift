import Foundation

/// `Tests/FerryStorageS3Tests/fault_proxy.py` in front of the S3 test server: faults and AWS S3
/// behaviours a real moto cannot produce on demand (see the script), switched on over HTTP.
public struct FaultProxy: Sendable {
    /// The proxy's process.
    public let process: ExternalTool.Running
    /// The port it listens on.
    public let port: Int

    /// Starts the proxy in front of `upstream` (`http://127.0.0.1:PORT`) and waits until it answers.
    public static func start(upstream: String) async throws -> FaultProxy {
        let port = try FreePort.pick()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Tests/FerryStorageS3Tests/fault_proxy.py").standardizedFileURL.path
        let process = try ExternalTool.start(
            "python3", [script, "--listen-port", String(port), "--upstream", upstream])
        let proxy = FaultProxy(process: process, port: port)
        // Python starts slowly on a loaded machine (CI runs every suite at once).
        try await Eventually.check(timeout: 60) { (try? await proxy.state()) != nil }
        return proxy
    }

    /// The proxy's base URL.
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    /// The proxy's switches and counters.
    public func state() async throws -> [String: Int] {
        let r = try await ExternalTool.run("curl", ["-fsS", "\(endpoint)/__fault"], timeout: 30)
        guard r.status == 0 else { throw ProxyNotAnswering() }
        return try JSONDecoder().decode([String: Int].self, from: Data(r.stdout.utf8))
    }

    /// Sets switches, e.g. `{"fail_next": 2}`.
    public func set(_ json: String) async throws {
        let r = try await ExternalTool.run(
            "curl", ["-fsS", "-X", "POST", "--data", json, "\(endpoint)/__fault"], timeout: 30)
        guard r.status == 0 else { throw ProxyNotAnswering() }
    }

    /// The `traceparent` headers of the requests it forwarded, oldest first.
    public func traceparents() async throws -> [String] {
        let r = try await ExternalTool.run("curl", ["-fsS", "\(endpoint)/__traceparents"], timeout: 30)
        guard r.status == 0 else { throw ProxyNotAnswering() }
        return try JSONDecoder().decode([String].self, from: Data(r.stdout.utf8))
    }

    /// Stops the proxy (its port then refuses connections).
    public func stop() { process.terminate() }

    struct ProxyNotAnswering: Error, CustomStringConvertible {
        var description: String { "the fault proxy does not answer" }
    }
}
