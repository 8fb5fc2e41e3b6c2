import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import Logging
import Testing

/// The crash campaign (issue 24, item 1; RELIABILITY.md): a real `ferry serve` under mixed load
/// (`scripts/chaos/mixed-load.py`: one-shot and tus uploads, downloads through `/content` and
/// `/d/`, limited links used by many clients, issuance and revocation) is killed with SIGKILL at
/// random moments and restarted. Afterwards every acknowledged upload is there with its SHA-256,
/// no listed file is partial, no limited link served more clients than its limit, nothing was
/// served after a revocation was acknowledged, and after the janitor every blob belongs to a file
/// and every file has its blob. Audit rows a kill may lose are bounded: only those of uploads
/// acknowledged just before it. 4 kills per run; `FERRY_RELIABILITY_LONG=1` makes 20.
@Suite struct CrashUnderLoadTests {
    static var kills: Int { ProcessInfo.processInfo.environment["FERRY_RELIABILITY_LONG"] == "1" ? 20 : 4 }
    /// Load workers: 2 in the short form (it runs beside every other suite), 4 in the long one.
    static var workers: Int { ProcessInfo.processInfo.environment["FERRY_RELIABILITY_LONG"] == "1" ? 4 : 2 }
    static let script = DoctorTests.repository.appendingPathComponent("scripts/chaos/mixed-load.py").path

    @Test func killedUnderLoadOnSQLiteAndDisk() async throws {
        let home = try TemporaryDirectory("ferry-crash")
        defer { home.remove() }
        let port = try FreePort.pick()
        let token = Identifier.secret()
        let url = "http://127.0.0.1:\(port)"
        let env = [
            "FERRY_LISTEN": "127.0.0.1:\(port)", "FERRY_BOOTSTRAP_TOKEN": token,
            "FERRY_DATA_DIR": home.appending("ferry-data"),
        ]
        var server = try await DoctorTests.serve(env, port: port, directory: home.path)
        let state = home.appending("state.jsonl")
        let seconds = Double(Self.kills) * 3 + 3
        let load = try ExternalTool.start(
            "python3",
            [
                Self.script, "run", "--url", url, "--token", token, "--state", state, "--seconds", "\(seconds)",
                "--workers", "\(Self.workers)",
            ])
        var killedAt: [Date] = []
        for _ in 0..<Self.kills {
            try await Task.sleep(for: .milliseconds(Int.random(in: 800...2500)))
            server.kill()
            killedAt.append(Date())
            _ = await server.wait(timeout: 30)
            server = try await DoctorTests.serve(env, port: port, directory: home.path)
        }
        let ran = await load.wait(timeout: seconds + 120)
        #expect(ran.status == 0, "\(ran.stderr)")

        let verify = try await ExternalTool.run(
            "python3", [Self.script, "verify", "--url", url, "--token", token, "--state", state], timeout: 300)
        #expect(verify.status == 0, "\(verify.stderr)")
        let report = ClusterTests.json(verify.stdout)
        #expect((report["problem_count"] as? Int) == 0, "\(verify.stdout)")
        #expect(
            (report["acknowledged"] as? Int ?? 0) >= 5,
            "the load made too few uploads to mean anything: \(verify.stdout)")
        #expect((report["link_downloads"] as? Int ?? 0) > 0, "\(verify.stdout)")

        // Audit: an acknowledged upload's upload.completed row may be lost only when a kill came
        // right after it (the batch being written and those queued behind it).
        let audited = try await Self.auditedUploads(url: url, token: token)
        let lines = try String(contentsOfFile: state, encoding: .utf8).split(separator: "\n")
        var lostLags: [TimeInterval] = []
        for line in lines {
            let entry = ClusterTests.json(String(line))
            guard let id = entry["ack"] as? String, let at = entry["at"] as? Double, !audited.contains(id) else {
                continue
            }
            let acked = Date(timeIntervalSince1970: at)
            let nextKill = killedAt.first { $0 >= acked.addingTimeInterval(-0.05) } ?? .distantFuture
            lostLags.append(nextKill.timeIntervalSince(acked))
        }
        #expect(lostLags.allSatisfy { $0 < 1.0 }, "audit rows lost long before a kill: \(lostLags)")
        print(
            "crash campaign: \(Self.kills) kills, \(verify.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), audit rows lost: \(lostLags.count) (ack-to-kill \(lostLags.map { Int($0 * 1000) }) ms)"
        )

