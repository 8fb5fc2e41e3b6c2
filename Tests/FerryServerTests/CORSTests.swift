import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct CORSTests {
    @Test func listedOriginGetsPreflightAndExposedHeadersOthersGetNothing() async throws {
        let server = try await TestServer.make(["FERRY_CORS_ORIGINS": "https://app.example.com"])
        try await server.test { client in
            let file = try await client.uploadFile(TestData.bytes(100), token: server.adminToken)
            let preflight = try await client.execute(
                uri: "/v1/files/\(file.id)/content", method: .options,
                headers: [
                    .origin: "https://app.example.com", .accessControlRequestMethod: "GET",
                    .accessControlRequestHeaders: "authorization, range",
                ])
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == "https://app.example.com")
            #expect(preflight.headers[.accessControlAllowHeaders]?.contains("Range") == true)
            #expect(preflight.headers[.accessControlAllowCredentials] == nil)
            let get = try await client.get(
                "/v1/files/\(file.id)/content", token: server.adminToken,
                headers: [.origin: "https://app.example.com", .range: "bytes=0-9"])
            #expect(get.headers[.accessControlAllowOrigin] == "https://app.example.com")
            #expect(get.headers[.accessControlExposeHeaders]?.contains("Content-Range") == true)
            #expect(get.headers[.accessControlExposeHeaders]?.contains("Repr-Digest") == true)
            #expect(get.headers[.vary]?.contains("Origin") == true)
            let error = try await client.get(
                "/v1/files/nope", token: nil, headers: [.origin: "https://app.example.com"])
            #expect(error.headers[.accessControlAllowOrigin] == "https://app.example.com")
            let foreign = try await client.get(
                "/v1/files/\(file.id)/content", token: server.adminToken, headers: [.origin: "https://evil.example"])
            #expect(foreign.headers[.accessControlAllowOrigin] == nil)
            #expect(foreign.headers[.accessControlExposeHeaders] == nil)
        }
    }
}
