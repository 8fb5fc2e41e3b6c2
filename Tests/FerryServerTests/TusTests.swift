import Crypto
import FerryAPIModels
import FerryCore
import FerryServer
import FerryStorageS3
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// tus 1.0.0 at `/v1/uploads` (API.md "Resumable uploads"): every status code of the section,
/// uploads in chunks that produce the same file as a one-shot upload, and real tus clients.
@Suite struct TusTests {
    static func metadata(_ pairs: [(String, String)]) -> String {
        pairs.map { "\($0.0) \(Data($0.1.utf8).base64EncodedString())" }.joined(separator: ",")
    }

    static func tus(_ token: String?, _ extra: HTTPFields = [:]) -> HTTPFields {
        var headers: HTTPFields = [HTTPField.Name("Tus-Resumable")!: "1.0.0"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        headers.append(contentsOf: extra)
        return headers
    }

    static let uploadLength = HTTPField.Name("Upload-Length")!
    static let uploadMetadata = HTTPField.Name("Upload-Metadata")!
    static let uploadOffset = HTTPField.Name("Upload-Offset")!
    static let uploadChecksum = HTTPField.Name("Upload-Checksum")!
    static let fileIDHeader = HTTPField.Name("Ferry-File-Id")!

    /// Creates an upload and returns its path.
    static func create(
        _ client: any TestClientProtocol, token: String, length: Int, name: String = "report.pdf",
        extra: [(String, String)] = []
    ) async throws -> String {
        let response = try await client.execute(
            uri: "/v1/uploads", method: .post,
            headers: tus(
                token,
                [uploadLength: String(length), uploadMetadata: metadata([("filename", name)] + extra)]))
        #expect(response.status == .created, "\(String(buffer: response.body))")
        let location = try #require(response.headers[.location])
        return String(location[try #require(location.range(of: "/v1/uploads/"))!.lowerBound...])
    }

    static func patch(
        _ client: any TestClientProtocol, _ path: String, token: String, offset: Int, _ bytes: [UInt8],
        extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        try await client.execute(
            uri: path, method: .patch,
            headers: tus(
                token,
                [uploadOffset: String(offset), .contentType: "application/offset+octet-stream"] + extra),
            body: ByteBuffer(bytes: bytes))
    }

    @Test func chunksMakeTheSameFileAsAOneShotUpload() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let bytes = TestData.bytes(20 * 1024 * 1024 + 5, seed: 40)
            let path = try await Self.create(
                client, token: server.adminToken, length: bytes.count,
                extra: [("sha256", TestData.sha256(bytes)), ("filetype", "application/pdf")])
            var offset = 0
            for size in [3 * 1024 * 1024, 9 * 1024 * 1024, 8 * 1024 * 1024, 5] {
                let response = try await Self.patch(
                    client, path, token: server.adminToken, offset: offset, Array(bytes[offset..<(offset + size)]))
                #expect(response.status == .noContent, "\(String(buffer: response.body))")
                #expect(response.headers[HTTPField.Name("Tus-Resumable")!] == "1.0.0")
                offset += size
                #expect(response.headers[Self.uploadOffset] == String(offset))
            }
            let last = try await client.execute(uri: path, method: .head, headers: Self.tus(server.adminToken))
            let fileID = try #require(last.headers[Self.fileIDHeader])
            #expect(last.headers[Self.uploadOffset] == String(bytes.count))
            let file = try JSONDecoder().decode(
                APIFile.self,
                from: Data(buffer: try await client.get("/v1/files/\(fileID)", token: server.adminToken).body))
            #expect(file.sha256 == TestData.sha256(bytes) && file.size == Int64(bytes.count))
            #expect(file.name == "report.pdf" && file.contentType == "application/pdf")
            // The CRC-32 bundles need is kept at upload, PATCH by PATCH and in one shot alike.
            #expect(try await server.services.catalog.file(id: fileID)?.crc32 == CRC32.of(bytes))
            // The same block hashes as a one-shot upload of the same bytes.
            let oneShot = try await client.uploadFile(bytes, name: "same.pdf", token: server.adminToken)
            #expect(try await server.services.catalog.file(id: oneShot.id)?.crc32 == CRC32.of(bytes))
            let viaTus = try JSONDecoder().decode(
                APIManifest.self,
                from: Data(buffer: try await client.get("/v1/files/\(fileID)/manifest", token: server.adminToken).body))
            let direct = try JSONDecoder().decode(
                APIManifest.self,
                from: Data(
                    buffer: try await client.get("/v1/files/\(oneShot.id)/manifest", token: server.adminToken).body))
            #expect(viaTus.blockSHA256 == direct.blockSHA256 && viaTus.blockSHA256.count == 3)
            let content = try await client.get("/v1/files/\(fileID)/content", token: server.adminToken)
            #expect(Array(content.body.readableBytesView) == bytes)
            // The audit says upload.completed, as for a one-shot upload.
            let events = try await server.auditEvents(AuditFilter(fileID: fileID, limit: 10))
            #expect(events.items.contains { $0.event == "upload.completed" })
        }
    }

    @Test func everyStatusOfTheProtocol() async throws {
        let clock = TestClock()
        let server = try await TestServer.make(
            ["FERRY_MAX_UPLOAD_BYTES": "1000000", "FERRY_ALLOWED_TYPES": "application/pdf,image/*"], now: clock.now)
        try await server.test { client in
            let admin = server.adminToken
            // OPTIONS needs no credentials and says what the server speaks.
            let options = try await client.execute(uri: "/v1/uploads", method: .options, headers: [:])
            #expect(options.status == .noContent)
            #expect(options.headers[HTTPField.Name("Tus-Version")!] == "1.0.0")
            #expect(options.headers[HTTPField.Name("Tus-Max-Size")!] == "1000000")
            #expect(options.headers[HTTPField.Name("Tus-Checksum-Algorithm")!] == "sha1,sha256")
            #expect(options.headers[HTTPField.Name("Tus-Extension")!]?.contains("creation-with-upload") == true)
            // 412 without Tus-Resumable, with Tus-Version.
            let old = try await client.execute(
                uri: "/v1/uploads", method: .post, headers: [.authorization: "Bearer \(admin)"])
            #expect(old.status == .preconditionFailed && old.headers[HTTPField.Name("Tus-Version")!] == "1.0.0")
            // 401 without credentials, still with Tus-Resumable.
            let anonymous = try await client.execute(
                uri: "/v1/uploads", method: .post, headers: Self.tus(nil, [Self.uploadLength: "10"]))
            #expect(anonymous.status == .unauthorized && anonymous.headers[HTTPField.Name("Tus-Resumable")!] == "1.0.0")
            // 413 over the limit, 415 a type not allowed, 400 without a filename.
            func create(_ length: String, _ metadata: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/v1/uploads", method: .post,
                    headers: Self.tus(admin, [Self.uploadLength: length, Self.uploadMetadata: metadata]))
            }
            #expect(try await create("1000001", Self.metadata([("filename", "a.pdf")])).status == .contentTooLarge)
            #expect(try await create("10", Self.metadata([("filename", "a.exe")])).status == .unsupportedMediaType)
            #expect(try await create("10", Self.metadata([("filetype", "application/pdf")])).status == .badRequest)
            // file_id: 404 for a file the caller cannot see, 403 for one it may read but not replace.
            let bob = try await server.user("bob")
            let file = try await client.uploadFile(
                TestData.bytes(10), name: "x.pdf", token: admin, type: "application/pdf")
            #expect(
                try await create("10", Self.metadata([("filename", "a.pdf"), ("file_id", "nosuchfile00")])).status
                    == .notFound)
            _ = try await client.json(
                "/v1/files/\(file.id)/grants", method: .post, token: admin, body: #"{"username":"bob"}"#)
            let notOwner = try await client.execute(
                uri: "/v1/uploads", method: .post,
                headers: Self.tus(
                    bob,
                    [
                        Self.uploadLength: "10",
                        Self.uploadMetadata: Self.metadata([("filename", "a.pdf"), ("file_id", file.id)]),
                    ]))
            #expect(notOwner.status == .forbidden)

            let path = try await Self.create(client, token: admin, length: 100)
            // Only the creator (and admins) see an upload.
            #expect(try await client.execute(uri: path, method: .head, headers: Self.tus(bob)).status == .notFound)
            // 409 for another offset, 415 for another body type, 400 past the length.
            #expect(try await Self.patch(client, path, token: admin, offset: 5, [1]).status == .conflict)
            let wrongType = try await client.execute(
                uri: path, method: .patch,
                headers: Self.tus(admin, [Self.uploadOffset: "0", .contentType: "application/octet-stream"]),
                body: ByteBuffer(bytes: [1]))
            #expect(wrongType.status == .unsupportedMediaType)
            #expect(
                try await Self.patch(client, path, token: admin, offset: 0, TestData.bytes(101)).status == .badRequest)
            // 460 for a chunk that does not match its checksum: nothing of it kept.
            let chunk = TestData.bytes(40, seed: 2)
            let bad = try await Self.patch(
                client, path, token: admin, offset: 0, chunk,
                extra: [Self.uploadChecksum: "sha1 \(Data(Insecure.SHA1.hash(data: [0])).base64EncodedString())"])
            #expect(bad.status.code == 460 && ErrorInfo.code(bad) == "checksum_mismatch")
            #expect(bad.status.reasonPhrase == "Checksum Mismatch")
            let after = try await client.execute(uri: path, method: .head, headers: Self.tus(admin))
            #expect(after.headers[Self.uploadOffset] == "0" && after.headers[.cacheControl] == "no-store")
            let good = try await Self.patch(
                client, path, token: admin, offset: 0, chunk,
                extra: [Self.uploadChecksum: "sha256 \(Data(SHA256.hash(data: chunk)).base64EncodedString())"])
            #expect(good.status == .noContent && good.headers[Self.uploadOffset] == "40")
            #expect(
                try await Self.patch(
                    client, path, token: admin, offset: 40, [1], extra: [Self.uploadChecksum: "md5 AAAA"]
                )
                .status == .badRequest)
            // 423 while another request holds the upload's lease.
            let id = String(path.split(separator: "/").last!)
            _ = try await server.services.catalog.leaseUpload(
                id: id, holder: "someone", now: clock.now(), until: clock.now().addingTimeInterval(60))
            let locked = try await Self.patch(client, path, token: admin, offset: 40, [1])
            #expect(locked.status.code == 423 && ErrorInfo.code(locked) == "upload_locked")
            try await server.services.catalog.releaseUpload(id: id, holder: "someone")
            // DELETE: 204, then 404.
            let deleted = try await client.execute(uri: path, method: .delete, headers: Self.tus(admin))
            #expect(deleted.status == .noContent)
            #expect(try await client.execute(uri: path, method: .head, headers: Self.tus(admin)).status == .notFound)
            // Past Upload-Expires: 404, and the janitor discards what was stored.
            let expiring = try await Self.create(client, token: admin, length: 100)
            #expect(try await Self.patch(client, expiring, token: admin, offset: 0, [1, 2, 3]).status == .noContent)
            clock.advance(by: 7 * 86_400 + 1)
            #expect(
                try await client.execute(uri: expiring, method: .head, headers: Self.tus(admin)).status == .notFound)
            #expect(await server.services.discardExpiredUploads() == 1)
            let staged = (try? FileManager.default.contentsOfDirectory(atPath: server.blobRoot + "/.resumable")) ?? []
            #expect(staged.isEmpty, "\(staged)")
        }
    }

    @Test func aSha256ThatDoesNotMatchStoresNothing() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let bytes = TestData.bytes(1000, seed: 41)
            let path = try await Self.create(
                client, token: server.adminToken, length: 1000, name: "a.bin",
                extra: [("sha256", String(repeating: "0", count: 64))])
            let response = try await Self.patch(client, path, token: server.adminToken, offset: 0, bytes)
            #expect(response.status == .badRequest && ErrorInfo.code(response) == "checksum_mismatch")
            let list = try await client.get("/v1/files", token: server.adminToken)
            #expect(String(buffer: list.body).contains(#""files":[]"#))
            #expect(server.blobFiles().filter { !$0.hasPrefix(".resumable") }.isEmpty, "\(server.blobFiles())")
        }
    }

    @Test func creationWithUploadAndAnEmptyFile() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let bytes = TestData.bytes(500, seed: 42)
            let created = try await client.execute(
                uri: "/v1/uploads", method: .post,
                headers: Self.tus(
                    server.adminToken,
                    [
                        Self.uploadLength: "500", Self.uploadMetadata: Self.metadata([("filename", "first.bin")]),
                        .contentType: "application/offset+octet-stream",
                    ]), body: ByteBuffer(bytes: bytes))
            #expect(created.status == .created && created.headers[Self.uploadOffset] == "500")
            let fileID = try #require(created.headers[Self.fileIDHeader])
            let content = try await client.get("/v1/files/\(fileID)/content", token: server.adminToken)
            #expect(Array(content.body.readableBytesView) == bytes)
            let empty = try await client.execute(
                uri: "/v1/uploads", method: .post,
                headers: Self.tus(
                    server.adminToken,
                    [Self.uploadLength: "0", Self.uploadMetadata: Self.metadata([("filename", "empty.txt")])]))
            #expect(empty.status == .created && empty.headers[Self.fileIDHeader] != nil)
        }
    }

    /// A node that did not write the start of an upload continues it: the block hashes are rebuilt
    /// from the catalog and the current block, the whole SHA-256 from the stored content.
    @Test func anotherNodeContinuesAnUpload() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let bytes = TestData.bytes(10 * 1024 * 1024, seed: 43)
            let path = try await Self.create(client, token: server.adminToken, length: bytes.count, name: "moved.bin")
            let half = 8 * 1024 * 1024 + 1234
            _ = try await Self.patch(client, path, token: server.adminToken, offset: 0, Array(bytes[..<half]))
            await server.services.forgetUploadHashes(String(path.split(separator: "/").last!))
            let rest = try await Self.patch(client, path, token: server.adminToken, offset: half, Array(bytes[half...]))
            let fileID = try #require(rest.headers[Self.fileIDHeader])
            let file = try JSONDecoder().decode(
                APIFile.self,
                from: Data(buffer: try await client.get("/v1/files/\(fileID)", token: server.adminToken).body))
            #expect(file.sha256 == TestData.sha256(bytes))
            #expect(try await server.services.catalog.file(id: fileID)?.crc32 == CRC32.of(bytes))
            let manifest = try JSONDecoder().decode(
                APIManifest.self,
                from: Data(buffer: try await client.get("/v1/files/\(fileID)/manifest", token: server.adminToken).body))
            #expect(
                manifest.blockSHA256 == [
                    TestData.sha256(Array(bytes[..<(8 << 20)])), TestData.sha256(Array(bytes[(8 << 20)...])),
                ])
        }
    }

    /// tuspy, a real tus client, unchanged: a whole upload, one stopped midway and continued by a
    /// second client, and one with the checksum extension.
    @Test func tuspyUploadsAndResumes() async throws {
        let server = try await TestServer.make()
        let work = try TemporaryDirectory("ferry-tuspy")
        defer { work.remove() }
        try await server.live {
            let bytes = TestData.bytes(12 * 1024 * 1024 + 77, seed: 44)
            let source = work.appending("source.bin")
            try Data(bytes).write(to: URL(fileURLWithPath: source))
            let script = """
                import sys
                from tusclient import client
                base, token, path = sys.argv[1], sys.argv[2], sys.argv[3]
                c = client.TusClient(base + "/v1/uploads", headers={"Authorization": "Bearer " + token})
                # Whole, with checksums on every chunk.
                u = c.uploader(path, chunk_size=3 * 1024 * 1024, metadata={"filename": "whole.bin"}, upload_checksum=True)
                u.upload()
                print("whole", u.url)
                # Stopped after two chunks; a second client continues from the server's offset.
                first = c.uploader(path, chunk_size=2 * 1024 * 1024, metadata={"filename": "resumed.bin"})
                first.upload_chunk()
                first.upload_chunk()
                second = c.uploader(path, chunk_size=2 * 1024 * 1024, url=first.url)
                assert second.offset == 4 * 1024 * 1024, second.offset
                second.upload()
                print("resumed", first.url)
                """
            let run = try await ExternalTool.run(
                "python3", ["-c", script, "http://127.0.0.1:\(server.port)", server.adminToken, source], timeout: 120)
            #expect(run.status == 0, "\(run.stdout)\n\(run.stderr.suffix(2000))")
            let files = try await server.services.catalog.files(
                visibleTo: Principal(userID: "", username: "admin", role: .admin, via: .token), now: Date(), limit: 10,
                before: nil)
            #expect(Set(files.items.map(\.name)) == ["whole.bin", "resumed.bin"])
            #expect(files.items.allSatisfy { $0.sha256 == TestData.sha256(bytes) })
        }
    }
}

