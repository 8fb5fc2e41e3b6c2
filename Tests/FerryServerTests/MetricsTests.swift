import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct MetricsTests {
    @Test func metricsCountRequestsBytesLinksTakesAndFailuresBehindAToken() async throws {
        let server = try await TestServer.make(["FERRY_METRICS_TOKEN": "metrics-secret-1234"])
        try await server.test { client in
            let file = try await client.uploadFile(TestData.bytes(1000), token: server.adminToken)
            _ = try await client.get("/v1/files/\(file.id)/content", token: server.adminToken)
            let r = try await client.json(
                "/v1/files/\(file.id)/links", method: .post, token: server.adminToken, body: #"{"single_use": true}"#)
            let url =
                try #require(try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any])["url"]
                as! String
            let path = String(url[url.range(of: "/t/")!.lowerBound...])
            _ = try await client.execute(uri: path, method: .get, headers: [.userAgent: "a"])
            _ = try await client.execute(uri: path, method: .get, headers: [.userAgent: "b"])
            _ = try await client.execute(uri: "/t/forged", method: .get)

            #expect(try await client.get("/metrics", token: nil).status == .unauthorized)
            #expect(try await client.get("/metrics", token: "wrong").status == .unauthorized)
            let metrics = try await client.get("/metrics", token: "metrics-secret-1234")
            #expect(metrics.status == .ok)
            let text = String(buffer: metrics.body)
            #expect(
                text.contains(#"ferry_http_requests_total{route="/v1/files/{id}/content",status="200"} 1"#), "\(text)")
            #expect(text.contains("ferry_http_request_duration_seconds_bucket"))
            #expect(text.contains("ferry_bytes_sent_total 2000"))
            #expect(text.contains("ferry_upload_bytes_total 1000"))
            #expect(text.contains(#"ferry_links_issued_total{strategy="server"} 1"#))
            #expect(text.contains("ferry_link_downloads_taken_total 1"))
            #expect(text.contains(#"ferry_download_failures_total{code="link_used"} 1"#))
            #expect(text.contains(#"ferry_download_failures_total{code="invalid_signature"} 1"#))
            #expect(text.contains("ferry_active_transfers 0"))
        }
    }
}
