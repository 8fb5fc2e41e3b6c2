import FerryAPIModels
import FerryCore
import FerryServer
import FerrySigV4
import FerryStorageS3
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// Ferry on S3-compatible storage (the server `scripts/test` starts): uploads, proxied ranges,
/// storage links, the broker's redirect, and what happens when storage is down.
@Suite struct S3ServerTests {
    /// The environment for a Ferry on a fresh bucket, and a client on that bucket.
    static func s3Environment(endpoint: String? = nil) async throws -> ([String: String], S3Client) {
        let env = ProcessInfo.processInfo.environment
        guard let real = env["FERRY_TEST_S3_ENDPOINT"] else {
            throw TestFailure("FERRY_TEST_S3_ENDPOINT is not set: run scripts/test (it starts an S3-compatible server)")
        }
        let bucket = "ferry-\(Identifier.make().lowercased().filter { $0.isLetter || $0.isNumber }.prefix(20))"
        let access = env["FERRY_TEST_S3_ACCESS_KEY"] ?? "ferry-test"
        let secret = env["FERRY_TEST_S3_SECRET_KEY"] ?? "ferry-test-secret"
        let client = S3Client(
            configuration: S3Configuration(
                bucket: bucket, prefix: "blobs/", endpoint: S3Endpoint(parsing: real), pathStyle: true,
                credentials: AWSCredentials(accessKeyID: access, secretAccessKey: secret)),
            logger: Logger(label: "s3-test"))
        do {
            try await client.createBucket()
        } catch {
            await client.shutdown()  // AsyncHTTPClient traps in debug builds on a client released running
            throw TestFailure("the S3 test server at \(real) does not answer (\(error)); run scripts/test")
        }
        return (
            [
                "FERRY_STORAGE": "s3://\(bucket)/blobs", "FERRY_S3_ENDPOINT": endpoint ?? real,
                "FERRY_S3_PATH_STYLE": "true", "AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret,
            ], client
        )
    }

    /// The janitor's reconciliation on S3: objects of Ferry's key shape that no file points at go,
    /// and multipart uploads nobody finished are aborted, once older than the grace (by S3's own
    /// dates); the files' objects and objects of any other shape stay.
    @Test func objectsWithoutAFileAndAbandonedMultipartUploadsAreCleared() async throws {
        let (env, bucket) = try await Self.s3Environment()
        defer { Task { await bucket.shutdown() } }
        let server = try await TestServer.make(env)
        try await server.test { client in
            let file = try await client.uploadFile(TestData.bytes(1000), token: server.adminToken)
            let fileKey = try #require(try await server.services.catalog.file(id: file.id)).blobKey
            let orphan = "\(Identifier.make())/\(Identifier.make())"
            try await bucket.putObject(key: orphan, body: ByteBuffer(bytes: [1, 2, 3]))
            try await bucket.putObject(key: "README", body: ByteBuffer(bytes: [1]))
            _ = try await bucket.createMultipartUpload(key: "\(Identifier.make())/\(Identifier.make())")
            _ = try await bucket.createMultipartUpload(key: "other/upload")

            // All of it is younger than a day (a week for uploads): nothing goes.
            let early = await server.services.sweepOrphans()
            #expect(early.blobs == 0 && early.uploads == 0)
            #expect(try await bucket.listObjects().count == 3)

            // A grace ending a minute from now (moto dates objects by its clock, which is ours).
            let swept = await server.services.sweepOrphans(grace: -60, uploadGrace: -60)
            #expect(swept.blobs == 1 && swept.uploads == 1)
            #expect(Set(try await bucket.listObjects().map(\.key)) == [fileKey, "README"])
            #expect(try await bucket.listMultipartUploads().map(\.key) == ["other/upload"])
            let content = try await client.get("/v1/files/\(file.id)/content", token: server.adminToken)
            #expect(content.status == .ok && content.body.readableBytes == 1000)
        }
    }

