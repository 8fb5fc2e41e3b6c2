import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// API.md "Bundles": creation with authorization per member, an archive with exact size, strong
/// ETag and real ranges, every member re-checked on every request.
@Suite struct BundleTests {
    static func create(
        _ client: any TestClientProtocol, token: String, ids: [String], name: String = "photos.zip"
    )
        async throws -> TestResponse
    {
        let body = String(decoding: try JSONEncoder().encode(APIBundleRequest(fileIDs: ids, name: name)), as: UTF8.self)
        return try await client.json("/v1/bundles", method: .post, token: token, body: body)
    }

    @Test func anArchiveWithExactSizeRangesAndConditionsThatEveryToolReads() async throws {
        let server = try await TestServer.make()
        let scratch = try TemporaryDirectory("ferry-bundle")
        defer { scratch.remove() }
        try await server.test { client in
            let contents = [
                TestData.bytes(300_000, seed: 1), TestData.bytes(9 * 1024 * 1024 + 3, seed: 2), TestData.bytes(0),
                TestData.bytes(777, seed: 4),
            ]
            let names = ["report.pdf", "data.bin", "empty.txt", "report.pdf"]
            var ids: [String] = []
            for (bytes, name) in zip(contents, names) {
                ids.append(try await client.uploadFile(bytes, name: name, token: server.adminToken).id)
            }
            let created = try await Self.create(client, token: server.adminToken, ids: ids)
            #expect(created.status == .created, "\(String(buffer: created.body))")
            let bundle = try JSONDecoder().decode(APIBundle.self, from: Data(buffer: created.body))
            #expect(bundle.name == "photos.zip" && bundle.files.map(\.id) == ids)
            #expect(bundle.files.map(\.name) == ["report.pdf", "data.bin", "empty.txt", "report (2).pdf"])
            let shown = try await client.get("/v1/bundles/\(bundle.id)", token: server.adminToken)
            #expect(try JSONDecoder().decode(APIBundle.self, from: Data(buffer: shown.body)) == bundle)

            let path = "/v1/bundles/\(bundle.id)/content"
            let full = try await client.get(path, token: server.adminToken)
            #expect(full.status == .ok)
            #expect(full.headers[.contentType] == "application/zip")
            #expect(full.headers[.eTag] == bundle.etag && full.headers[.acceptRanges] == "bytes")
            #expect(full.headers[.contentDisposition]?.contains("photos.zip") == true)
            let whole = Array(full.body.readableBytesView)
            #expect(Int64(whole.count) == bundle.size)
            // Repr-Digest (RFC 9530) of the whole archive, on every 200 and 206.
            let digest = DigestField.value(sha256: Hex.decode(TestData.sha256(whole))!)
            #expect(full.headers[HTTPField.Name("Repr-Digest")!] == digest)
            let head = try await client.get(path, token: server.adminToken, method: .head)
            #expect(head.headers[.contentLength] == String(bundle.size) && head.body.readableBytes == 0)
            let zipPath = scratch.appending("photos.zip")
            try Data(whole).write(to: URL(fileURLWithPath: zipPath))
            try await ZipChecks.check(
                zipPath,
                expected: Dictionary(
                    uniqueKeysWithValues: zip(bundle.files.map(\.name), contents.map { TestData.sha256($0) })))

            var generator = SystemRandomNumberGenerator()
            for _ in 0..<200 {
                let a = Int.random(in: 0..<whole.count, using: &generator)
                let b = Int.random(in: a..<min(whole.count, a + 3_000_000), using: &generator)
                let part = try await client.get(path, token: server.adminToken, headers: [.range: "bytes=\(a)-\(b)"])
                #expect(part.status == .partialContent)
                #expect(part.headers[.contentRange] == "bytes \(a)-\(b)/\(whole.count)")
                #expect(part.headers[HTTPField.Name("Repr-Digest")!] == digest)
                #expect(Array(part.body.readableBytesView) == Array(whole[a...b]), "\(a)-\(b)")
            }
            let two = try await client.get(path, token: server.adminToken, headers: [.range: "bytes=0-9,-10"])
            #expect(
                two.status == .partialContent && two.headers[.contentType]?.hasPrefix("multipart/byteranges") == true)
            let resumed = try await client.get(
                path, token: server.adminToken, headers: [.range: "bytes=100-", .ifRange: bundle.etag])
            #expect(resumed.status == .partialContent && Array(resumed.body.readableBytesView) == Array(whole[100...]))
            let stale = try await client.get(
                path, token: server.adminToken, headers: [.range: "bytes=100-", .ifRange: "\"other\""])
            #expect(stale.status == .ok)
            let cached = try await client.get(path, token: server.adminToken, headers: [.ifNoneMatch: bundle.etag])
            #expect(cached.status == .notModified)
            let outside = try await client.get(
                path, token: server.adminToken, headers: [.range: "bytes=\(whole.count)-"])
            #expect(outside.status == .rangeNotSatisfiable)

            let createdEvents = try await server.auditEvents(AuditFilter(fileID: bundle.id, event: "bundle.created"))
            #expect(createdEvents.items.count == 1)
            let events = try await server.auditEvents(AuditFilter(fileID: bundle.id))
            let completed = try #require(events.items.first { $0.event == "download.completed" })
            #expect(completed.detail["bundle_id"] == .string(bundle.id))
            #expect(completed.detail["files"] == .string(ids.joined(separator: ",")))
        }
    }

    @Test func membersAreAuthorizedAndReCheckedOnEveryRequest() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let ann = try await server.user("ann")
            let mine = try await client.uploadFile(TestData.bytes(1000, seed: 5), name: "mine.bin", token: ann)
            let admins = try await client.uploadFile(
                TestData.bytes(1000, seed: 6), name: "theirs.bin", token: server.adminToken)
            let refused = try await Self.create(client, token: ann, ids: [mine.id, admins.id])
            #expect(refused.status == .notFound && String(buffer: refused.body).contains(admins.id))
            #expect(try await Self.create(client, token: ann, ids: []).status == .badRequest)
            #expect(
                try await Self.create(client, token: ann, ids: Array(repeating: mine.id, count: 1001)).status
                    == .badRequest)
            let other = try await client.uploadFile(TestData.bytes(2000, seed: 7), name: "other.bin", token: ann)
            let created = try await Self.create(client, token: ann, ids: [mine.id, other.id])
            let bundle = try JSONDecoder().decode(APIBundle.self, from: Data(buffer: created.body))
            let path = "/v1/bundles/\(bundle.id)/content"
            let stranger = try await server.user("stranger")
            #expect(try await client.get("/v1/bundles/\(bundle.id)", token: stranger).status == .notFound)
            #expect(try await client.get(path, token: stranger).status == .notFound)
            #expect(try await client.get(path, token: ann).status == .ok)

            // Replaced -> file_changed; deleted -> file_gone.
            let replaced = try await client.execute(
                uri: "/v1/files/\(other.id)/content", method: .put,
                headers: [.authorization: "Bearer \(ann)", .contentType: "application/octet-stream"],
                body: ByteBuffer(bytes: TestData.bytes(10, seed: 8)))
            #expect(replaced.status == .ok, "\(String(buffer: replaced.body))")
            let changed = try await client.get(path, token: ann)
            #expect(changed.status == .gone && ErrorInfo.code(changed) == "file_changed")
            #expect(try await client.get("/v1/files/\(mine.id)", token: ann, method: .delete).status == .noContent)
            let gone = try await client.get(path, token: ann)
            #expect(gone.status == .gone && ErrorInfo.code(gone) == "file_gone")

            #expect(
                try await client.get("/v1/bundles/\(bundle.id)", token: stranger, method: .delete).status == .notFound)
            #expect(try await client.get("/v1/bundles/\(bundle.id)", token: ann, method: .delete).status == .noContent)
            #expect(try await client.get("/v1/bundles/\(bundle.id)", token: ann).status == .notFound)
        }
    }

    /// A version uploaded before Ferry kept CRC-32s gets one at its first bundle, read once, kept.
    @Test func aFileWithoutACRCGetsOneOnceAtItsFirstBundle() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let bytes = TestData.bytes(5000, seed: 9)
            let uploaded = try await client.uploadFile(bytes, name: "old.bin", token: server.adminToken)
            var old = try #require(try await server.services.catalog.file(id: uploaded.id))
            #expect(old.crc32 == CRC32.of(bytes))
            // As if uploaded by an older Ferry: the same row without a CRC.
            _ = try await server.services.catalog.deleteFile(id: old.id)
            old.crc32 = nil
            try await server.services.catalog.insertFile(old)
            let created = try await Self.create(client, token: server.adminToken, ids: [old.id])
            #expect(created.status == .created)
            #expect(try await server.services.catalog.file(id: old.id)?.crc32 == CRC32.of(bytes))
        }
    }

    @Test func bundleLinksHaveEveryOptionOfFileLinks() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let a = try await client.uploadFile(
                TestData.bytes(40_000, seed: 11), name: "a.bin", token: server.adminToken)
            let b = try await client.uploadFile(
                TestData.bytes(50_000, seed: 12), name: "b.bin", token: server.adminToken)
            let created = try await Self.create(client, token: server.adminToken, ids: [a.id, b.id])
            let bundle = try JSONDecoder().decode(APIBundle.self, from: Data(buffer: created.body))
            let whole = Array(
                try await client.get("/v1/bundles/\(bundle.id)/content", token: server.adminToken).body
                    .readableBytesView)
            let r = try await client.json(
                "/v1/bundles/\(bundle.id)/links", method: .post, token: server.adminToken,
                body: #"{"password": "bundle password", "max_downloads": 1, "ttl_seconds": 600}"#)
            #expect(r.status == .created, "\(String(buffer: r.body))")
            let link = try JSONDecoder().decode(APIIssuedLink.self, from: Data(buffer: r.body))
            #expect(link.strategy == "server" && link.etag == bundle.etag && link.maxDownloads == 1)
            let path = String(link.url[link.url.range(of: "/t/")!.lowerBound...])
            let basic = "Basic " + Data(":bundle password".utf8).base64EncodedString()
            #expect(ErrorInfo.code(try await client.execute(uri: path, method: .get)) == "password_required")
            let got = try await client.execute(
                uri: path, method: .get, headers: [.authorization: basic, .userAgent: "first"])
            #expect(got.status == .ok && Array(got.body.readableBytesView) == whole)
            #expect(got.headers[.contentDisposition]?.contains("photos.zip") == true)
            let part = try await client.execute(
                uri: path, method: .get, headers: [.authorization: basic, .userAgent: "first", .range: "bytes=10-99"])
            #expect(part.status == .partialContent && Array(part.body.readableBytesView) == Array(whole[10...99]))
            let second = try await client.execute(
                uri: path, method: .get, headers: [.authorization: basic, .userAgent: "second"])
            #expect(ErrorInfo.code(second) == "link_used")
            let listing = try JSONDecoder().decode(
                APILinkList.self,
                from: Data(
                    buffer: try await client.get("/v1/bundles/\(bundle.id)/links", token: server.adminToken).body))
            #expect(
                listing.links.map(\.id) == [link.id] && listing.links[0].password && listing.links[0].downloadsUsed == 1
            )

            // A member replaced: the link says so; revoked: link_revoked first.
            let open = try JSONDecoder().decode(
                APIIssuedLink.self,
                from: Data(
                    buffer: try await client.json(
                        "/v1/bundles/\(bundle.id)/links", method: .post, token: server.adminToken, body: "{}"
                    ).body))
            let openPath = String(open.url[open.url.range(of: "/t/")!.lowerBound...])
            #expect(try await client.execute(uri: openPath, method: .get).status == .ok)
            _ = try await client.execute(
                uri: "/v1/files/\(b.id)/content", method: .put,
                headers: [.authorization: "Bearer \(server.adminToken)", .contentType: "application/octet-stream"],
                body: ByteBuffer(bytes: TestData.bytes(10, seed: 13)))
            let changed = try await client.execute(uri: openPath, method: .get)
            #expect(changed.status == .gone && ErrorInfo.code(changed) == "file_changed")
            #expect(
                try await client.get("/v1/links/\(open.id)", token: server.adminToken, method: .delete).status
                    == .noContent)
            #expect(ErrorInfo.code(try await client.execute(uri: openPath, method: .get)) == "link_revoked")
            #expect(
                try await client.get("/v1/bundles/\(bundle.id)", token: server.adminToken, method: .delete).status
                    == .noContent)
            let deleted = try await client.execute(
                uri: path, method: .get, headers: [.authorization: basic, .userAgent: "first"])
            #expect(deleted.status == .gone && ErrorInfo.code(deleted) == "file_gone")
            let events = try await server.auditEvents(AuditFilter(fileID: bundle.id, event: "download.completed"))
            #expect(
                events.items.contains {
                    $0.detail["link_id"] == .string(link.id) && $0.detail["bundle_id"] == .string(bundle.id)
                })
        }
    }
}
