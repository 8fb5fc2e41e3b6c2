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

    /// A node's environment: its data under `directory`, listening on 127.0.0.1:`port`.
    static func nodeEnvironment(_ directory: TemporaryDirectory, port: Int) -> [String: String] {
        var env = baseEnvironment
        env["FERRY_DATA_DIR"] = directory.appending("data")
        env["FERRY_LISTEN"] = "127.0.0.1:\(port)"
        return env
    }

    /// Whether a node answers `/healthz` on 127.0.0.1:`port`.
    static func healthy(_ port: Int) async -> Bool {
        let r = try? await ExternalTool.run(
            "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/healthz"])
        return r?.stdout == "200"
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

    /// A node that cannot listen, or cannot make its data directory, stops with one line naming
    /// the variable and the cause, before it creates anything or prints a first token (it bound
    /// last, after bootstrap: "Error: bind(descriptor:ptr:bytes:): Address already in use) (errno:
    /// 98)", and "NSCocoaErrorDomain Code=4" for the directory).
    @Test func anAddressInUseOrADataDirectoryItCannotMakeIsOneLine() async throws {
        let directory = try TemporaryDirectory("ferry-cli")
        defer { directory.remove() }
        // Another program listens on the port.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(listener, raw, length) == 0 && listen(listener, 1) == 0
                    && getsockname(listener, raw, &length) == 0
            }
        }
        #expect(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        var env = Self.baseEnvironment
        env["FERRY_DATA_DIR"] = directory.appending("data")
        env["FERRY_LISTEN"] = "127.0.0.1:\(port)"
        let inUse = await (try ExternalTool.start(path: Self.binary, ["serve"], environment: env)).wait(timeout: 30)
        #expect(inUse.status == 1)
        #expect(inUse.stderr.split(separator: "\n").count == 1, "\(inUse.stderr)")
        #expect(inUse.stderr.contains("127.0.0.1:\(port) (FERRY_LISTEN): the address is in use"), "\(inUse.stderr)")
        #expect(inUse.stdout.isEmpty, "no token for a server that never ran: \(inUse.stdout)")
        #expect(!FileManager.default.fileExists(atPath: directory.appending("data")))

        // The data directory would sit beneath a file.
        try Data().write(to: URL(fileURLWithPath: directory.appending("file")))
        env["FERRY_DATA_DIR"] = directory.appending("file/data")
        env["FERRY_LISTEN"] = "127.0.0.1:\(try FreePort.pick())"
        let beneathAFile = await (try ExternalTool.start(path: Self.binary, ["serve"], environment: env)).wait(
            timeout: 30)
        #expect(beneathAFile.status == 2)
        #expect(beneathAFile.stderr.split(separator: "\n").count == 1, "\(beneathAFile.stderr)")
        #expect(
            beneathAFile.stderr.contains("FERRY_DATA_DIR: cannot create \(directory.appending("file/data")):"),
            "\(beneathAFile.stderr)")
        #expect(beneathAFile.stderr.contains("is a file, not a directory"), "\(beneathAFile.stderr)")
    }

    /// `--config FILE`: the same variables as lines, beneath the environment; a file holding a
    /// secret must be mode 0600, and a bad file is one line naming what to fix.
    @Test func aConfigFileSitsBeneathTheEnvironment() async throws {
        let directory = try TemporaryDirectory("ferry-cli")
        defer { directory.remove() }
        let (filePort, envPort) = (try FreePort.pick(), try FreePort.pick())
        let token = Identifier.secret()
        let file = directory.appending("ferry.env")
        try """
        # Ferry
        FERRY_LISTEN=127.0.0.1:\(filePort)
        FERRY_DATA_DIR=\(directory.appending("data"))

        FERRY_BOOTSTRAP_TOKEN=\(token)
        """
        // Saved on Windows: every line ends "\r\n".
        .replacingOccurrences(of: "\n", with: "\r\n").write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)

        func serve(_ env: [String: String] = [:]) throws -> ExternalTool.Running {
            var environment = Self.baseEnvironment
            environment.merge(env) { $1 }
            return try ExternalTool.start(path: Self.binary, ["serve", "--config", file], environment: environment)
        }
        let open = await (try serve()).wait(timeout: 30)
        #expect(open.status == 2)
        #expect(open.stderr.contains("FERRY_BOOTSTRAP_TOKEN: \(file) is readable by others; chmod 600 it"))
        #expect(!open.stderr.contains(token))

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        // The environment's FERRY_LISTEN wins over the file's; the file's token works.
        let server = try serve(["FERRY_LISTEN": "127.0.0.1:\(envPort)"])
        defer { server.kill() }
        try await Eventually.check(timeout: 30) {
            let r = try await ExternalTool.run(
                "curl",
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer \(token)",
                    "http://127.0.0.1:\(envPort)/v1/files",
                ])
            return r.stdout == "200"
        }
        server.signal(SIGTERM)
        #expect(await server.wait(timeout: 20).status == 0)

        try "export FERRY_LISTEN=127.0.0.1:1\n".write(toFile: file, atomically: true, encoding: .utf8)
        let exported = await (try serve()).wait(timeout: 30)
        #expect(exported.status == 2)
        #expect(exported.stderr.contains("line 1 of \(file) starts with 'export'"), "\(exported.stderr)")
        let missing = try ExternalTool.start(
            path: Self.binary, ["serve", "--config", directory.appending("none.env")], environment: Self.baseEnvironment
        )
        #expect(await missing.wait(timeout: 30).stderr.contains("does not exist"))
    }

    @Test func serveBootstrapsPrintsTokenOnceAndStopsOnSIGTERM() async throws {
        let directory = try TemporaryDirectory("ferry-cli")
        defer { directory.remove() }
        let port = try FreePort.pick()
        let env = Self.nodeEnvironment(directory, port: port)
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
        #expect(!result.stderr.contains("warning"), "\(result.stderr)")
        #expect(result.stdout.components(separatedBy: token).count == 2)

        // A second start finds the admin and prints no token.
        let again = try ExternalTool.start(path: Self.binary, ["serve"], environment: env)
        try await Eventually.check(timeout: 30) { await Self.healthy(port) }
        again.signal(SIGINT)
        let second = await again.wait(timeout: 20)
        #expect(second.status == 0)
        #expect(!second.stdout.contains("shown only this once"))
    }

    /// A public URL of `0.0.0.0` (the default when FERRY_LISTEN is every interface, as in a
    /// container) names no machine: links would not open elsewhere and the web app, opened at a
    /// real address, could change nothing. `ferry serve` says so at once, with the fix, and serves.
    @Test func aPublicURLThatNamesNoMachineIsWarnedAbout() async throws {
        let directory = try TemporaryDirectory("ferry-cli")
        defer { directory.remove() }
        let port = try FreePort.pick()
        var env = Self.nodeEnvironment(directory, port: port)
        // Tests bind to 127.0.0.1 only: the public URL is the one FERRY_LISTEN=0.0.0.0 would give.
        env["FERRY_PUBLIC_URL"] = "http://0.0.0.0:\(port)"
        let server = try ExternalTool.start(path: Self.binary, ["serve"], environment: env)
        defer { server.kill() }
        try await Eventually.check(timeout: 30) { await Self.healthy(port) }
        server.signal(SIGTERM)
        let result = await server.wait(timeout: 20)
        #expect(result.status == 0)
        let warning = result.stderr.split(separator: "\n").filter { $0.contains("warning") }
        #expect(warning.count == 1, "\(result.stderr)")
        #expect(
            warning.first?.contains(
                "ferry: warning: FERRY_PUBLIC_URL is http://0.0.0.0:\(port), an address that names every interface")
                == true, "\(result.stderr)")
        #expect(warning.first?.contains("Set FERRY_PUBLIC_URL to the address users reach") == true)
    }

    /// One SQLite catalog, one `ferry serve` (its lookups are kept in memory): a second on the
    /// same data directory waits for the first to stop (a restart may overlap a node that is still
    /// draining), then refuses to start, naming the catalog, the first's pid and PostgreSQL, while
    /// the first keeps serving; one waiting while the first stops starts as soon as it is gone.
    @Test func aSecondServeOnTheSameSQLiteCatalogWaitsThenRefuses() async throws {
        let directory = try TemporaryDirectory("ferry-cli")
        defer { directory.remove() }
        let port = try FreePort.pick()
        let otherPort = try FreePort.pick()
        let env = Self.nodeEnvironment(directory, port: port)
        let otherEnv = Self.nodeEnvironment(directory, port: otherPort)
        func healthy(_ port: Int) async -> Bool { await Self.healthy(port) }
        let first = try ExternalTool.start(path: Self.binary, ["serve"], environment: env)
        defer { first.kill() }
        try await Eventually.check(timeout: 30) { await healthy(port) }

        var impatient = otherEnv
        impatient["FERRY_SHUTDOWN_GRACE"] = "0"  // waits 0 + 5 s
        let second = try ExternalTool.start(path: Self.binary, ["serve"], environment: impatient)
        defer { second.kill() }
        let refused = await second.wait(timeout: 60)
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("ferry serve (pid \(first.pid)) serves this SQLite catalog; waiting up to 5 s"))
        #expect(refused.stderr.contains("ferry.sqlite is in use by another ferry serve (pid \(first.pid))"))
        #expect(refused.stderr.contains("PostgreSQL"))
        #expect(await healthy(port))
        #expect(!(await healthy(otherPort)))

        // A restart: the next node starts while the first still runs, and serves once it stopped.
        let third = try ExternalTool.start(path: Self.binary, ["serve"], environment: otherEnv)
        defer { third.kill() }
        try await Eventually.check(timeout: 30) { third.errorsSoFar.contains("waiting up to 35 s") }
        #expect(!(await healthy(otherPort)))
        first.signal(SIGTERM)
        #expect(await first.wait(timeout: 30).status == 0)
        try await Eventually.check(timeout: 30) { await healthy(otherPort) }
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

/// README's completion scripts: generated for bash, zsh and fish, naming every command; the bash
/// one parses.
@Suite struct CompletionScriptTests {
    @Test func completionScriptsNameEveryCommandAndBashParsesItsOwn() async throws {
        for shell in ["bash", "zsh", "fish"] {
            let r = await try ExternalTool.start(
                path: ServeCommandTests.binary, ["--generate-completion-script", shell],
                environment: ServeCommandTests.baseEnvironment
            ).wait(timeout: 60)
            #expect(r.status == 0, "\(shell): \(r.stderr)")
            for command in ["serve", "get", "put", "link", "bundle", "doctor"] {
                #expect(r.stdout.contains(command), "\(shell) completion lacks \(command)")
            }
            if shell == "bash" {
                let scratch = try TemporaryDirectory("ferry-completion")
                defer { scratch.remove() }
                let path = scratch.appending("ferry.bash")
                try r.stdout.write(toFile: path, atomically: true, encoding: .utf8)
                let parsed = try await ExternalTool.run("bash", ["-n", path])
                #expect(parsed.status == 0, "\(parsed.stderr)")
            }
        }
    }
}