    @Test func uploadsGoToTheBucketAndProxiedRangesAreExact() async throws {
        let (env, bucket) = try await Self.s3Environment()
        defer { Task { await bucket.shutdown() } }
        let server = try await TestServer.make(env)
        let bytes = TestData.bytes(21 * 1024 * 1024 + 3)
        try await server.test { client in
            let file = try await client.uploadFile(bytes, name: "big.bin", token: server.adminToken)
            #expect(file.sha256 == TestData.sha256(bytes))
            let objects = try await bucket.listObjects()
            #expect(objects.count == 1)
            #expect(objects.first?.size == Int64(bytes.count))
            #expect(objects.first?.key.hasPrefix(file.id + "/") == true)
            #expect(try await bucket.listMultipartUploads().isEmpty)

            let range = try await client.get(
                "/v1/files/\(file.id)/content", token: server.adminToken, headers: [.range: "bytes=10000000-10000099"])
            #expect(range.status == .partialContent)
            #expect(Array(range.body.readableBytesView) == Array(bytes[10_000_000...10_000_099]))
            let suffix = try await client.get(
                "/v1/files/\(file.id)/content", token: server.adminToken, headers: [.range: "bytes=-5"])
            #expect(Array(suffix.body.readableBytesView) == Array(bytes[(bytes.count - 5)...]))
            let whole = try await client.get("/v1/files/\(file.id)/content", token: server.adminToken)
            #expect(TestData.sha256(whole.body.readableBytesView) == TestData.sha256(bytes))

            #expect(
                try await client.get("/v1/files/\(file.id)", token: server.adminToken, method: .delete).status
                    == .noContent)
            #expect(try await bucket.listObjects().isEmpty)
        }
    }

    @Test func brokerRedirectsLargeFilesToStorageAndServesSmallOnes() async throws {
        let (env, bucket) = try await Self.s3Environment()
        defer { Task { await bucket.shutdown() } }
        let server = try await TestServer.make(env)
        let large = TestData.bytes(6 * 1024 * 1024)
        let small = TestData.bytes(1000)
        let scratch = try TemporaryDirectory("ferry-s3-broker")
        defer { scratch.remove() }
        try await server.test { client in
            let big = try await client.uploadFile(large, name: "big file.bin", token: server.adminToken)
            let little = try await client.uploadFile(small, name: "small.bin", token: server.adminToken)

            let redirect = try await client.get("/d/\(big.id)", token: server.adminToken)
            #expect(redirect.status == .temporaryRedirect)
            #expect(redirect.headers[.cacheControl] == "no-store")
            let location = try #require(redirect.headers[.location])
            #expect(location.hasPrefix(env["FERRY_S3_ENDPOINT"]! + "/"))
            #expect(location.contains("X-Amz-Signature="))
            let out = scratch.appending("big.bin")
            let curl = try await ExternalTool.run("curl", ["-fsS", "-o", out, location])
            #expect(curl.status == 0, "\(curl.stderr)")
            #expect(try TestData.sha256(file: out) == TestData.sha256(large))

            let served = try await client.get("/d/\(little.id)", token: server.adminToken)
            #expect(served.status == .ok)
            #expect(Array(served.body.readableBytesView) == small)

            let events = try await server.auditEvents(AuditFilter(event: "link.issued", limit: 10))
            #expect(events.items.contains { $0.detail["strategy"] == .string("storage") })
        }
    }

    @Test func storageLinksAreIssuedAndCannotBeRevoked() async throws {
        let (env, bucket) = try await Self.s3Environment()
        defer { Task { await bucket.shutdown() } }
        let server = try await TestServer.make(env)
        let bytes = TestData.bytes(2 * 1024 * 1024 + 1)
        let scratch = try TemporaryDirectory("ferry-s3-links")
        defer { scratch.remove() }
        try await server.test { client in
            let file = try await client.uploadFile(bytes, name: "r.bin", token: server.adminToken)
            let issued = try await client.json(
                "/v1/files/\(file.id)/links", method: .post, token: server.adminToken, body: #"{"ttl_seconds": 60}"#)
            #expect(issued.status == .created)
            let link = try JSONDecoder().decode(APIIssuedLink.self, from: Data(buffer: issued.body))
            #expect(link.strategy == "storage")
            // The storage URL lapses exactly when the link says it expires.
            let query = try #require(URLComponents(string: link.url)?.queryItems)
            let signedAt = try #require(query.first { $0.name == "X-Amz-Date" }?.value)
            let seconds = try #require(query.first { $0.name == "X-Amz-Expires" }?.value.flatMap { Int($0) })
            let format = DateFormatter()
            format.locale = Locale(identifier: "en_US_POSIX")
            format.timeZone = TimeZone(identifier: "UTC")
            format.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
            let start = try #require(format.date(from: signedAt))
            let expiresAt = try #require(HTTPDate.parseRFC3339(link.expiresAt))
            #expect(start.addingTimeInterval(TimeInterval(seconds)) == expiresAt)
            #expect((60...61).contains(seconds))
            let aria = try await ExternalTool.run(
                "aria2c", ["-x4", "-s4", "-k1M", "-d", scratch.path, "-o", "a.bin", link.url])
            #expect(aria.status == 0, "\(aria.stdout)")
            #expect(try TestData.sha256(file: scratch.appending("a.bin")) == TestData.sha256(bytes))

            let revoke = try await client.get("/v1/links/\(link.id)", token: server.adminToken, method: .delete)
            #expect(revoke.status == .conflict)
            #expect(ErrorInfo.code(revoke) == "not_revocable")

            // A limited link has to be counted by Ferry, so it is a server link even on S3.
            let limited = try await client.json(
                "/v1/files/\(file.id)/links", method: .post, token: server.adminToken, body: #"{"single_use": true}"#)
            #expect(try JSONDecoder().decode(APIIssuedLink.self, from: Data(buffer: limited.body)).strategy == "server")
        }
    }

    @Test func storageDownIs503AndLeavesNoRecord() async throws {
        let port = try FreePort.pick()
        let (env, bucket) = try await Self.s3Environment(endpoint: "http://127.0.0.1:\(port)")
        defer { Task { await bucket.shutdown() } }
        let server = try await TestServer.make(env)
        try await server.test { client in
            let response = try await client.upload(TestData.bytes(100_000), token: server.adminToken)
            #expect(response.status == .serviceUnavailable)
            #expect(ErrorInfo.code(response) == "unavailable")
            #expect(response.headers[.retryAfter] != nil)
            let list = try await client.get("/v1/files", token: server.adminToken)
            #expect(String(buffer: list.body).contains(#""files":[]"#))
            #expect(try await client.get("/readyz", token: nil).status == .serviceUnavailable)
            #expect(try await bucket.listObjects().isEmpty)
        }
    }

    @Test func startingWithoutCredentialsFailsWithOneLine() async throws {
        do {
            _ = try FerryConfiguration(environment: ["FERRY_STORAGE": "s3://my-bucket"])
            Issue.record("configuration without credentials was accepted")
        } catch let error as FerryConfiguration.Invalid {
            #expect(error.variable == "AWS_ACCESS_KEY_ID")
            #expect(!error.description.contains("\n"))
        }
        let settings = try FerryConfiguration(environment: [
            "FERRY_STORAGE": "s3://my-bucket/p", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value",
        ])
        #expect(!"\(settings.storage)".contains("s3cr3t-value"))
        #expect(throws: FerryConfiguration.Invalid.self) {
            try FerryConfiguration(environment: [
                "FERRY_STORAGE": "s3://my-bucket", "AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "B",
                "FERRY_S3_ENDPOINT": "ftp://nope",
            ])
        }
    }
}

