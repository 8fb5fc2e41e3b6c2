import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// The first start of `ferry serve` on a fresh data dir, as a newcomer meets it (issue 19): the
/// printed sign-in link opens the web app signed in and asks for a password; `ferry passwd`
/// sets one through the API.
@Suite(.serialized) struct FirstStartTests {
    static let browserScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("browser/web_test.py").path

    /// Starts `ferry serve` in a fresh data dir and returns it with the token and link it printed.
    static func firstStart(
        _ directory: TemporaryDirectory
    ) async throws -> (
        ExternalTool.Running, base: String, token: String, link: String
    ) {
        let port = try FreePort.pick()
        var env = ServeCommandTests.baseEnvironment
        env["FERRY_LISTEN"] = "127.0.0.1:\(port)"
        let server = try ExternalTool.start(
            path: ServeCommandTests.binary, ["serve"], environment: env, directory: directory.path)
        try await Eventually.check(timeout: 60) { server.outputSoFar.contains("ferry passwd admin") }
        let lines = server.outputSoFar.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let token = try #require(lines.firstIndex { $0.hasPrefix("Created the administrator") }.map { lines[$0 + 1] })
        let link = try #require(lines.first { $0.hasPrefix("http://") && $0.contains("/login#code=") })
        #expect(link.hasPrefix("http://127.0.0.1:\(port)/login#code="))
        return (server, "http://127.0.0.1:\(port)", token, link)
    }

    @Test func thePrintedSignInLinkOpensTheAppAndAsksForAPassword() async throws {
        let env = ProcessInfo.processInfo.environment
        guard env["FERRY_TEST_CHROMIUM"] != nil, env["FERRY_TEST_CHROMEDRIVER"] != nil else {
            throw TestFailure("FERRY_TEST_CHROMIUM is not set: run scripts/test (it installs Chromium)")
        }
        let directory = try TemporaryDirectory("ferry-first-start")
        defer { directory.remove() }
        let (server, base, token, link) = try await Self.firstStart(directory)
        defer { server.kill() }
        let run = try ExternalTool.start(
            "python3",
            [
                Self.browserScript, "sign_in_link", "--base=\(base)", "--token=\(token)",
                "--password=chosen-password-1", "--work=\(directory.appending("browser"))", "--link=\(link)",
            ])
        let result = await run.wait(timeout: 180)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr.suffix(3000))")
        #expect(result.stdout.contains("PASS"))
    }

    @Test func passwdSetsAPasswordThroughTheAPI() async throws {
        let directory = try TemporaryDirectory("ferry-first-start")
        defer { directory.remove() }
        let (server, base, token, _) = try await Self.firstStart(directory)
        defer { server.kill() }
        let file = directory.appending("password")
        try "a brand new password\n".write(toFile: file, atomically: true, encoding: .utf8)
        var env = ServeCommandTests.baseEnvironment
        env["FERRY_URL"] = base
        env["FERRY_TOKEN"] = token
        let passwd = await
            (try ExternalTool.start(
                path: ServeCommandTests.binary, ["passwd", "admin", "--password-file", file], environment: env)).wait(
                timeout: 60)
        #expect(passwd.status == 0, "\(passwd.stderr)")
        #expect(passwd.stdout.contains("Password set for admin"))
        let signIn = try await ExternalTool.run(
            "curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: application/json", "-d",
                #"{"username":"admin","password":"a brand new password"}"#, "\(base)/v1/session",
            ])
        #expect(signIn.stdout == "204")
        // Too short: refused with the API's message, exit 1, nothing changed.
        try "short\n".write(toFile: file, atomically: true, encoding: .utf8)
        let short = await
            (try ExternalTool.start(
                path: ServeCommandTests.binary, ["passwd", "--password-file", file], environment: env)).wait(
                timeout: 60)
        #expect(short.status != 0)
        #expect(short.stderr.contains("8 to 1024 characters"), "\(short.stderr)")
    }
}
