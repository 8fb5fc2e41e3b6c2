import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// A password link through every client API.md names, against `ferry serve`: curl `-u :pw`,
/// wget after its 401 challenge, `aria2c -x8 --http-passwd`, and `ferry link`/`ferry get` as
/// CLI.md says. The server's count of slow hashes stays at one per client, not one per request.
@Suite struct PasswordLinkClientTests {
    @Test func everyClientDownloadsAPasswordLinkAndTheSlowHashRunsOncePerClient() async throws {
        let metricsToken = "metrics-" + Identifier.secret()
        let setup = try await ClientCommandTests.Setup.start(serverEnvironment: ["FERRY_METRICS_TOKEN": metricsToken])
        defer { setup.stop() }
        let env = ["FERRY_URL": setup.base, "FERRY_TOKEN": setup.token]
        let bytes = TestData.bytes(24 * 1024 * 1024 + 17, seed: 21)
        let expected = TestData.sha256(bytes)
        let source = setup.home.appending("data.bin")
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        let put = try await setup.ferry(["put", source, "--json"], env: env)
        let id = try #require(ClientCommandTests.lastJSON(put.stdout)["id"] as? String, "\(put.stderr)")

        let password = "swordfish and chips"
        let passwordFile = setup.home.appending("pw")
        try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: passwordFile))
        let both = try await setup.ferry(["link", id, "--password", "--password-file", passwordFile], env: env)
        #expect(both.status == 2)
        let noTerminal = try await setup.ferry(["link", id, "--password"], env: env)
        #expect(noTerminal.status != 0 && noTerminal.stderr.contains("--password-file"), "\(noTerminal.stderr)")
        let issued = try await setup.ferry(["link", id, "--password-file", passwordFile, "--ttl", "600"], env: env)
        #expect(issued.status == 0, "\(issued.stderr)")
        let url = issued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(url.contains("/t/"))

        // ferry get: none -> exit 4 password_required; wrong -> exit 4 wrong_password; nothing left.
        let none = setup.home.appending("none.bin")
        let refused = try await setup.ferry(["get", url, "-o", none], env: env)
        #expect(refused.status == 4 && refused.stderr.contains("password"), "\(refused.stderr)")
        let wrongOut = setup.home.appending("wrong.bin")
        let wrong = try await setup.ferry(
            ["get", url, "-o", wrongOut], env: env.merging(["FERRY_LINK_PASSWORD": "not it"]) { $1 })
        #expect(wrong.status == 4 && wrong.stderr.contains("wrong"), "\(wrong.stderr)")
        for path in [none, wrongOut, none + ".ferry-part", wrongOut + ".ferry-part"] {
            #expect(!FileManager.default.fileExists(atPath: path), "\(path)")
        }

        let viaFile = setup.home.appending("file.bin")
        let got = try await setup.ferry(
            [
                "get", url, "-o", viaFile, "--password-file", passwordFile, "--connections", "8", "--part-size",
                "1048576",
            ],
            env: env)
        #expect(got.status == 0, "\(got.stderr)")
        #expect(try TestData.sha256(file: viaFile) == expected)
        // A password file written on Windows (CRLF), or a pipe (`--password-file <(pass show x)`),
        // is the same password.
        let viaPipe = setup.home.appending("pipe.bin")
        let piped = try await ExternalTool.start(
            path: "/bin/bash",
            [
                "-c", #"exec "$0" get "$1" -o "$2" --password-file <(printf '%s\r\n' "$3")"#, ServeCommandTests.binary,
                url, viaPipe, password,
            ], environment: setup.environment.merging(env) { $1 }, directory: setup.home.path
        ).wait(timeout: 120)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(try TestData.sha256(file: viaPipe) == expected)
        let viaEnv = setup.home.appending("env.bin")
        let gotEnv = try await setup.ferry(
            ["get", url, "-o", viaEnv], env: env.merging(["FERRY_LINK_PASSWORD": password]) { $1 })
        #expect(gotEnv.status == 0, "\(gotEnv.stderr)")
        #expect(try TestData.sha256(file: viaEnv) == expected)

        let curlOut = setup.home.appending("curl.bin")
        let curl = try await ExternalTool.run("curl", ["-sSf", "-u", ":\(password)", "-o", curlOut, url])
        #expect(curl.status == 0, "\(curl.stderr)")
        #expect(try TestData.sha256(file: curlOut) == expected)
        let wgetOut = setup.home.appending("wget.bin")
        let wget = try await ExternalTool.run("wget", ["-q", "--user=x", "--password=\(password)", "-O", wgetOut, url])
        #expect(wget.status == 0, "\(wget.stderr)")
        #expect(try TestData.sha256(file: wgetOut) == expected)
        let aria = try await ExternalTool.run(
            "aria2c",
            [
                "-q", "-x8", "-s8", "-k1M", "--http-user=x", "--http-passwd=\(password)", "--allow-overwrite=true",
                "--auto-file-renaming=false", "-d", setup.home.path, "-o", "aria.bin", url,
            ], timeout: 120)
        #expect(aria.status == 0, "\(aria.stdout)\(aria.stderr)")
        #expect(try TestData.sha256(file: setup.home.appending("aria.bin")) == expected)

        let metrics = try await ExternalTool.run(
            "curl", ["-sSf", "-H", "Authorization: Bearer \(metricsToken)", "\(setup.base)/metrics"])
        let line = metrics.stdout.split(separator: "\n").first { $0.hasPrefix("ferry_link_password_hashes_total ") }
        let hashes = Int(line?.split(separator: " ").last ?? "") ?? -1
        let requests = metrics.stdout.split(separator: "\n")
            .filter { $0.hasPrefix(#"ferry_http_requests_total{route="/t/{token}""#) }
            .compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
        // Seven clients (two refused), dozens of requests: at most one slow hash per client.
        #expect(hashes >= 1 && hashes <= 7, "\(line ?? "no metric")")
        #expect(requests > 20, "\(requests) requests")
    }
}
