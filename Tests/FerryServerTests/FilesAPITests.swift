import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct FilesAPITests {
    @Test func listingPagesWithACursorNewestFirst() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            var ids: [String] = []
            for i in 0..<7 {
                ids.append(
                    try await client.uploadFile(TestData.bytes(10, seed: UInt64(i)), token: server.adminToken).id)
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let uri = "/v1/files?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try JSONDecoder().decode(
                    APIFileList.self, from: Data(buffer: try await client.get(uri, token: server.adminToken).body))
                #expect(page.files.count <= 3)
                seen += page.files.map(\.id)
                cursor = page.nextCursor
                // A file added between pages never shifts the pages already walked.
                if seen.count == 3 { _ = try await client.uploadFile(TestData.bytes(5), token: server.adminToken) }
            } while cursor != nil
            #expect(seen == ids.reversed())
            let bad = try await client.get("/v1/files?cursor=!!", token: server.adminToken)
            #expect(ErrorInfo.code(bad) == "bad_request")
            let badLimit = try await client.get("/v1/files?limit=0", token: server.adminToken)
            #expect(ErrorInfo.code(badLimit) == "bad_request")
        }
    }

    @Test func deleteRemovesRecordAndBytes() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(TestData.bytes(100), token: server.adminToken)
            #expect(server.blobFiles().count == 1)
            #expect(
                try await client.get("/v1/files/\(file.id)", token: server.adminToken, method: .delete).status
                    == .noContent)
            #expect(try await client.get("/v1/files/\(file.id)", token: server.adminToken).status == .notFound)
            #expect(try await client.get("/v1/files/\(file.id)/content", token: server.adminToken).status == .notFound)
            #expect(server.blobFiles().isEmpty)
        }
    }

    @Test func auditRecordsUploadsDownloadsGrantsAndDeletes() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            _ = try await server.user("erin")
            let file = try await client.uploadFile(TestData.bytes(1000), token: server.adminToken)
            _ = try await client.get(
                "/v1/files/\(file.id)/content", token: server.adminToken, headers: [.range: "bytes=0-99"])
            _ = try await client.get(
                "/v1/files/\(file.id)/content", token: server.adminToken, headers: [.range: "bytes=5000-"])
            _ = try await client.json(
                "/v1/files/\(file.id)/grants", method: .post, token: server.adminToken, body: #"{"username":"erin"}"#)
            _ = try await client.get("/v1/files/\(file.id)/grants/erin", token: server.adminToken, method: .delete)
            _ = try await client.get("/v1/files/\(file.id)", token: server.adminToken, method: .delete)

            let r = try await client.get("/v1/audit?file_id=\(file.id)", token: server.adminToken)
            let events = try JSONDecoder().decode(APIAuditList.self, from: Data(buffer: r.body)).events
            #expect(
                events.map(\.event).reversed() == [
                    "upload.completed", "download.started", "download.completed", "download.failed", "grant.added",
                    "grant.revoked", "file.deleted",
                ])
            let completed = try #require(events.first { $0.event == "download.completed" })
            #expect(completed.detail["bytes"] == .int(100))
            #expect(completed.detail["range"] == .string("0-99"))
            #expect(events.first { $0.event == "download.failed" }?.detail["code"] == .string("range_not_satisfiable"))
            #expect(events.allSatisfy { $0.actor == "admin" })
            let filtered = try await client.get("/v1/audit?event=grant.added&limit=1", token: server.adminToken)
            #expect(try JSONDecoder().decode(APIAuditList.self, from: Data(buffer: filtered.body)).events.count == 1)
        }
    }

    /// API.md: `download.*` details hold `bytes` and `range`: a download of the whole says
    /// `"range": null` (the key was missing), a ranged one the range served.
    @Test func aWholeDownloadIsAuditedWithANullRange() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(TestData.bytes(1000), token: server.adminToken)
            _ = try await client.get("/v1/files/\(file.id)/content", token: server.adminToken)
            let r = try await client.get("/v1/audit?file_id=\(file.id)", token: server.adminToken)
            let raw = try #require(try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any])
            let events = try #require(raw["events"] as? [[String: Any]])
            for name in ["download.started", "download.completed"] {
                let detail = try #require(events.first { $0["event"] as? String == name }?["detail"] as? [String: Any])
                #expect(detail["bytes"] as? Int == 1000, "\(name)")
                #expect(detail.keys.contains("range") && detail["range"] is NSNull, "\(name): \(detail)")
            }
        }
    }

    @Test func healthAndReadiness() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let health = try await client.get("/healthz", token: nil)
            let ready = try await client.get("/readyz", token: nil)
            #expect(health.status == .ok)
            #expect(ready.status == .ok)
        }
    }
}
