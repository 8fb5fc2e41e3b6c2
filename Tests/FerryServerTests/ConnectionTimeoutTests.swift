import FerryAPIModels
import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// The connection timeouts (README "Configuration": `FERRY_IDLE_TIMEOUT`, `FERRY_SEND_TIMEOUT`):
/// a client that trickles its head (slowloris), sits idle on a keep-alive, or stops reading a
/// download is cut, while other clients are served.
@Suite struct ConnectionTimeoutTests {
    /// Runs a Python client against the server; it prints one line: what happened and when.
    static func client(_ port: Int, _ body: String) async throws -> String {
        let script = """
            import socket, time
            s = socket.create_connection(("127.0.0.1", \(port)))
            s.settimeout(30)
            start = time.monotonic()
            def closed():
                try:
                    while True:
                        data = s.recv(65536)
                        if not data:
                            return True
                except (ConnectionResetError, BrokenPipeError):
                    return True
                except socket.timeout:
                    return False
            \(body)
            """
        let r = try await ExternalTool.run("python3", ["-c", script], timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aTrickledHeadAndAnIdleKeepAliveAreClosed() async throws {
        let server = try await TestServer.make(["FERRY_IDLE_TIMEOUT": "2"])
        try await server.live {
            // Slowloris: a byte of header every 0.3 s never completes the head.
            let trickled = try await Self.client(
                server.port,
                """
                s.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n")
                cut = None
                for i in range(60):
                    try:
                        s.sendall(b"X")
                    except (BrokenPipeError, ConnectionResetError):
                        cut = time.monotonic() - start
                        break
                    s.settimeout(0.3)
                    try:
                        if s.recv(1) == b"":
                            cut = time.monotonic() - start
                            break
                    except socket.timeout:
                        pass
                print("cut %.1f" % cut if cut is not None else "open")
                """)
            #expect(trickled.hasPrefix("cut "), "\(trickled)")
            let after = Double(trickled.dropFirst(4)) ?? 99
            #expect(after >= 1.5 && after < 8, "the trickled head was cut after \(after) s (timeout 2 s)")

            // An idle keep-alive after one answered request.
            let idle = try await Self.client(
                server.port,
                """
                s.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
                first = s.recv(65536)
                answered = time.monotonic()
                print("%s %.1f" % ("closed" if b"200" in first and closed() else "open", time.monotonic() - answered))
                """)
            #expect(idle.hasPrefix("closed "), "\(idle)")
            let idleFor = Double(idle.split(separator: " ").last ?? "") ?? 99
            #expect(idleFor >= 1.5 && idleFor < 8, "the idle keep-alive closed after \(idleFor) s (timeout 2 s)")

            // Meanwhile, and after, a normal request is served.
            let normal = try await ExternalTool.run("curl", ["-sf", "http://127.0.0.1:\(server.port)/healthz"])
            #expect(normal.status == 0)
        }
    }

    /// A server that stops reading an upload's body for longer than the idle timeout (its store
    /// is slow) does not cut the client: the client is idle only while the server waits for it.
    @Test func aServerPausingAnUploadDoesNotCutItsClient() async throws {
        // The pause is well past the timeout, and the timeout well past how long a loaded CI
        // machine leaves curl unscheduled (1 s cut it there once).
        let server = try await TestServer.make(
            ["FERRY_IDLE_TIMEOUT": "3"], store: { StoreWithFaults($0, uploadPause: .seconds(9)) })
        let scratch = try TemporaryDirectory("ferry-upload-pause")
        defer { scratch.remove() }
        try await server.live {
            let bytes = TestData.bytes(8 * 1024 * 1024, seed: 8)
            let file = try await server.uploadWithCurl(bytes, name: "paused.bin", scratch: scratch)
            #expect(file.size == Int64(bytes.count))
            let out = scratch.appending("paused.out")
            let download = try await ExternalTool.run(
                "curl",
                [
                    "-sSf", "-o", out, "-H", "Authorization: Bearer \(server.adminToken)",
                    "http://127.0.0.1:\(server.port)/v1/files/\(file.id)/content",
                ])
            #expect(download.status == 0, "\(download.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(bytes))
        }
    }

    /// A client that stops reading a download is cut after the send timeout: its transfer ends
    /// (the metric returns to 0) while the server keeps serving.
    @Test func aClientThatStopsReadingIsCut() async throws {
        let server = try await TestServer.make(["FERRY_SEND_TIMEOUT": "2"])
        let scratch = try TemporaryDirectory("ferry-send-timeout")
        defer { scratch.remove() }
        try await server.live {
            let bytes = TestData.bytes(16 * 1024 * 1024, seed: 6)
            let file = try await server.uploadWithCurl(bytes, name: "big.bin", scratch: scratch)
            let reader = try ExternalTool.stalledReader(
                port: server.port, path: "/v1/files/\(file.id)/content", token: server.adminToken)
            defer { reader.kill() }
            try await Eventually.check(timeout: 30) { reader.outputSoFar.contains("sent") }
            func activeTransfers() async throws -> Double? {
                let metrics = try await ExternalTool.run("curl", ["-sf", "http://127.0.0.1:\(server.port)/metrics"])
                return metrics.stdout.split(separator: "\n").first { $0.hasPrefix("ferry_active_transfers ") }
                    .flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            // When the reader's transfer started and ended, from the audit log: durable, where the
            // gauge at 1 lasts only the 2 s before the cut, which a loaded machine's polls (a curl
            // each) missed once in CI. The times are the server's, so the bounds of the waits only
            // have to outlast a loaded machine (CI starts every suite at once): the assertion is
            // the cut-within-15-s below, and the reader stays stalled (300 s) past every wait.
            func events() async throws -> [APIAuditEvent] {
                let audit = try await ExternalTool.run(
                    "curl",
                    [
                        "-sf", "-H", "Authorization: Bearer \(server.adminToken)",
                        "http://127.0.0.1:\(server.port)/v1/audit?file_id=\(file.id)",
                    ])
                return (try? JSONDecoder().decode(APIAuditList.self, from: Data(audit.stdout.utf8)))?.events ?? []
            }
            func time(of name: String) async throws -> Date? {
                try await events().first { $0.event == name }.flatMap { HTTPDate.parseRFC3339($0.at) }
            }
            let stalled = try await Eventually.value(timeout: 120) { try await time(of: "download.started") }
            let cut = try await Eventually.value(timeout: 120) { try await time(of: "download.failed") }
            try await Eventually.check(timeout: 60) { try await activeTransfers() == 0 }
            let told = try await events().map { "\($0.at) \($0.event) \($0.detail)" }.joined(separator: "; ")
            #expect(cut.timeIntervalSince(stalled) < 15, "\(told)")
            let normal = try await ExternalTool.run("curl", ["-sf", "http://127.0.0.1:\(server.port)/healthz"])
            #expect(normal.status == 0)
        }
    }
}
