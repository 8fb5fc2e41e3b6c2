import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Issue 21: `kill -9` of the server during a 1 GiB `ferry put`, on each store, and of one node of
/// a two-node PostgreSQL + S3 cluster behind nginx; the same `ferry put` again finishes with the
/// right SHA-256, and at most one chunk (16 MiB) is sent twice.
@Suite(.serialized) struct ServerKilledDuringUploadTests {
    static let size = 1 << 30
    static let chunk = 16 << 20

    enum Store: String, CaseIterable, Sendable {
        case local, s3
    }

    /// A 1 GiB file of random bytes; its SHA-256.
    static func bigFile(_ path: String) async throws -> String {
        let r = try await ExternalTool.run("openssl", ["rand", "-out", path, String(size)], timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        return try TestData.sha256(file: path)
    }

    /// The client's environment: its own HOME (state under ~/.local/state) and the server.
    static func clientEnvironment(home: TemporaryDirectory, base: String, token: String) -> [String: String] {
        var env = ServeCommandTests.baseEnvironment
        env["HOME"] = home.path
        env["XDG_STATE_HOME"] = home.appending(".local/state")
        env["FERRY_URL"] = base
        env["FERRY_TOKEN"] = token
        return env
    }

    /// Runs `ferry put` paced, and once the server has acknowledged at least 256 MiB calls `kill`
    /// (which kills a server) and kills the client; returns the last byte count the client reported.
    static func firstRun(
        source: String, env: [String: String], home: TemporaryDirectory, kill: () async -> Void
    ) async throws -> Int {
        let put = try ExternalTool.start(
            path: ServeCommandTests.binary, ["put", source, "--json", "--limit-rate", "64M"], environment: env,
            directory: home.path)
        try await Eventually.check(timeout: 120) {
            let sent = PutResumeTests.events(put.outputSoFar).compactMap { $0["bytes"] as? Int }.max() ?? 0
            return sent >= 256 << 20
        }
        await kill()
        put.kill()
        let output = await put.wait(timeout: 10)
        let events = PutResumeTests.events(output.stdout)
        #expect(!events.contains { $0["id"] != nil }, "the first run must not have finished")
        return events.compactMap { $0["bytes"] as? Int }.max() ?? 0
    }

    /// The second run: finishes, starts where the server stands, and makes the right file.
    static func secondRun(
        source: String, sha256: String, env: [String: String], home: TemporaryDirectory, reported: Int
    ) async throws {
        let again = await
            (try ExternalTool.start(
                path: ServeCommandTests.binary, ["put", source, "--json"], environment: env, directory: home.path))
            .wait(timeout: 300)
        #expect(again.status == 0, "\(again.stderr)")
        let lines = PutResumeTests.events(again.stdout)
        let started = try #require(lines.first { $0["event"] as? String == "started" }, "\(again.stdout)")
        let resumedAt = started["bytes"] as? Int ?? 0
        #expect(resumedAt > 0, "continued, not restarted")
        #expect(reported - resumedAt <= chunk, "re-sent \(reported - resumedAt) bytes, more than one chunk")
        #expect(lines.last?["sha256"] as? String == sha256)
        #expect(lines.last?["size"] as? Int == size)
        let state = home.appending(".local/state/ferry/uploads")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: state)) ?? []).isEmpty)
    }

    @Test(arguments: Store.allCases)
    func theServerKilledMidUploadAndRestartedLosesNothingAcknowledged(store: Store) async throws {
        let home = try TemporaryDirectory("ferry-put-server-kill")
        defer { home.remove() }
        let port = try FreePort.pick()
        let token = Identifier.secret()
        var serverEnv = ServeCommandTests.baseEnvironment
        serverEnv["FERRY_DATA_DIR"] = home.appending("server")
        serverEnv["FERRY_LISTEN"] = "127.0.0.1:\(port)"
        serverEnv["FERRY_BOOTSTRAP_TOKEN"] = token
        if store == .s3 {
            let env = ProcessInfo.processInfo.environment
            guard let s3 = env["FERRY_TEST_S3_ENDPOINT"] else {
                throw ClusterServiceMissing(description: "FERRY_TEST_S3_ENDPOINT must be set: run scripts/test")
            }
            let bucket = "kill-" + Identifier.make().lowercased().filter { $0.isLetter || $0.isNumber }.prefix(16)
            #expect(try await ClusterTests.curl(["-X", "PUT", "\(s3)/\(bucket)"]).status == 200)
            serverEnv["FERRY_STORAGE"] = "s3://\(bucket)/blobs"
            serverEnv["FERRY_S3_ENDPOINT"] = s3
            serverEnv["FERRY_S3_PATH_STYLE"] = "true"
            serverEnv["AWS_ACCESS_KEY_ID"] = env["FERRY_TEST_S3_ACCESS_KEY"] ?? "test"
            serverEnv["AWS_SECRET_ACCESS_KEY"] = env["FERRY_TEST_S3_SECRET_KEY"] ?? "test-secret"
        }
        let base = "http://127.0.0.1:\(port)"
        let environment = serverEnv
        func startServer() async throws -> ExternalTool.Running {
            let server = try ExternalTool.start(path: ServeCommandTests.binary, ["serve"], environment: environment)
            try await Eventually.check(timeout: 60) {
                (try? await ExternalTool.run("curl", ["-sf", "\(base)/readyz"], timeout: 5))?.status == 0
            }
            return server
        }
        let first = try await startServer()
        defer { first.kill() }
        let source = home.appending("big.bin")
        let sha256 = try await Self.bigFile(source)
        let env = Self.clientEnvironment(home: home, base: base, token: token)
        let reported = try await Self.firstRun(source: source, env: env, home: home) {
            first.kill()
            _ = await first.wait(timeout: 10)
        }
        let second = try await startServer()
        defer { second.kill() }
        try await Self.secondRun(source: source, sha256: sha256, env: env, home: home, reported: reported)
    }

    @Test func aNodeKilledMidUploadTheUploadContinuesOnTheOtherNode() async throws {
        // The nodes name nginx in absolute URLs (the tus upload's Location among them), as a real
        // cluster's FERRY_PUBLIC_URL does: the client never talks to a node directly.
        let port = try FreePort.pick()
        try await ClusterTests.withCluster(publicURL: "http://127.0.0.1:\(port)") { a, b, token in
            try await ClusterTests.withNginx(a, b, port: port) { front in
                let home = try TemporaryDirectory("ferry-put-node-kill")
                defer { home.remove() }
                let source = home.appending("big.bin")
                let sha256 = try await Self.bigFile(source)
                let env = Self.clientEnvironment(home: home, base: front, token: token)
                let reported = try await Self.firstRun(source: source, env: env, home: home) {
                    a.process.kill()
                    _ = await a.process.wait(timeout: 10)
                }
                try await Self.secondRun(source: source, sha256: sha256, env: env, home: home, reported: reported)
            }
        }
    }
}