extension HTTPFields {
    static func + (lhs: HTTPFields, rhs: HTTPFields) -> HTTPFields {
        var out = lhs
        out.append(contentsOf: rhs)
        return out
    }
}

/// tus on S3 (moto): parts of whole blocks, the bytes short of a part kept as a tail object and
/// read back by the next PATCH, a small last chunk (tusd once dropped one), and a continuation by
/// a node that did not write the start.
@Suite struct TusS3Tests {
    @Test func chunksAcrossPartsAndASmallTailMakeTheFile() async throws {
        let (env, bucket) = try await S3ServerTests.s3Environment()
        defer { Task { await bucket.shutdown() } }
        let server = try await TestServer.make(env)
        try await server.test { client in
            let bytes = TestData.bytes(17 * 1024 * 1024 + 3, seed: 45)
            let path = try await TusTests.create(client, token: server.adminToken, length: bytes.count, name: "s3.bin")
            var offset = 0
            for (index, size) in [1024 * 1024, 6 * 1024 * 1024, 9 * 1024 * 1024 + 5, 1024 * 1024 - 5, 3].enumerated() {
                if index == 2 { await server.services.forgetUploadHashes(String(path.split(separator: "/").last!)) }
                let response = try await TusTests.patch(
                    client, path, token: server.adminToken, offset: offset, Array(bytes[offset..<(offset + size)]))
                #expect(response.status == .noContent, "\(String(buffer: response.body))")
                offset += size
            }
            let head = try await client.execute(uri: path, method: .head, headers: TusTests.tus(server.adminToken))
            let fileID = try #require(head.headers[TusTests.fileIDHeader])
            let content = try await client.get("/v1/files/\(fileID)/content", token: server.adminToken)
            #expect(Array(content.body.readableBytesView) == bytes)
            let manifest = try JSONDecoder().decode(
                APIManifest.self,
                from: Data(buffer: try await client.get("/v1/files/\(fileID)/manifest", token: server.adminToken).body))
            #expect(manifest.file.sha256 == TestData.sha256(bytes))
            #expect(
                manifest.blockSHA256
                    == stride(from: 0, to: bytes.count, by: 8 << 20).map {
                        TestData.sha256(Array(bytes[$0..<min(bytes.count, $0 + (8 << 20))]))
                    })
            // Nothing but the file's object is left: no tail objects, no multipart upload.
            #expect(try await bucket.listObjects().count == 1)
            #expect(try await bucket.listMultipartUploads().isEmpty)
        }
    }

    @Test func deletingAnUploadLeavesNothingInTheBucket() async throws {
        let (env, bucket) = try await S3ServerTests.s3Environment()
        defer { Task { await bucket.shutdown() } }
        let server = try await TestServer.make(env)
        try await server.test { client in
            let path = try await TusTests.create(client, token: server.adminToken, length: 20 << 20, name: "gone.bin")
            _ = try await TusTests.patch(client, path, token: server.adminToken, offset: 0, TestData.bytes(9 << 20))
            #expect(try await bucket.listMultipartUploads().count == 1)
            let deleted = try await client.execute(uri: path, method: .delete, headers: TusTests.tus(server.adminToken))
            #expect(deleted.status == .noContent)
            #expect(try await bucket.listObjects().isEmpty)
            #expect(try await bucket.listMultipartUploads().isEmpty)
        }
    }
}