/// CloudFront delivery: links and broker redirects become CDN URLs signed with the configured key.
@Suite struct CloudFrontServerTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FerrySigV4Tests/Fixtures")

    static func keyFile(mode: Int, in directory: TemporaryDirectory) throws -> String {
        let path = directory.appending("cf-key.pem")
        try FileManager.default.copyItem(
            atPath: fixtures.appendingPathComponent("cloudfront-test-key.pem").path, toPath: path)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    @Test func linksAndBrokerRedirectsAreCloudFrontURLs() async throws {
        let (s3, bucket) = try await S3ServerTests.s3Environment()
        defer { Task { await bucket.shutdown() } }
        let keys = try TemporaryDirectory("ferry-cf")
        defer { keys.remove() }
        var env = s3
        env["FERRY_CLOUDFRONT_DOMAIN"] = "d111111abcdef8.cloudfront.net"
        env["FERRY_CLOUDFRONT_KEY_PAIR_ID"] = "K2JCJMDEHXQW5F"
        env["FERRY_CLOUDFRONT_PRIVATE_KEY_FILE"] = try Self.keyFile(mode: 0o600, in: keys)
        let server = try await TestServer.make(env)
        try await server.test { client in
            let file = try await client.uploadFile(
                TestData.bytes(6 * 1024 * 1024), name: "v.bin", token: server.adminToken)
            let issued = try await client.json(
                "/v1/files/\(file.id)/links", method: .post, token: server.adminToken, body: #"{"ttl_seconds": 120}"#)
            let link = try JSONDecoder().decode(APIIssuedLink.self, from: Data(buffer: issued.body))
            #expect(link.strategy == "cdn")
            #expect(link.url.hasPrefix("https://d111111abcdef8.cloudfront.net/blobs/\(file.id)/"))
            #expect(link.url.contains("&Expires=") && link.url.hasSuffix("&Key-Pair-Id=K2JCJMDEHXQW5F"))

            let bound = try await client.json(
                "/v1/files/\(file.id)/links", method: .post, token: server.adminToken,
                body: #"{"bind_ip": "203.0.113.9"}"#)
            let boundLink = try JSONDecoder().decode(APIIssuedLink.self, from: Data(buffer: bound.body))
            #expect(boundLink.strategy == "cdn")
            #expect(boundLink.url.contains("&Policy="))

            let tooLong = try await client.json(
                "/v1/files/\(file.id)/links", method: .post, token: server.adminToken,
                body: #"{"ttl_seconds": 700000}"#)
            #expect(tooLong.status == .badRequest)

            let redirect = try await client.get("/d/\(file.id)", token: server.adminToken)
            #expect(redirect.status == .temporaryRedirect)
            #expect(redirect.headers[.location]?.hasPrefix("https://d111111abcdef8.cloudfront.net/") == true)
        }
    }

    @Test func aKeyFileOthersCanReadIsRefused() async throws {
        let keys = try TemporaryDirectory("ferry-cf")
        defer { keys.remove() }
        let (s3, bucket) = try await S3ServerTests.s3Environment()
        defer { Task { await bucket.shutdown() } }
        var env = s3
        env["FERRY_CLOUDFRONT_DOMAIN"] = "d1.cloudfront.net"
        env["FERRY_CLOUDFRONT_KEY_PAIR_ID"] = "K1"
        env["FERRY_CLOUDFRONT_PRIVATE_KEY_FILE"] = try Self.keyFile(mode: 0o644, in: keys)
        do {
            _ = try await TestServer.make(env)
            Issue.record("a world-readable key was accepted")
        } catch let error as FerryConfiguration.Invalid {
            #expect(error.variable == "FERRY_CLOUDFRONT_PRIVATE_KEY_FILE")
            #expect(error.problem.contains("chmod 600"))
        }
        env.removeValue(forKey: "FERRY_CLOUDFRONT_KEY_PAIR_ID")
        #expect(throws: FerryConfiguration.Invalid.self) { try FerryConfiguration(environment: env) }
    }
}
