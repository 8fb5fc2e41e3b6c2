import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import Testing

/// The web app in a real Chromium (Tests/browser/web_test.py drives it with Selenium). Chromium,
/// chromedriver and Selenium come from `scripts/services/browser`; missing is a failure.
@Suite(.serialized) struct WebAppTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("browser/web_test.py").path

    /// Runs one scenario against a live server; the scenario's own checks decide, its output explains.
    static func scenario(
        _ name: String, environment: [String: String] = [:],
        prepare: @Sendable (TestServer, TemporaryDirectory) async throws -> [String] = { _, _ in [] }
    ) async throws {
        let env = ProcessInfo.processInfo.environment
        guard env["FERRY_TEST_CHROMIUM"] != nil, env["FERRY_TEST_CHROMEDRIVER"] != nil else {
            throw TestFailure("FERRY_TEST_CHROMIUM is not set: run scripts/test (it installs Chromium)")
        }
        let server = try await TestServer.make(environment.merging(TestServer.adminPassword) { $1 })
        let work = try TemporaryDirectory("ferry-web")
        defer { work.remove() }
        try await server.live {
            let extra = try await prepare(server, work)
            let run = try ExternalTool.start(
                "python3",
                [
                    script, name, "--base=http://127.0.0.1:\(server.port)", "--token=\(server.adminToken)",
                    "--password=admin-password-1", "--work=\(work.path)",
                ] + extra)
            let result = await run.wait(timeout: 300)
            #expect(result.status == 0, "\(name):\n\(result.stdout)\n\(result.stderr.suffix(3000))")
            #expect(result.stdout.contains("PASS"))
        }
    }

    /// A large file uploaded with curl; returns the scenario's `--file ID NAME SHA256` arguments.
    static func largeFile(
        _ server: TestServer, _ work: TemporaryDirectory, name: String, mebibytes: Int = 64
    ) async throws -> [String] {
        let bytes = TestData.bytes(mebibytes * 1024 * 1024, seed: 21)
        let file = try await server.uploadWithCurl(bytes, name: name, scratch: work)
        return ["--file", file.id, name, TestData.sha256(bytes)]
    }

    @Test func signInWithWrongThenRightPassword() async throws {
        try await Self.scenario("login")
    }

    /// Issue 19: `/` and every other page without a session go to `/login?next=` and come back.
    @Test func everyPageWithoutASessionGoesToSignInAndBack() async throws {
        try await Self.scenario("front_door")
    }

    @Test func uploadThroughThePageAndDownloadASmallFileWithTheAnchor() async throws {
        try await Self.scenario("upload_and_small_download")
    }

    /// Issue 21: a throttled upload, the page reloaded midway, the same file picked again.
    @Test func uploadInterruptedByAReloadContinuesWhenTheFileIsPickedAgain() async throws {
        try await Self.scenario("upload_reload")
    }

    /// Issue 22: a password link made on the page; a recipient's browser gets the password page,
    /// a wrong then the right password, the download, and a ranged resume without asking again.
    @Test func aPasswordLinkInTheBrowserAsksOnceAndResumesWithoutAsking() async throws {
        try await Self.scenario("password_link") { server, work in
            try await Self.largeFile(server, work, name: "secret.bin", mebibytes: 24)
        }
    }

    /// Issue 22: files ticked in the list downloaded as one zip through the manager (paused and
    /// resumed), and shared as a zip link from the bundle page.
    @Test func pickedFilesDownloadAsAZipThroughTheManagerAndShareAsALink() async throws {
        try await Self.scenario("zip") { server, work in
            let big = try await Self.largeFile(server, work, name: "big-zip.bin", mebibytes: 48)
            let small = TestData.bytes(300_000, seed: 33)
            let file = try await server.uploadWithCurl(small, name: "small-zip.txt", scratch: work)
            return big + ["--second", file.id, "small-zip.txt", TestData.sha256(small)]
        }
    }

    @Test func managerCompletesThroughExpiringLinks() async throws {
        try await Self.scenario("manager_expiry", environment: ["FERRY_LINK_TTL": "2"]) { server, work in
            try await Self.largeFile(server, work, name: "big-expiry.bin")
        }
    }

    @Test func pausePastExpiryThenResume() async throws {
        try await Self.scenario("pause_resume", environment: ["FERRY_LINK_TTL": "2"]) { server, work in
            try await Self.largeFile(server, work, name: "big-pause.bin")
        }
    }

    @Test func reloadMidDownloadResumes() async throws {
        try await Self.scenario("reload", environment: ["FERRY_LINK_TTL": "2"]) { server, work in
            try await Self.largeFile(server, work, name: "big-reload.bin")
        }
    }

    @Test func grantRevokedMidDownloadStopsWithTheReason() async throws {
        try await Self.scenario("revoked") { server, work in
            // 16 parts of 8 MiB over 4 connections: when the first four land (25 %), the next four
            // are on their way and eight are not requested yet, so the revocation always stops
            // requests to come (with 64 MiB, all the rest could already be in flight).
            let file = try await Self.largeFile(server, work, name: "big-shared.bin", mebibytes: 128)
            let auth = "Authorization: Bearer \(server.adminToken)"
            let base = "http://127.0.0.1:\(server.port)"
            let user = try await ExternalTool.run(
                "curl",
                [
                    "-sf", "-H", auth, "-H", "Content-Type: application/json", "-d",
                    #"{"username":"bob","role":"member","password":"bob-password-1"}"#, "\(base)/v1/users",
                ])
            #expect(user.status == 0)
            let grant = try await ExternalTool.run(
                "curl",
                [
                    "-sf", "-H", auth, "-H", "Content-Type: application/json", "-d", #"{"username":"bob"}"#,
                    "\(base)/v1/files/\(file[1])/grants",
                ])
            #expect(grant.status == 0)
            return file
        }
    }

    @Test func screenshotsOfEveryPageAtDesktopAndPhoneWidth() async throws {
        try await Self.scenario("screenshots") { server, work in
            let file = try await server.uploadWithCurl(TestData.bytes(1000), name: "shown.bin", scratch: work)
            return ["--file", file.id, "shown.bin", "-"]
        }
    }

    @Test func embeddedAssetsMatchTheWebFolder() throws {
        // scripts/embed-web must have been run after the last change under Web/.
        let web = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Web")
        let generated = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(
                "Sources/FerryServer/Controllers/WebAssets+Generated.swift")
        let text = try String(contentsOf: generated, encoding: .utf8)
        let files = FileManager.default.enumerator(atPath: web.path)?.compactMap { $0 as? String } ?? []
        for name in files where name.hasSuffix(".js") || name.hasSuffix(".css") || name.hasSuffix(".html") {
            let data = try Data(contentsOf: web.appendingPathComponent(name))
            #expect(text.contains(data.base64EncodedString()), "\(name) changed: run scripts/embed-web")
        }
    }
}
