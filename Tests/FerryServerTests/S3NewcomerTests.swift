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

/// Issue 19's defects that need the S3-compatible store: exact storage-link lifetimes, names in
/// the store's response overrides, a store down before the first byte, and an endpoint that
/// cannot be used.
@Suite struct S3NewcomerTests {
    /// `X-Amz-Expires` is the TTL asked for, and `expires_at` the signing time plus the TTL.
    @Test(arguments: [60, 300, 3600])
    func storageLinksLiveExactlyTheirTTL(ttl: Int) async throws {
        let (env, bucket) = try await S3ServerTests.s3Environment()
        defer { Task { await bucket.shutdown() } }
        let server = try await TestServer.make(env)
        try await server.test { client in
            let file = try await client.uploadFile(TestData.bytes(100), name: "Q3 report.pdf", token: server.adminToken)
            let response = try await client.json(
                "/v1/files/\(file.id)/links", method: .post, token: server.adminToken,
                body: #"{"ttl_seconds": \#(ttl)}"#)
            let link = try JSONDecoder().decode(APIIssuedLink.self, from: Data(buffer: response.body))
            #expect(link.strategy == "storage")
            let items = try #require(URLComponents(string: link.url)?.queryItems)
            #expect(items.first { $0.name == "X-Amz-Expires" }?.value == String(ttl))
            let signedAt = try #require(items.first { $0.name == "X-Amz-Date" }?.value)
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
            formatter.timeZone = TimeZone(identifier: "UTC")
            let signed = try #require(formatter.date(from: signedAt))
            let expires = try #require(HTTPDate.parseRFC3339(link.expiresAt))
            #expect(expires.timeIntervalSince(signed) == Double(ttl))
            // The name in the store's override is the name, spaces and all. (moto ignores the
            // override when serving, so the URL is what can be checked here.)
            let disposition = try #require(items.first { $0.name == "response-content-disposition" }?.value)
            #expect(ContentDisposition.parse(disposition)?.filename == "Q3 report.pdf")
        }
    }

    /// With the store unreachable, every path that serves bytes answers 503 JSON before any
    /// header of a 200: never a 200 whose body never comes.
    @Test func storeDownBeforeTheFirstByteIs503OnEveryPath() async throws {
        guard let real = ProcessInfo.processInfo.environment["FERRY_TEST_S3_ENDPOINT"] else {
            throw TestFailure("FERRY_TEST_S3_ENDPOINT is not set: run scripts/test")
        }
        let proxy = try await FaultProxy.start(upstream: real)
        let (env, bucket) = try await S3ServerTests.s3Environment(endpoint: proxy.endpoint)
        defer { Task { await bucket.shutdown() } }
        let server = try await TestServer.make(env)
        try await server.test { client in
            let file = try await client.uploadFile(TestData.bytes(2000), token: server.adminToken)
            let issued = try await client.json(
                "/v1/files/\(file.id)/links", method: .post, token: server.adminToken, body: #"{"single_use": true}"#)
            let url = try JSONDecoder().decode(APIIssuedLink.self, from: Data(buffer: issued.body)).url
            let token = String(try #require(url.split(separator: "/t/").last))
            proxy.stop()
            _ = await proxy.process.wait(timeout: 10)
            for (path, auth) in [
                ("/v1/files/\(file.id)/content", true), ("/d/\(file.id)", true), ("/t/\(token)", false),
            ] {
                let response = try await client.get(path, token: auth ? server.adminToken : nil)
                #expect(response.status == .serviceUnavailable, "\(path): \(response.status)")
                #expect(ErrorInfo.code(response) == "unavailable", "\(path)")
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                let ranged = try await client.get(
                    path, token: auth ? server.adminToken : nil, headers: [.range: "bytes=10-"])
                #expect(ranged.status == .serviceUnavailable, "\(path) with a range")
            }
            // The limited link took no download: the store never served it.
            let links = try await client.get("/v1/files/\(file.id)/links", token: server.adminToken)
            #expect(String(buffer: links.body).contains(#""downloads_used":0"#))
        }
    }

    /// A bucket that does not exist is a configuration the administrator must fix: uploads say
    /// so (not "unreachable right now ... Retry in a few seconds", which no retry helps), and
    /// `/readyz` says a check failed (not that the store "did not answer": it answered 404).
    @Test func aMissingBucketIsToldAsConfigurationNotAsAnOutage() async throws {
        let (good, bucket) = try await S3ServerTests.s3Environment()
        defer { Task { await bucket.shutdown() } }
        var env = good
        env["FERRY_STORAGE"] =
            "s3://ferry-no-such-bucket-\(Identifier.make().lowercased().prefix(8).filter(\.isLetter))"
        let server = try await TestServer.make(env)
        try await server.test { client in
            let upload = try await client.upload(TestData.bytes(100), token: server.adminToken)
            #expect(upload.status == .serviceUnavailable)
            #expect(ErrorInfo.code(upload) == "unavailable")
            #expect(String(buffer: upload.body).contains("configuration needs the administrator"))
            #expect(upload.headers[.retryAfter] == "60")
            let ready = try await client.get("/readyz", token: nil)
            #expect(ready.status == .serviceUnavailable)
            #expect(
                String(buffer: ready.body).contains("the storage failed its check"), "\(String(buffer: ready.body))")
        }
    }

    /// An endpoint the store could not use stops the start naming the variable (it once fell back
    /// to AWS with the configured credentials).
    @Test(arguments: [
        "http://user@127.0.0.1:9000", "http://user:secret@127.0.0.1:9000", "http://127.0.0.1:9000/minio",
        "http://127.0.0.1:9000?x=1", "ftp://127.0.0.1", "127.0.0.1:9000",
    ])
    func unusableEndpointsRefuseToStart(endpoint: String) throws {
        for variable in ["FERRY_S3_ENDPOINT", "FERRY_S3_PUBLIC_ENDPOINT"] {
            do {
                _ = try FerryConfiguration(environment: [
                    "FERRY_STORAGE": "s3://my-bucket", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret-1",
                    variable: endpoint,
                ])
                Issue.record("\(variable)=\(endpoint) was accepted")
            } catch let error as FerryConfiguration.Invalid {
                #expect(error.variable == variable)
                #expect(!error.description.contains("secret@"), "the refusal line shows the password")
            }
        }
    }
}
