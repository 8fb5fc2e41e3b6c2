import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import Testing

/// Real clients on `/t/` links over loopback.
@Suite struct LiveLinkTests {
    static let bytes = TestData.bytes(6 * 1024 * 1024 + 3, seed: 11)

    func issue(_ server: TestServer, _ fileID: String, _ body: String) async throws -> String {
        try await issueWithExpiry(server, fileID, body).url
    }

    func issueWithExpiry(
        _ server: TestServer, _ fileID: String, _ body: String
    ) async throws -> (url: String, expiresAt: Date) {
        let r = try await ExternalTool.run(
            "curl",
            [
                "-sS", "-f", "-H", "Authorization: Bearer \(server.adminToken)", "-H", "Content-Type: application/json",
                "-d", body, "http://127.0.0.1:\(server.port)/v1/files/\(fileID)/links",
            ])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let expiresText = try #require(json["expires_at"] as? String)
        let expiresAt = try #require(HTTPDate.parseRFC3339(expiresText))
        return (try #require(json["url"] as? String), expiresAt)
    }

    func status(_ url: String, agent: String) async throws -> String {
        try await ExternalTool.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-A", agent, url]).stdout
    }

    @Test func singleUseLinkSurvivesAria2cSegmentsThenRefusesOthers() async throws {
        let server = try await TestServer.make()
        let scratch = try TemporaryDirectory("ferry-live-links")
        defer { scratch.remove() }
        try await server.live {
            let file = try await server.uploadWithCurl(Self.bytes, name: "one.bin", scratch: scratch)
            let url = try await issue(server, file.id, #"{"single_use": true}"#)
            let r = try await ExternalTool.run(
                "aria2c",
                ["-q", "-x8", "-s8", "-k1M", "--file-allocation=none", "-d", scratch.path, "-o", "aria.bin", url])
            #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
            #expect(try TestData.sha256(file: scratch.appending("aria.bin")) == file.sha256)
            #expect(try await status(url, agent: "curl/8.0") == "410")
        }
    }

    @Test func curlResumesACutSingleUseDownloadAndWgetContinues() async throws {
        let server = try await TestServer.make()
        let scratch = try TemporaryDirectory("ferry-live-links")
        defer { scratch.remove() }
        try await server.live {
            let file = try await server.uploadWithCurl(Self.bytes, name: "resume.bin", scratch: scratch)
            let url = try await issue(server, file.id, #"{"single_use": true}"#)
            let out = scratch.appending("curl.bin")
            // A cut: curl stops after the first 1 MiB (a range), then resumes with -C -.
            _ = try await ExternalTool.run("curl", ["-s", "-A", "resumer", "-r", "0-1048575", "-o", out, url])
            let resumed = try await ExternalTool.run("curl", ["-sS", "-f", "-A", "resumer", "-C", "-", "-o", out, url])
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(try TestData.sha256(file: out) == file.sha256)

            let open = try await issue(server, file.id, "{}")
            let wgetOut = scratch.appending("wget.bin")
            try Data(Self.bytes[0..<123_456]).write(to: URL(fileURLWithPath: wgetOut))
            let w = try await ExternalTool.run("wget", ["-q", "-c", "-O", wgetOut, open])
            #expect(w.status == 0, "\(w.stderr)")
            #expect(try TestData.sha256(file: wgetOut) == file.sha256)
        }
    }

    @Test func racingRealClientsForOneDownload() async throws {
        let server = try await TestServer.make()
        let scratch = try TemporaryDirectory("ferry-live-links")
        defer { scratch.remove() }
        try await server.live {
            let file = try await server.uploadWithCurl(TestData.bytes(4096), name: "race.bin", scratch: scratch)
            let url = try await issue(server, file.id, #"{"max_downloads": 1}"#)
            let codes = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<20 { group.addTask { try await status(url, agent: "racer-\(i)") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(codes.filter { $0 == "200" }.count == 1, "\(codes)")
            #expect(codes.filter { $0 == "410" }.count == 19, "\(codes)")
        }
    }

    @Test func previewBotIsRefusedAndTheRecipientStillDownloads() async throws {
        let server = try await TestServer.make()
        let scratch = try TemporaryDirectory("ferry-live-links")
        defer { scratch.remove() }
        try await server.live {
            let file = try await server.uploadWithCurl(TestData.bytes(4096), name: "preview.bin", scratch: scratch)
            let url = try await issue(server, file.id, #"{"single_use": true}"#)
            #expect(try await status(url, agent: "facebookexternalhit/1.1") == "403")
            #expect(try await status(url, agent: "Mozilla/5.0 recipient") == "200")
        }
    }

    @Test func downloadStartedBeforeExpiryCompletesAndAFreshManifestLinkFinishesTheJob() async throws {
        let server = try await TestServer.make()
        let scratch = try TemporaryDirectory("ferry-live-links")
        defer { scratch.remove() }
        try await server.live {
            // 12 MiB read at ~1.7 MB/s (more than socket buffers hold): ~7 s, longer than the link
            // lives (5 s, at most 6), so the transfer outlives it and must finish anyway. (curl's
            // --limit-rate does not throttle here.)
            let bytes = TestData.bytes(12 * 1024 * 1024 + 5, seed: 13)
            let file = try await server.uploadWithCurl(bytes, name: "slow.bin", scratch: scratch)
            // The reader starts first and waits for the URL: on a loaded CI machine starting
            // Python took longer than a short link lives, and its first request was rightly refused.
            let out = scratch.appending("slow.bin")
            let urlFile = scratch.appending("url.txt")
            let reader = """
                import os, sys, time, urllib.request
                print("ready", flush=True)
                while not os.path.exists(sys.argv[1]):
                    time.sleep(0.005)
                r = urllib.request.urlopen(open(sys.argv[1]).read().strip())
                with open(sys.argv[2], "wb") as f:
                    while chunk := r.read(262144):
                        f.write(chunk)
                        time.sleep(0.15)
                """
            let running = try ExternalTool.start("python3", ["-c", reader, urlFile, out])
            try await Eventually.check(timeout: 60) { running.outputSoFar.contains("ready") }
            let (url, expiry) = try await issueWithExpiry(server, file.id, #"{"ttl_seconds": 5}"#)
            try Data(url.utf8).write(to: URL(fileURLWithPath: urlFile + ".tmp"))
            guard rename(urlFile + ".tmp", urlFile) == 0 else { throw TestFailure("rename failed: errno \(errno)") }
            let slow = await running.wait(timeout: 120)
            #expect(slow.status == 0, "\(slow.stderr)")
            #expect(Date() > expiry, "the transfer ended before the link expired; the test proves nothing")
            #expect(try TestData.sha256(file: out) == file.sha256)
            // A new request on the expired link is a clean 403 (aria2c fails)...
            let late = try await ExternalTool.run(
                "aria2c", ["-q", "-x4", "--file-allocation=none", "-d", scratch.path, "-o", "late.bin", url])
            #expect(late.status != 0)
            #expect(try await status(url, agent: "curl/8") == "403")
            // ...and the manifest hands out a fresh link that finishes the job.
            let manifest = try await ExternalTool.run(
                "curl",
                [
                    "-sS", "-f", "-H", "Authorization: Bearer \(server.adminToken)",
                    "http://127.0.0.1:\(server.port)/v1/files/\(file.id)/manifest",
                ])
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(manifest.stdout.utf8)) as? [String: Any])
            let fresh = try #require((json["link"] as? [String: Any])?["url"] as? String)
            let again = try await ExternalTool.run(
                "aria2c",
                [
                    "-q", "-x4", "--file-allocation=none", "--allow-overwrite=true", "-d", scratch.path,
                    "-o", "late.bin", fresh,
                ])
            #expect(again.status == 0, "\(again.stdout)")
            #expect(try TestData.sha256(file: scratch.appending("late.bin")) == file.sha256)
        }
    }
}
