import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct UploadTests {
    @Test func uploadReturnsFileWithDigestAndIsListed() async throws {
        let server = try await TestServer.make()
        let bytes = TestData.bytes(300_000)
        try await server.test { client in
            let file = try await client.uploadFile(bytes, name: "Q3 report \"final\"; ü.pdf", token: server.adminToken)
            #expect(file.size == 300_000)
            #expect(file.sha256 == TestData.sha256(bytes))
            #expect(file.name == "Q3 report \"final\"; ü.pdf")
            #expect(file.version == 1)
            #expect(file.etag.hasPrefix("\"") && file.etag.hasSuffix("\""))
            let list = try await client.get("/v1/files", token: server.adminToken)
            #expect(String(buffer: list.body).contains(file.id))
        }
    }

    @Test func contentDigestMismatchStoresNothing() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let wrong = Data(repeating: 7, count: 32).base64EncodedString()
            let response = try await client.upload(
                TestData.bytes(5000), token: server.adminToken,
                extra: [HTTPField.Name("Content-Digest")!: "sha-256=:\(wrong):"])
            #expect(response.status == .badRequest)
            #expect(ErrorInfo.code(response) == "checksum_mismatch")
            let list = try await client.get("/v1/files", token: server.adminToken)
            #expect(String(buffer: list.body).contains("\"files\":[]"))
            #expect(server.blobFiles().isEmpty)
        }
    }

    @Test func matchingDigestsAreAccepted() async throws {
        let server = try await TestServer.make()
        let bytes = TestData.bytes(70_000)
        try await server.test { client in
            let hex = TestData.sha256(bytes)
            let b64 = Data(Hex.decode(hex)!).base64EncodedString()
            let a = try await client.upload(
                bytes, token: server.adminToken, extra: [HTTPField.Name("X-Ferry-SHA256")!: hex])
            #expect(a.status == .created)
            let b = try await client.upload(
                bytes, token: server.adminToken,
                extra: [HTTPField.Name("Content-Digest")!: "sha-512=:AAAA:, sha-256=:\(b64):"])
            #expect(b.status == .created)
            let bad = try await client.upload(
                bytes, token: server.adminToken, extra: [HTTPField.Name("X-Ferry-SHA256")!: "xyz"])
            #expect(bad.status == .badRequest)
            #expect(ErrorInfo.code(bad) == "bad_request")
        }
    }

    @Test func uploadOverLimitIsRefusedAndLeavesNothing() async throws {
        let server = try await TestServer.make(["FERRY_MAX_UPLOAD_BYTES": "1000"])
        try await server.test { client in
            let response = try await client.upload(TestData.bytes(1001), token: server.adminToken)
            #expect(response.status == .contentTooLarge)
            #expect(ErrorInfo.code(response) == "too_large")
            let exact = try await client.upload(TestData.bytes(1000), token: server.adminToken)
            #expect(exact.status == .created)
            #expect(server.blobFiles().count == 1)
        }
    }

    @Test func disallowedTypeIsRefused() async throws {
        let server = try await TestServer.make(["FERRY_ALLOWED_TYPES": "image/*,application/pdf"])
        try await server.test { client in
            let html = try await client.upload(TestData.bytes(10), token: server.adminToken, type: "text/html")
            #expect(html.status == .unsupportedMediaType)
            #expect(ErrorInfo.code(html) == "type_not_allowed")
            let png = try await client.upload(TestData.bytes(10), token: server.adminToken, type: "image/png")
            #expect(png.status == .created)
            let pdf = try await client.upload(
                TestData.bytes(10), token: server.adminToken, type: "application/pdf; x=1")
            #expect(pdf.status == .created)
            #expect(server.blobFiles().count == 2)
        }
    }

    @Test(arguments: ["a\u{0}b", "line\r\nbreak", "tab\there", "del\u{7F}", ""])
    func namesWithControlCharactersAreRefused(name: String) async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let response = try await client.upload(TestData.bytes(10), name: name, token: server.adminToken)
            #expect(response.status == .badRequest)
            #expect(ErrorInfo.code(response) == "bad_request")
            #expect(server.blobFiles().isEmpty)
        }
    }

    @Test func replaceMakesNewVersionAndRemovesOldBytes() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let first = try await client.uploadFile(TestData.bytes(1000, seed: 1), token: server.adminToken)
            let second = TestData.bytes(2000, seed: 2)
            let response = try await client.execute(
                uri: "/v1/files/\(first.id)/content", method: .put,
                headers: [.authorization: "Bearer \(server.adminToken)", .contentType: "text/plain"],
                body: ByteBuffer(bytes: second))
            #expect(response.status == .ok)
            let updated = try JSONDecoder().decode(APIFile.self, from: Data(buffer: response.body))
            #expect(updated.version == 2)
            #expect(updated.etag != first.etag)
            #expect(updated.sha256 == TestData.sha256(second))
            #expect(updated.contentType == "text/plain")
            #expect(server.blobFiles().count == 1)
            let content = try await client.get("/v1/files/\(first.id)/content", token: server.adminToken)
            #expect(Array(content.body.readableBytesView) == second)
        }
    }

    @Test func blockHashesAreStoredPerEightMebibytes() async throws {
        let server = try await TestServer.make()
        let bytes = TestData.bytes(8 * 1024 * 1024 + 5)
        try await server.test { client in
            let file = try await client.uploadFile(bytes, token: server.adminToken)
            let record = try #require(try await server.services.catalog.file(id: file.id))
            #expect(
                record.blockSHA256 == [TestData.sha256(bytes[0..<8_388_608]), TestData.sha256(bytes[8_388_608...])])
        }
    }
}
