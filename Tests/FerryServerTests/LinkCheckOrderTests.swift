import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// API.md's order of checks on `/t/`, pairwise: for every two ways a link can fail, a link that
/// fails both answers with the earlier one.
@Suite struct LinkCheckOrderTests {
    /// The checks in API.md's order.
    static let order = [
        "invalid_signature", "link_revoked", "link_expired", "ip_mismatch", "file_gone", "file_changed", "forbidden",
        "link_used",
    ]

    @Test func everyPairOfFailuresAnswersWithTheEarlierCheck() async throws {
        let clock = TestClock()
        let server = try await TestServer.make(now: clock.now)
        try await server.test { client in
            let bob = try await server.user("bob")
            var cases: [(expected: String, pair: (String, String), path: String)] = []
            for i in 0..<Self.order.count {
                for j in (i + 1)..<Self.order.count {
                    let failures = Set([Self.order[i], Self.order[j]])
                    let file = try await client.uploadFile(
                        TestData.bytes(100, seed: UInt64(i * 10 + j)), token: server.adminToken)
                    _ = try await client.json(
                        "/v1/files/\(file.id)/grants", method: .post, token: server.adminToken,
                        body: #"{"username":"bob"}"#)
                    var options: [String] = [
                        failures.contains("link_expired") ? #""ttl_seconds": 10"# : #""ttl_seconds": 1000"#
                    ]
                    if failures.contains("ip_mismatch") { options.append(#""bind_ip": "10.9.9.9""#) }
                    if failures.contains("link_used") { options.append(#""max_downloads": 1"#) }
                    let issued = try await client.json(
                        "/v1/files/\(file.id)/links", method: .post, token: bob,
                        body: "{\(options.joined(separator: ","))}")
                    #expect(issued.status == .created, "\(String(buffer: issued.body))")
                    let json = try JSONSerialization.jsonObject(with: Data(buffer: issued.body)) as? [String: Any]
                    let url = try #require(json?["url"] as? String)
                    let linkID = try #require(json?["id"] as? String)
                    var path = String(url[try #require(url.range(of: "/t/")).lowerBound...])
                    if failures.contains("link_used") {
                        // Another client (here: another address) holds the only download.
                        #expect(
                            try await server.services.catalog.takeDownload(
                                linkID: linkID, clientKey: "192.0.2.7 other-client", max: 1, now: clock.now()))
                    }
                    if failures.contains("link_revoked") {
                        _ = try await client.get("/v1/links/\(linkID)", token: server.adminToken, method: .delete)
                    }
                    if failures.contains("file_changed") {
                        _ = try await client.execute(
                            uri: "/v1/files/\(file.id)/content", method: .put,
                            headers: [.authorization: "Bearer \(server.adminToken)"],
                            body: ByteBuffer(bytes: [1, 2, 3]))
                    }
                    if failures.contains("forbidden") {
                        _ = try await client.get(
                            "/v1/files/\(file.id)/grants/bob", token: server.adminToken, method: .delete)
                    }
                    if failures.contains("file_gone") {
                        _ = try await client.get("/v1/files/\(file.id)", token: server.adminToken, method: .delete)
                    }
                    if failures.contains("invalid_signature") {
                        // Another valid-looking signature: the last character of the MAC changed.
                        let last = path.removeLast()
                        path.append(last == "A" ? "B" : "A")
                    }
                    cases.append((Self.order[i], (Self.order[i], Self.order[j]), path))
                }
            }
            clock.advance(by: 20)
            for check in cases {
                let response = try await client.execute(
                    uri: check.path, method: .get, headers: [.userAgent: "second-client"])
                #expect(
                    ErrorInfo.code(response) == check.expected,
                    "\(check.pair.0) + \(check.pair.1): got \(ErrorInfo.code(response) ?? "\(response.status)")")
            }
            #expect(cases.count == 28)
        }
    }
}
