import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Runs the real server with info logging through a session of work and greps everything it
/// printed for every secret used: tokens, the password, the signing key, link tokens, cookies.
@Suite struct SecretsInLogsTests {
    @Test func noSecretEverReachesTheServerLog() async throws {
        let directory = try TemporaryDirectory("ferry-secrets")
        defer { directory.remove() }
        let port = try FreePort.pick()
        let base = "http://127.0.0.1:\(port)"
        let token = Identifier.secret()
        let password = "correct horse battery staple"
        let keyB64 = Data(TestData.bytes(32, seed: 3)).base64EncodedString()
        var env = ServeCommandTests.baseEnvironment
        env["FERRY_DATA_DIR"] = directory.appending("data")
        env["FERRY_LISTEN"] = "127.0.0.1:\(port)"
        env["FERRY_BOOTSTRAP_TOKEN"] = token
        env["FERRY_BOOTSTRAP_PASSWORD"] = password
        env["FERRY_SIGNING_KEYS"] = "k1:\(keyB64)"
        let server = try ExternalTool.start(
            path: ServeCommandTests.binary, ["serve", "--log-level", "trace"], environment: env)
        defer { server.kill() }
        try await Eventually.check(timeout: 30) {
            try await ExternalTool.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "\(base)/healthz"])
                .stdout == "200"
        }
        func curl(_ args: [String]) async throws -> String {
            try await ExternalTool.run("curl", ["-s"] + args).stdout
        }
        let payload = directory.appending("payload")
        try Data(TestData.bytes(100_000)).write(to: URL(fileURLWithPath: payload))
        let file = try await curl([
            "-H", "Authorization: Bearer \(token)", "--data-binary", "@\(payload)", "\(base)/v1/files?name=x.bin",
        ])
        let fileID =
            try #require(try JSONSerialization.jsonObject(with: Data(file.utf8)) as? [String: Any])["id"] as! String
        let linkJSON = try await curl([
            "-H", "Authorization: Bearer \(token)", "-d", "{}", "\(base)/v1/files/\(fileID)/links",
        ])
        let url =
            try #require(try JSONSerialization.jsonObject(with: Data(linkJSON.utf8)) as? [String: Any])["url"]
            as! String
        let linkToken = String(url.split(separator: "/").last!)
        _ = try await curl(["-o", "/dev/null", url])
        _ = try await curl(["-o", "/dev/null", url + "x"])
        let cookies = directory.appending("cookies")
        _ = try await curl([
            "-c", cookies, "-H", "Content-Type: application/json", "-d",
            #"{"username":"admin","password":"\#(password)"}"#, "\(base)/v1/session",
        ])
        _ = try await curl(["-d", #"{"username":"admin","password":"wrong \#(password)"}"#, "\(base)/v1/session"])
        let session = try String(contentsOfFile: cookies, encoding: .utf8).split(separator: "\t").last.map {
            String($0).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let newToken = try await curl(["-H", "Authorization: Bearer \(token)", "-d", "{}", "\(base)/v1/tokens"])
        let secondToken =
            try #require(try JSONSerialization.jsonObject(with: Data(newToken.utf8)) as? [String: Any])["token"]
            as! String
        _ = try await curl(["-H", "Authorization: Bearer wrong-\(token)", "\(base)/v1/files"])
        let audit = try await curl(["-H", "Authorization: Bearer \(token)", "\(base)/v1/audit?limit=1000"])
        #expect(audit.contains("link.issued") && audit.contains("download.failed"))
        server.signal(SIGTERM)
        let result = await server.wait(timeout: 20)
        let everything = result.stdout + result.stderr
        #expect(everything.contains("request"), "the server logged nothing at trace level?")
        // Not a terminal: every log line is one JSON object; request lines carry the route pattern.
        let lines = result.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] != nil, "not a JSON log line: \(line)")
        }
        #expect(lines.contains { $0.contains(#""route":"/t/{token}""#) && $0.contains(#""code":"invalid_signature""#) })
        let linkID =
            try #require(try JSONSerialization.jsonObject(with: Data(linkJSON.utf8)) as? [String: Any])["id"] as! String
        #expect(lines.contains { $0.contains(#""route":"/t/{token}""#) && $0.contains(#""link_id":"\#(linkID)""#) })
        for secret in [token, password, keyB64, linkToken, secondToken, session ?? token] {
            #expect(!everything.contains(secret), "a secret appeared in the server log")
            #expect(!audit.contains(secret), "a secret appeared in the audit log")
        }
    }
}
