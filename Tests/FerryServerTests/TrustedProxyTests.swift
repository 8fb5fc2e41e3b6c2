import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import Testing

/// `FERRY_TRUSTED_PROXIES` decides when `X-Forwarded-For` names the client (seen through a link
/// bound to an address, over real loopback connections).
@Suite struct TrustedProxyTests {
    func boundLink(_ server: TestServer, scratch: TemporaryDirectory) async throws -> String {
        let file = try await server.uploadWithCurl(TestData.bytes(1000), name: "bound.bin", scratch: scratch)
        let r = try await ExternalTool.run(
            "curl",
            [
                "-sS", "-f", "-H", "Authorization: Bearer \(server.adminToken)", "-d", #"{"bind_ip": "203.0.113.9"}"#,
                "http://127.0.0.1:\(server.port)/v1/files/\(file.id)/links",
            ])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        return try #require(json["url"] as? String)
    }

    func status(_ url: String, forwardedFor: String?) async throws -> String {
        var args = ["-s", "-o", "/dev/null", "-w", "%{http_code}"]
        if let forwardedFor { args += ["-H", "X-Forwarded-For: \(forwardedFor)"] }
        return try await ExternalTool.run("curl", args + [url]).stdout
    }

    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() async throws {
        let server = try await TestServer.make(["FERRY_TRUSTED_PROXIES": "127.0.0.0/8, 10.0.0.0/8"])
        let scratch = try TemporaryDirectory("ferry-proxy")
        defer { scratch.remove() }
        try await server.live {
            let url = try await boundLink(server, scratch: scratch)
            #expect(try await status(url, forwardedFor: "203.0.113.9") == "200")
            // The nearest hop that is not a trusted proxy is the client; a spoofed first hop is ignored.
            #expect(try await status(url, forwardedFor: "203.0.113.9, 10.1.1.1") == "200")
            #expect(try await status(url, forwardedFor: "203.0.113.9, 198.51.100.7") == "403")
            #expect(try await status(url, forwardedFor: nil) == "403")
        }
    }

    @Test func forwardedForIsIgnoredWithoutTrustedProxies() async throws {
        let server = try await TestServer.make()
        let scratch = try TemporaryDirectory("ferry-proxy")
        defer { scratch.remove() }
        try await server.live {
            let url = try await boundLink(server, scratch: scratch)
            #expect(try await status(url, forwardedFor: "203.0.113.9") == "403")
        }
    }
}
