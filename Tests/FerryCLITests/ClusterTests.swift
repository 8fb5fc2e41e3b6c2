import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Two `ferry serve` processes on different ports sharing one PostgreSQL and one S3-compatible
/// server (both started by `scripts/test`): the cluster behaves as one service.
@Suite(.serialized) struct ClusterTests {
    /// A node of the cluster and the curl calls the tests make against it.
    struct Node {
        let process: ExternalTool.Running
        let port: Int
        var base: String { "http://127.0.0.1:\(port)" }
    }

    struct Response {
        var status: Int
        var body: String
    }

    static func curl(_ arguments: [String]) async throws -> Response {
        let r = try await ExternalTool.run("curl", ["-sS", "-w", "\n%{http_code}"] + arguments, timeout: 60)
        #expect(r.status == 0, "curl failed: \(r.stderr)")
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return Response(
            status: Int(lines.last ?? "") ?? 0, body: lines.dropLast().joined(separator: "\n"))
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    /// Starts two nodes on a fresh schema and a fresh bucket, runs `body`, stops them.
    /// `publicURL`: the address in front of both nodes (nginx), which absolute URLs name; by
    /// default each node names itself.
    static func withCluster(
        publicURL: String? = nil, _ body: @Sendable (Node, Node, String) async throws -> Void
    ) async throws {
        let setup = try await ClusterSetup.make()
        defer { setup.directory.remove() }
        var nodes: [Node] = []
        defer { for node in nodes { node.process.kill() } }
        for name in ["a", "b"] {
            let port = try FreePort.pick()
            let node = try await setup.start(name, port: port, publicURL: publicURL)
            nodes.append(node)
        }
        try await body(nodes[0], nodes[1], setup.token)
    }

    @Test func twoNodesActAsOneService() async throws {
        try await Self.withCluster { a, b, token in
            let auth = "Authorization: Bearer \(token)"
            let scratch = try TemporaryDirectory("ferry-cluster-files")
            defer { scratch.remove() }
            let bytes = TestData.bytes(3 * 1024 * 1024 + 7)
            let source = scratch.appending("source.bin")
            try Data(bytes).write(to: URL(fileURLWithPath: source))

            // Upload on A, download on B.
            let uploaded = try await Self.curl(
                ["-H", auth, "--data-binary", "@\(source)", "\(a.base)/v1/files?name=data.bin"])
            #expect(uploaded.status == 201, "\(uploaded.body)")
            let fileID = try #require(Self.json(uploaded.body)["id"] as? String)
            let out = scratch.appending("fromB.bin")
            let fromB = try await Self.curl(["-H", auth, "-o", out, "\(b.base)/v1/files/\(fileID)/content"])
            #expect(fromB.status == 200)
            #expect(try TestData.sha256(file: out) == TestData.sha256(bytes))

            func issue(_ node: Node, _ body: String, auth: String) async throws -> (id: String, path: String) {
                let r = try await Self.curl(
                    [
                        "-H", auth, "-H", "Content-Type: application/json", "-d", body,
                        "\(node.base)/v1/files/\(fileID)/links",
                    ])
                #expect(r.status == 201, "\(r.body)")
                let json = Self.json(r.body)
                let url = try #require(json["url"] as? String)
                let path = String(url[try #require(url.range(of: "/t/"))!.lowerBound...])
                return (try #require(json["id"] as? String), path)
            }

            // A single-use link taken by client 1 on A: client 2 is refused on B, client 1 resumes on B.
            let single = try await issue(a, #"{"single_use": true}"#, auth: auth)
            let first = try await Self.curl(["-A", "client-1", "-r", "0-99", "-o", "/dev/null", a.base + single.path])
            #expect(first.status == 206)
            let other = try await Self.curl(["-A", "client-2", b.base + single.path])
            #expect(other.status == 410)
            #expect(other.body.contains("link_used"))
            let resumed = try await Self.curl(["-A", "client-1", "-r", "100-", "-o", "/dev/null", b.base + single.path])
            #expect(resumed.status == 206)

            // Two clients hitting A and B at the same instant: exactly one wins, every time.
            for round in 0..<100 {
                let link = try await issue(a, #"{"single_use": true}"#, auth: auth)
                let runs = try [a, b].enumerated().map { index, node in
                    try ExternalTool.start(
                        "curl",
                        [
                            "-s", "-o", "/dev/null", "-w", "%{http_code}", "-A", "racer-\(index)", "-r", "0-0",
                            node.base + link.path,
                        ])
                }
                var codes: [String] = []
                for run in runs { codes.append(await run.wait(timeout: 30).stdout) }
                #expect(codes.sorted() == ["206", "410"], "round \(round): \(codes)")
            }

            // A 5-download link raced by 12 clients across both nodes: exactly 5 win.
            let five = try await issue(a, #"{"max_downloads": 5}"#, auth: auth)
            let racers = try (0..<12).map { index in
                try ExternalTool.start(
                    "curl",
                    [
                        "-s", "-o", "/dev/null", "-w", "%{http_code}", "-A", "crowd-\(index)", "-r", "0-0",
                        (index % 2 == 0 ? a : b).base + five.path,
                    ])
            }
            var wins = 0
            for run in racers where await run.wait(timeout: 30).stdout == "206" { wins += 1 }
            #expect(wins == 5)

            // A link revoked on A stops B at once.
            let revocable = try await issue(a, #"{"max_downloads": 100}"#, auth: auth)
            #expect(try await Self.curl(["-r", "0-0", "-o", "/dev/null", b.base + revocable.path]).status == 206)
            #expect(
                try await Self.curl(["-H", auth, "-X", "DELETE", "\(a.base)/v1/links/\(revocable.id)"]).status == 204)
            let afterRevoke = try await Self.curl([b.base + revocable.path])
            #expect(afterRevoke.status == 403)
            #expect(afterRevoke.body.contains("link_revoked"))

            // A grant revoked on A stops the member's link on B at once.
            let created = try await Self.curl(
                [
                    "-H", auth, "-H", "Content-Type: application/json", "-d",
                    #"{"username":"bob","role":"member","password":"bob-password-1"}"#, "\(a.base)/v1/users",
                ])
            #expect(created.status == 201, "\(created.body)")
            #expect(
                try await Self.curl(
                    [
                        "-H", auth, "-H", "Content-Type: application/json", "-d", #"{"username":"bob"}"#,
                        "\(a.base)/v1/files/\(fileID)/grants",
                    ]
                ).status == 201)
            let jar = scratch.appending("bob.cookies")
            let signIn = try await Self.curl(
                [
                    "-c", jar, "-H", "Content-Type: application/json", "-d",
                    #"{"username":"bob","password":"bob-password-1"}"#, "\(b.base)/v1/session",
                ])
            #expect(signIn.status == 204, "\(signIn.body)")
            let bobToken = try await Self.curl(
                [
                    "-b", jar, "-H", "Origin: \(b.base)", "-H", "Content-Type: application/json", "-d", "{}",
                    "\(b.base)/v1/tokens",
                ])
            #expect(bobToken.status == 201, "\(bobToken.body)")
            let bobAuth = "Authorization: Bearer \(try #require(Self.json(bobToken.body)["token"] as? String))"
            let bobLink = try await issue(b, #"{"max_downloads": 100}"#, auth: bobAuth)
            #expect(try await Self.curl(["-r", "0-0", "-o", "/dev/null", a.base + bobLink.path]).status == 206)
            #expect(
                try await Self.curl(["-H", auth, "-X", "DELETE", "\(a.base)/v1/files/\(fileID)/grants/bob"]).status
                    == 204)
            let afterGrant = try await Self.curl([b.base + bobLink.path])
            #expect(afterGrant.status == 403)
            #expect(afterGrant.body.contains("forbidden"))
        }
    }
}

extension ClusterTests {
    /// The nginx configuration of README "Running a cluster" (deploy/nginx-cluster.conf), in front of
    /// both nodes: uploads stream through, ranges and links work whichever node answers.
    @Test func nginxInFrontOfTwoNodes() async throws {
        try await Self.withCluster { a, b, token in
            try await Self.withNginx(a, b) { front in
                let work = try TemporaryDirectory("ferry-nginx-files")
                defer { work.remove() }
                let auth = "Authorization: Bearer \(token)"
                let bytes = TestData.bytes(9 * 1024 * 1024 + 3)
                let source = work.appending("source.bin")
                try Data(bytes).write(to: URL(fileURLWithPath: source))
                let uploaded = try await Self.curl([
                    "-H", auth, "-T", source, "-X", "POST", "\(front)/v1/files?name=big.bin",
                ])
                #expect(uploaded.status == 201, "\(uploaded.body)")
                let fileID = try #require(Self.json(uploaded.body)["id"] as? String)
                // Many requests: least_conn spreads them over both nodes; every answer is right.
                for offset in stride(from: 0, to: bytes.count, by: 1_000_003) {
                    let end = min(offset + 999, bytes.count - 1)
                    let part = work.appending("part")
                    let r = try await Self.curl([
                        "-H", auth, "-r", "\(offset)-\(end)", "-o", part, "\(front)/v1/files/\(fileID)/content",
                    ])
                    #expect(r.status == 206)
                    #expect(try Array(Data(contentsOf: URL(fileURLWithPath: part))) == Array(bytes[offset...end]))
                }
                let out = work.appending("out.bin")
                let aria = try await ExternalTool.run(
                    "aria2c",
                    [
                        "-x4", "-s4", "-k1M", "--header", auth, "-d", work.path, "-o", "out.bin",
                        "\(front)/v1/files/\(fileID)/content",
                    ])
                #expect(aria.status == 0, "\(aria.stdout)")
                #expect(try TestData.sha256(file: out) == TestData.sha256(bytes))
            }
        }
    }

    /// nginx with README's configuration (deploy/nginx-cluster.conf) in front of both nodes, for `body`.
    static func withNginx(
        _ a: Node, _ b: Node, port chosen: Int? = nil, _ body: (String) async throws -> Void
    ) async throws {
        let work = try TemporaryDirectory("ferry-nginx")
        defer { work.remove() }
        let port = try chosen ?? FreePort.pick()
        let template = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/nginx-cluster.conf")
        let config = try String(contentsOf: template, encoding: .utf8)
            .replacingOccurrences(of: "@NODE_A@", with: "127.0.0.1:\(a.port)")
            .replacingOccurrences(of: "@NODE_B@", with: "127.0.0.1:\(b.port)")
            .replacingOccurrences(of: "@PORT@", with: "\(port)")
            .replacingOccurrences(of: "@WORK@", with: work.path)
        try config.write(toFile: work.appending("nginx.conf"), atomically: true, encoding: .utf8)
        // In the foreground, as a child of the test (a daemonising start escapes process monitoring).
        let nginx = try ExternalTool.start(
            "nginx",
            [
                "-p", work.path, "-c", work.appending("nginx.conf"), "-e", work.appending("error.log"), "-g",
                "daemon off;",
            ])
        defer { nginx.terminate() }  // SIGTERM: the master stops its workers
        let front = "http://127.0.0.1:\(port)"
        try await Eventually.check(timeout: 20) {
            (try? await ExternalTool.run("curl", ["-sf", "\(front)/readyz"], timeout: 5))?.status == 0
        }
        try await body(front)
    }
}

struct ClusterServiceMissing: Error, CustomStringConvertible {
    var description: String
}

/// A fresh PostgreSQL schema and S3 bucket for a cluster, and each node's variables.
struct ClusterSetup: Sendable {
    let postgres: String
    let s3: String
    let suffix: String
    let bucket: String
    let token: String
    let directory: TemporaryDirectory

    static func make() async throws -> ClusterSetup {
        let env = ProcessInfo.processInfo.environment
        guard let postgres = env["FERRY_TEST_POSTGRES_URL"], let s3 = env["FERRY_TEST_S3_ENDPOINT"] else {
            throw ClusterServiceMissing(
                description: "FERRY_TEST_POSTGRES_URL and FERRY_TEST_S3_ENDPOINT must be set: run scripts/test")
        }
        let suffix = Identifier.make().lowercased().filter { $0.isLetter || $0.isNumber }
        let bucket = "cluster-\(suffix.prefix(16))"
        let created = try await ClusterTests.curl(["-X", "PUT", "\(s3)/\(bucket)"])
        #expect(created.status == 200)
        return ClusterSetup(
            postgres: postgres, s3: s3, suffix: suffix, bucket: bucket, token: Identifier.secret(),
            directory: try TemporaryDirectory("ferry-cluster"))
    }

    /// The variables of node `name` listening on `port`.
    func environment(_ name: String, port: Int, publicURL: String? = nil) -> [String: String] {
        let env = ProcessInfo.processInfo.environment
        var nodeEnv = ServeCommandTests.baseEnvironment
        nodeEnv["FERRY_DATA_DIR"] = directory.appending(name)
        nodeEnv["FERRY_LISTEN"] = "127.0.0.1:\(port)"
        nodeEnv["FERRY_DATABASE_URL"] = postgres + "&schema=c_\(suffix)"
        nodeEnv["FERRY_STORAGE"] = "s3://\(bucket)/blobs"
        nodeEnv["FERRY_S3_ENDPOINT"] = s3
        nodeEnv["FERRY_S3_PATH_STYLE"] = "true"
        nodeEnv["AWS_ACCESS_KEY_ID"] = env["FERRY_TEST_S3_ACCESS_KEY"] ?? "test"
        nodeEnv["AWS_SECRET_ACCESS_KEY"] = env["FERRY_TEST_S3_SECRET_KEY"] ?? "test-secret"
        nodeEnv["FERRY_BOOTSTRAP_TOKEN"] = token
        nodeEnv["FERRY_BOOTSTRAP_PASSWORD"] = "cluster-admin-pw"
        nodeEnv["FERRY_TRUSTED_PROXIES"] = "127.0.0.1/32"
        if let publicURL { nodeEnv["FERRY_PUBLIC_URL"] = publicURL }
        // One signing key for the whole cluster: a link issued on one node verifies on the other.
        nodeEnv["FERRY_SIGNING_KEYS"] = "k1:" + Data(repeating: 7, count: 32).base64EncodedString()
        return nodeEnv
    }

    /// Starts node `name` on `port` and waits until it is ready.
    func start(_ name: String, port: Int, publicURL: String? = nil) async throws -> ClusterTests.Node {
        let process = try ExternalTool.start(
            path: ServeCommandTests.binary, ["serve"], environment: environment(name, port: port, publicURL: publicURL))
        let node = ClusterTests.Node(process: process, port: port)
        do {
            try await Eventually.check(timeout: 60) {
                (try? await ExternalTool.run("curl", ["-sf", "\(node.base)/readyz"], timeout: 5))?.status == 0
            }
        } catch {
            process.kill()
            throw error
        }
        return node
    }
}