        // After the janitor (grace 0: nothing is being written now), every blob belongs to a file
        // and every file has its blob.
        server.kill()
        _ = await server.wait(timeout: 30)
        try await Self.reconcile(env)
    }

    /// The same on two nodes of PostgreSQL + S3 behind nginx: one node or the other is killed and
    /// restarted while the load goes through the front.
    @Test func killedUnderLoadOnTwoPostgresAndS3Nodes() async throws {
        let setup = try await ClusterSetup.make()
        defer { setup.directory.remove() }
        let ports = [try FreePort.pick(), try FreePort.pick()]
        let front = try FreePort.pick()
        let publicURL = "http://127.0.0.1:\(front)"
        var nodes = [
            try await setup.start("a", port: ports[0], publicURL: publicURL),
            try await setup.start("b", port: ports[1], publicURL: publicURL),
        ]
        defer { for node in nodes { node.process.kill() } }
        try await ClusterTests.withNginx(nodes[0], nodes[1], port: front) { url in
            let state = setup.directory.appending("state.jsonl")
            let seconds = Double(Self.kills) * 3 + 3
            let load = try ExternalTool.start(
                "python3",
                [
                    Self.script, "run", "--url", url, "--token", setup.token, "--state", state, "--seconds",
                    "\(seconds)", "--workers", "\(Self.workers)",
                ])
            for round in 0..<Self.kills {
                try await Task.sleep(for: .milliseconds(Int.random(in: 800...2500)))
                let victim = round % 2
                nodes[victim].process.kill()
                _ = await nodes[victim].process.wait(timeout: 30)
                nodes[victim] = try await setup.start(["a", "b"][victim], port: ports[victim], publicURL: publicURL)
            }
            let ran = await load.wait(timeout: seconds + 120)
            #expect(ran.status == 0, "\(ran.stderr)")
            let verify = try await ExternalTool.run(
                "python3", [Self.script, "verify", "--url", url, "--token", setup.token, "--state", state], timeout: 300
            )
            let report = ClusterTests.json(verify.stdout)
            #expect((report["problem_count"] as? Int) == 0, "\(verify.stdout) \(verify.stderr)")
            #expect((report["acknowledged"] as? Int ?? 0) >= 5, "\(verify.stdout)")
            print("crash campaign, two nodes: \(Self.kills) kills, \(verify.stdout)")
        }
        for node in nodes { node.process.kill() }
        for node in nodes { _ = await node.process.wait(timeout: 30) }
        try await Self.reconcile(setup.environment("a", port: ports[0]))
    }

    /// PostgreSQL stopped (`-m immediate`) and restarted under load, three times: requests meanwhile
    /// are 503s, the node recovers without a restart, and nothing acknowledged is lost.
    @Test func postgresRestartedUnderLoad() async throws {
        let postgres = try await PrivatePostgres.start()
        let home = try TemporaryDirectory("ferry-pg-restarts")
        defer { home.remove() }
        do {
            let port = try FreePort.pick()
            let token = Identifier.secret()
            let url = "http://127.0.0.1:\(port)"
            let env = [
                "FERRY_LISTEN": "127.0.0.1:\(port)", "FERRY_BOOTSTRAP_TOKEN": token, "FERRY_DATABASE_URL": postgres.url,
                "FERRY_DATA_DIR": home.appending("ferry-data"), "FERRY_DATABASE_TIMEOUT": "3",
            ]
            let server = try await DoctorTests.serve(env, port: port, directory: home.path)
            defer { server.kill() }
            let state = home.appending("state.jsonl")
            let load = try ExternalTool.start(
                "python3",
                [
                    Self.script, "run", "--url", url, "--token", token, "--state", state, "--seconds", "30",
                    "--workers", "\(Self.workers)",
                ])
            var unavailable = 0
            for _ in 0..<3 {
                try await Task.sleep(for: .seconds(4))
                try await postgres.halt()
                let during = try await ClusterTests.curl(["-H", "Authorization: Bearer \(token)", "\(url)/v1/files"])
                if during.status == 503 { unavailable += 1 }
                try await Task.sleep(for: .seconds(1))
                try await postgres.resume()
                try await Eventually.check(timeout: 30) { try await ClusterTests.curl(["\(url)/readyz"]).status == 200 }
            }
            #expect(unavailable == 3, "requests while PostgreSQL was down were 503")
            let ran = await load.wait(timeout: 120)
            #expect(ran.status == 0, "\(ran.stderr)")
            let verify = try await ExternalTool.run(
                "python3", [Self.script, "verify", "--url", url, "--token", token, "--state", state], timeout: 300)
            let report = ClusterTests.json(verify.stdout)
            #expect((report["problem_count"] as? Int) == 0, "\(verify.stdout) \(verify.stderr)")
            #expect((report["acknowledged"] as? Int ?? 0) >= 5, "\(verify.stdout)")
            print("PostgreSQL restarted 3 times under load: \(verify.stdout)")
        } catch {
            await postgres.remove()
            throw error
        }
        await postgres.remove()
    }

    static func auditedUploads(url: String, token: String) async throws -> Set<String> {
        var ids: Set<String> = []
        var cursor: String?
        repeat {
            let page = try await ClusterTests.curl([
                "-H", "Authorization: Bearer \(token)",
                "\(url)/v1/audit?event=upload.completed&limit=1000" + (cursor.map { "&cursor=\($0)" } ?? ""),
            ])
            let body = ClusterTests.json(page.body)
            for event in body["events"] as? [[String: Any]] ?? [] {
                if let id = event["file_id"] as? String { ids.insert(id) }
            }
            cursor = body["next_cursor"] as? String
        } while cursor != nil
        return ids
    }

    /// Runs the janitor's reconciliation on the stopped deployment, then checks that every blob
    /// in the store belongs to a file.
    static func reconcile(_ env: [String: String]) async throws {
        let configuration = try FerryConfiguration(environment: env)
        var logger = Logger(label: "crash-test")
        logger.logLevel = .warning
        let backends = try await Backends.openRunning(configuration, logger: logger)
        do {
            let services = FerryServices(
                configuration: configuration, catalog: backends.catalog, store: backends.store, logger: logger,
                keyring: try SigningKeyring.load(configuration))
            let swept = await services.sweepOrphans(grace: 0, uploadGrace: 0, limit: 10_000)
            var keys: [String] = []
            try await backends.store.listBlobs(writtenBefore: .distantFuture) { keys += $0 }
            let referenced = try await backends.catalog.referencedBlobs(among: keys)
            #expect(Set(keys) == referenced, "blobs without a file after the janitor (swept \(swept))")
            // (Every listed file serving its bytes, checked by `verify` above, is every file having its blob.)
        } catch {
            await backends.close()
            throw error
        }
        await backends.close()
    }
}
