import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Runs the built `ferry` binary, as users and scripts do.
@Suite struct ServeCommandTests {
    /// The `ferry` executable built beside this test bundle.
    static var binary: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("ferry").path
    }

    static var baseEnvironment: [String: String] {
        ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
    }

    @Test(arguments: [
        ("FERRY_LINK_TTL", "soon"), ("FERRY_LISTEN", "nowhere"), ("FERRY_MAX_UPLOAD_BYTES", "-1"),
        ("FERRY_STORAGE", "ftp://x"), ("FERRY_TRUSTED_PROXIES", "10.0.0.0/99"),
        ("FERRY_PUBLIC_URL", "files.example.com"),
        ("FERRY_ALLOWED_TYPES", "not a type"), ("FERRY_SIGNING_KEYS", "k1:c2hvcnQ="),
    ])
    func badValueStopsWithOneLineNamingTheVariable(variable: String, value: String) async throws {
        let directory = try TemporaryDirectory("ferry-cli")
        defer { directory.remove() }
        var env = Self.baseEnvironment
        env["FERRY_DATA_DIR"] = directory.path
        env[variable] = value
        let run = try ExternalTool.start(path: Self.binary, ["serve"], environment: env)
        let result = await run.wait(timeout: 30)
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(variable))
        if variable == "FERRY_SIGNING_KEYS" { #expect(!result.stderr.contains("c2hvcnQ=")) }
    }

    @Test func serveBootstrapsPrintsTokenOnceAndStopsOnSIGTERM() async throws {
        let directory = try TemporaryDirectory("ferry-cli")
        defer { directory.remove() }
        let port = try FreePort.pick()
        var env = Self.baseEnvironment
        env["FERRY_DATA_DIR"] = directory.appending("data")
        env["FERRY_LISTEN"] = "127.0.0.1:\(port)"
        let server = try ExternalTool.start(path: Self.binary, ["serve"], environment: env)
        defer { server.kill() }
        let token = try await Eventually.value(timeout: 30) { () -> String? in
            let lines = server.outputSoFar.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let index = lines.firstIndex(where: { $0.contains("shown only this once") }), index + 1 < lines.count
            else { return nil }
            return lines[index + 1]
        }
        try await Eventually.check(timeout: 30) {
            let r = try await ExternalTool.run(
                "curl",
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    "-H", "Authorization: Bearer \(token)", "http://127.0.0.1:\(port)/v1/files",
                ])
            return r.stdout == "200"
        }
        let mode =
            try FileManager.default.attributesOfItem(atPath: directory.appending("data"))[.posixPermissions] as? Int
        #expect(mode == 0o700)
        server.signal(SIGTERM)
        let result = await server.wait(timeout: 20)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains(token))
        #expect(result.stdout.components(separatedBy: token).count == 2)

        // A second start finds the admin and prints no token.
        let again = try ExternalTool.start(path: Self.binary, ["serve"], environment: env)
        try await Eventually.check(timeout: 30) {
            let r = try await ExternalTool.run(
                "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/healthz"])
            return r.stdout == "200"
        }
        again.signal(SIGINT)
        let second = await again.wait(timeout: 20)
        #expect(second.status == 0)
        #expect(!second.stdout.contains("shown only this once"))
    }

    @Test func sigtermCancelsAStalledDownloadAfterTheGracePeriod() async throws {
        let setup = try await ClientCommandTests.Setup.start(serverEnvironment: ["FERRY_SHUTDOWN_GRACE": "2"])
        defer { setup.stop() }
        let payload = setup.home.appending("big.bin")
        try Data(TestData.bytes(64 * 1024 * 1024, seed: 9)).write(to: URL(fileURLWithPath: payload))
        let upload = try await ExternalTool.run(
            "curl",
            [
                "-sSf", "-H", "Authorization: Bearer \(setup.token)", "--data-binary", "@\(payload)",
                "\(setup.base)/v1/files?name=big.bin",
            ])
        #expect(upload.status == 0, "\(upload.stderr)")
        let id = try #require(
            (try JSONSerialization.jsonObject(with: Data(upload.stdout.utf8)) as? [String: Any])?["id"] as? String)
        let port = try #require(Int(setup.base.split(separator: ":").last ?? ""))
        let reader = try ExternalTool.stalledReader(port: port, path: "/v1/files/\(id)/content", token: setup.token)
        defer { reader.kill() }
        try await Eventually.check(timeout: 30) {
            try await ExternalTool.run("curl", ["-sf", "\(setup.base)/metrics"]).stdout.contains(
                "ferry_active_transfers 1")
        }
        let signalled = Date()
        setup.server.signal(SIGTERM)
        let result = await setup.server.wait(timeout: 60)
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        #expect(Date().timeIntervalSince(signalled) < 30)
    }

    @Test func helpReadsWell() async throws {
        let result = await (try ExternalTool.start(path: Self.binary, ["--help"], environment: Self.baseEnvironment))
            .wait(timeout: 20)
        #expect(result.status == 0)
        #expect(result.stdout.contains("serve"))
    }
}
