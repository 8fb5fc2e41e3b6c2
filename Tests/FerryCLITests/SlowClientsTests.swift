import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Slow and vanishing clients against a real `ferry serve` (issue 24, item 5; RELIABILITY.md has
/// the long form's figures): while connections trickle heads and sit idle, normal downloads keep
/// a p99 under a second; uploads cut mid-body leave nothing, and the server's descriptors return
/// to where they started.
@Suite struct SlowClientsTests {
    @Test func slowlorisIdleAndVanishingClients() async throws {
        let home = try TemporaryDirectory("ferry-slow-clients")
        defer { home.remove() }
        let port = try FreePort.pick()
        let token = Identifier.secret()
        let env = ["FERRY_LISTEN": "127.0.0.1:\(port)", "FERRY_BOOTSTRAP_TOKEN": token]
        let server = try await DoctorTests.serve(env, port: port, directory: home.path)
        defer { server.kill() }
        try Data(TestData.bytes(4096, seed: 90)).write(to: URL(fileURLWithPath: home.appending("f.bin")))
        let put = try await ClusterTests.curl([
            "-H", "Authorization: Bearer \(token)", "--data-binary", "@\(home.appending("f.bin"))",
            "http://127.0.0.1:\(port)/v1/files?name=f.bin",
        ])
        let id = try #require(ClusterTests.json(put.body)["id"] as? String, "\(put.body)")
        let script = DoctorTests.repository.appendingPathComponent("scripts/chaos/slow-clients.py").path
        let run = try await ExternalTool.run(
            "python3",
            [
                script, "--url", "http://127.0.0.1:\(port)", "--token", token, "--file-id", id, "--pid",
                "\(server.pid)",
                "--slow", "200", "--idle", "200", "--requests", "1500", "--vanish", "400",
            ], timeout: 240)
        #expect(run.status == 0, "\(run.stderr)")
        let result = ClusterTests.json(run.stdout)
        let number = { (key: String) in (result[key] as? NSNumber)?.doubleValue ?? -1 }
        #expect(number("errors") == 0, "\(run.stdout)")
        #expect(number("requests") == 1500)
        #expect(number("p99") >= 0 && number("p99") < 1.0, "p99 \(number("p99")) s with 400 slow clients")
        #expect(number("fds_with_slow_clients") >= number("fds_before") + 350, "the slow clients were connected")
        #expect(number("fds_after") <= number("fds_before") + 4, "descriptors leaked: \(run.stdout)")
        #expect(number("rss_kib_after") - number("rss_kib_before") < 128 * 1024, "RSS grew: \(run.stdout)")
        // The cut uploads left nothing: one file in the listing, one blob directory.
        let listing = try await ClusterTests.curl([
            "-H", "Authorization: Bearer \(token)", "http://127.0.0.1:\(port)/v1/files",
        ])
        #expect(!listing.body.contains("vanished.bin"), "\(listing.body)")
        // (A cut upload is cleaned up when the server reads the cut; on a busy machine that
        // may come after the script ended.)
        let blobsDirectory = home.appending("ferry-data/blobs")
        try await Eventually.check(timeout: 60) {
            try FileManager.default.contentsOfDirectory(atPath: blobsDirectory).count == 1
        }
        let blobs = try FileManager.default.contentsOfDirectory(atPath: blobsDirectory)
        #expect(blobs.count == 1, "\(blobs)")
    }
}
