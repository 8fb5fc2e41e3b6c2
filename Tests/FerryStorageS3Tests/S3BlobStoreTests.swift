import FerryCore
import FerrySigV4
import FerryStorageS3
import FerryTestSupport
import Foundation
import Logging
import NIOCore
import Testing

/// The S3-compatible server `scripts/test` starts (moto, path-style on loopback). Missing is a
/// failure, never a skip.
enum S3TestServer {
    static func endpoint() throws -> S3Endpoint {
        guard let text = ProcessInfo.processInfo.environment["FERRY_TEST_S3_ENDPOINT"],
            let endpoint = S3Endpoint(parsing: text)
        else {
            throw TestServiceMissing(
                message: "FERRY_TEST_S3_ENDPOINT is not set: run scripts/test (it starts an S3-compatible server)")
        }
        return endpoint
    }

    static var credentials: AWSCredentials {
        let env = ProcessInfo.processInfo.environment
        return AWSCredentials(
            accessKeyID: env["FERRY_TEST_S3_ACCESS_KEY"] ?? "ferry-test",
            secretAccessKey: env["FERRY_TEST_S3_SECRET_KEY"] ?? "ferry-test-secret")
    }

    /// A client on a fresh bucket of its own.
    static func client(
        prefix: String = "", partSize: Int = 5 * 1024 * 1024, threshold: Int = 5 * 1024 * 1024,
        endpoint: S3Endpoint? = nil, maxAttempts: Int = 4
    ) async throws -> S3Client {
        let configuration = S3Configuration(
            bucket: "ferry-\(Identifier.make().lowercased().filter { $0.isLetter || $0.isNumber }.prefix(20))",
            prefix: prefix, endpoint: try endpoint ?? self.endpoint(), pathStyle: true, credentials: credentials,
            multipartThreshold: threshold, partSize: partSize, uploadConcurrency: 3, maxAttempts: maxAttempts,
            baseBackoff: .milliseconds(10), maxBackoff: .milliseconds(100))
        let client = S3Client(configuration: configuration, logger: Logger(label: "s3-test"))
        if endpoint == nil {
            do {
                try await client.createBucket()
            } catch {
                // A server that is not there fails the test; the client must still be shut down
                // (AsyncHTTPClient traps in debug builds on a client released running).
                await client.shutdown()
                throw TestServiceMissing(
                    message:
                        "the S3 test server at \(configuration.endpoint) does not answer (\(error)); run scripts/test")
            }
        }
        return client
    }
}

struct TestServiceMissing: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

@Suite struct S3BlobStoreTests {
    /// An unfinished upload's start: S3's date when plausible, else when the node first saw it.
    @Test func unfinishedUploadsAreDatedByTheServerWhenPlausible() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let seen = now.addingTimeInterval(-60)
        let eightDaysAgo = now.addingTimeInterval(-8 * 24 * 3600)
        #expect(S3BlobStore.begun(initiated: eightDaysAgo, firstSeen: seen, now: now) == eightDaysAgo)
        let moto = Date(timeIntervalSince1970: 1_289_422_113)  // 2010-11-10, moto's answer for every upload
        #expect(S3BlobStore.begun(initiated: moto, firstSeen: seen, now: now) == seen)
        #expect(S3BlobStore.begun(initiated: nil, firstSeen: seen, now: now) == seen)
    }

    /// What Ferry's clients are told for S3's answers (the S3 code stays in the server log).
    @Test func s3ErrorsBecomeFerryErrors() {
        func mapped(_ code: String, _ status: Int) -> FerryError {
            S3Error(operation: "PutObject", status: status, code: code, message: "m").ferryError
        }
        #expect(mapped("NoSuchKey", 404).code == .notFound)
        #expect(mapped("InvalidRange", 416).code == .rangeNotSatisfiable)
        #expect(mapped("EntityTooLarge", 400).code == .tooLarge)
        for (code, status) in [("XMinioStorageFull", 507), ("QuotaExceeded", 403), ("InsufficientStorage", 507)] {
            let full = mapped(code, status)
            #expect(full.code == .insufficientStorage && full.message.contains("no room"), "\(code)")
            #expect(!S3Error(operation: "PutObject", status: status, code: code, message: "").isRetryable)
        }
        let down = mapped("InternalError", 500)
        #expect(down.code == .unavailable && down.message.contains("unreachable"))
        // A refusal no retry helps names the configuration (it read "unreachable ... retry in a few seconds").
        for code in ["AccessDenied", "NoSuchBucket", "InvalidAccessKeyId", "SignatureDoesNotMatch"] {
            let refused = mapped(code, 403)
            #expect(refused.code == .unavailable && refused.message.contains("configuration"), "\(code)")
            #expect(!refused.message.contains("unreachable"), "\(code)")
        }
        #expect(S3Error(operation: "GetObject", status: 503, code: "SlowDown", message: "").isRetryable)
    }

    @Test(arguments: BlobStoreContract.names)
    func contract(_ name: String) async throws {
        let client = try await S3TestServer.client(prefix: "contract/")
        let store = S3BlobStore(client: client, logger: Logger(label: "s3-test"))
        do {
            try await BlobStoreContract.checks[name]!(store)
        } catch {
            await store.shutdown()
            throw error
        }
        // Whatever the check did, no multipart upload may be left open.
        #expect(try await client.listMultipartUploads().isEmpty)
        await store.shutdown()
    }

    @Test func largeUploadGoesMultipartAndReadsBackInRanges() async throws {
        let client = try await S3TestServer.client()
        let store = S3BlobStore(client: client, logger: Logger(label: "s3-test"))
        defer { Task { await store.shutdown() } }
        let bytes = TestData.bytes(23 * 1024 * 1024 + 17)
        let key = "\(Identifier.make())/\(Identifier.make())"
        let upload = try await store.beginUpload(key: key, sizeHint: nil)
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + 300_000, bytes.count)
            try await upload.write(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
            if offset > 12 * 1024 * 1024 {
                // Parts are on their way while the client still sends.
                #expect(try await client.listMultipartUploads().count == 1)
            }
        }
        try await upload.commit()
        #expect(try await client.listMultipartUploads().isEmpty)
        #expect(try await client.headObject(key: key)?.size == Int64(bytes.count))
        var whole: [UInt8] = []
        try await store.read(key: key, range: nil) { whole += Array($0.readableBytesView) }
        #expect(TestData.sha256(whole) == TestData.sha256(bytes))
        let ranges: [ClosedRange<Int64>] = [0...0, 5_242_879...5_242_881, 10_000_000...20_000_000]
        for range in ranges {
            var got: [UInt8] = []
            try await store.read(key: key, range: range) { got += Array($0.readableBytesView) }
            #expect(got == Array(bytes[Int(range.lowerBound)...Int(range.upperBound)]))
        }
    }

    @Test func abortedMultipartUploadLeavesNothing() async throws {
        let client = try await S3TestServer.client()
        let store = S3BlobStore(client: client, logger: Logger(label: "s3-test"))
        defer { Task { await store.shutdown() } }
        let key = "\(Identifier.make())/\(Identifier.make())"
        let upload = try await store.beginUpload(key: key, sizeHint: nil)
        for _ in 0..<4 { try await upload.write(ByteBuffer(bytes: TestData.bytes(4 * 1024 * 1024))) }
        #expect(try await client.listMultipartUploads().count == 1)
        await upload.abort()
        #expect(try await client.listMultipartUploads().isEmpty)
        #expect(try await client.listObjects().isEmpty)
        await #expect(throws: FerryError.self) { try await upload.write(ByteBuffer(bytes: [1])) }
    }

    @Test func missingObjectIsNotFoundAndMissingRangeIs416() async throws {
        let client = try await S3TestServer.client()
        let store = S3BlobStore(client: client, logger: Logger(label: "s3-test"))
        defer { Task { await store.shutdown() } }
        do {
            try await store.read(key: "nope/nothing", range: nil) { _ in }
            Issue.record("read of a missing key succeeded")
        } catch let error as FerryError {
            #expect(error.code == .notFound)
        }
        try await client.putObject(key: "a/b", body: ByteBuffer(bytes: TestData.bytes(10)))
        do {
            try await store.read(key: "a/b", range: 100...200) { _ in }
            Issue.record("read past the end succeeded")
        } catch let error as FerryError {
            #expect(error.code == .rangeNotSatisfiable)
        }
        #expect(try await client.headObject(key: "nope/nothing") == nil)
    }

    @Test func storageDownIsUnavailableAfterRetries() async throws {
        let port = try FreePort.pick()
        let client = try await S3TestServer.client(
            endpoint: S3Endpoint(scheme: "http", host: "127.0.0.1", port: port), maxAttempts: 3)
        let store = S3BlobStore(client: client, logger: Logger(label: "s3-test"))
        defer { Task { await store.shutdown() } }
        do {
            try await store.ping()
            Issue.record("ping of a closed port succeeded")
        } catch let error as FerryError {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("storage"))
            let underlying = try #require(error.underlying as? S3Error)
            #expect(underlying.attempts == 3)
            #expect(underlying.status == nil)
        }
        await #expect(throws: FerryError.self) {
            let upload = try await store.beginUpload(key: "a/b", sizeHint: 10)
            try await upload.write(ByteBuffer(bytes: [1, 2, 3]))
            try await upload.commit()
        }
    }

    @Test func presignedLinksWorkWithCurlAndAria2c() async throws {
        let client = try await S3TestServer.client()
        let store = S3BlobStore(client: client, logger: Logger(label: "s3-test"))
        defer { Task { await store.shutdown() } }
        let bytes = TestData.bytes(3 * 1024 * 1024 + 5)
        let key = "\(Identifier.make())/\(Identifier.make())"
        let upload = try await store.beginUpload(key: key, sizeHint: Int64(bytes.count))
        try await upload.write(ByteBuffer(bytes: bytes))
        try await upload.commit()
        let now = Date()
        let signed = try #require(
            try await store.signedURL(
                for: key,
                request: SignedURLRequest(
                    expiresAt: now.addingTimeInterval(120), now: now, contentType: "application/pdf",
                    contentDisposition:
                        "attachment; filename=\"r\u{E9}sum\u{E9}.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf")
            ))
        #expect(signed.strategy == "storage")
        #expect(signed.url.contains("X-Amz-Expires=120&"))
        #expect(!signed.url.contains(S3TestServer.credentials.secretAccessKey))

        let directory = try TemporaryDirectory("ferry-s3-links")
        defer { directory.remove() }
        let curlOut = directory.path + "/curl.bin"
        let curl = try await ExternalTool.run(
            "curl", ["-fsS", "-D", directory.path + "/h.txt", "-o", curlOut, signed.url])
        #expect(curl.status == 0, "\(curl.stderr)")
        #expect(TestData.sha256(try Array(Data(contentsOf: URL(fileURLWithPath: curlOut)))) == TestData.sha256(bytes))
        // moto ignores response-* overrides (S3 honours them); the signed URL must carry them.
        let query = try #require(URLComponents(string: signed.url)?.queryItems)
        #expect(query.first { $0.name == "response-content-type" }?.value == "application/pdf")
        #expect(query.first { $0.name == "response-content-disposition" }?.value?.contains("UTF-8''r%C3%A9sum") == true)

        let aria = try await ExternalTool.run(
            "aria2c",
            ["-x4", "-s4", "-k1M", "--allow-overwrite=true", "-d", directory.path, "-o", "aria.bin", signed.url])
        #expect(aria.status == 0, "\(aria.stdout)\(aria.stderr)")
        let ariaBytes = try Array(Data(contentsOf: URL(fileURLWithPath: directory.path + "/aria.bin")))
        #expect(TestData.sha256(ariaBytes) == TestData.sha256(bytes))
    }

    /// Proxied reads run ahead of their consumer by at most the window, and a consumer that gives
    /// up gets its own error back and leaves the client usable (no connection left paused).
    @Test func readAheadIsBoundedAndAConsumerThatGivesUpReleasesTheConnection() async throws {
        let client = try await S3TestServer.client()
        let bytes = TestData.bytes(8 * 1024 * 1024 + 17)
        try await client.putObject(key: "ahead/x", body: ByteBuffer(bytes: bytes))
        let window = 256 * 1024
        var got: [UInt8] = []
        var batches = 0
        var largest = 0
        try await client.getObjectBatches(key: "ahead/x", readAhead: window) { chunks in
            let size = chunks.reduce(0) { $0 + $1.readableBytes }
            batches += 1
            largest = max(largest, size)
            for chunk in chunks { got += Array(chunk.readableBytesView) }
            try await Task.sleep(for: .milliseconds(2))  // a slow client: the connection reads ahead meanwhile
        }
        #expect(got == bytes)
        #expect(batches > 1)
        // The window, plus at most the one network chunk (64 KiB) that crossed it.
        #expect(largest <= window + 64 * 1024, "\(largest)")

        struct GaveUp: Error {}
        for _ in 0..<20 {
            await #expect(throws: GaveUp.self) {
                try await client.getObjectBatches(key: "ahead/x", readAhead: window) { _ in
                    try await Task.sleep(for: .milliseconds(20))  // the window fills and the connection pauses
                    throw GaveUp()
                }
            }
        }
        var again: [UInt8] = []
        try await client.getObject(key: "ahead/x", range: 5...14) { again += Array($0.readableBytesView) }
        #expect(again == Array(bytes[5...14]))
        await client.shutdown()
    }

    /// A client that stops reading for longer than the S3 read timeout (the connection waits,
    /// paused by the window), more times than `maxAttempts`, still gets every byte of the same
    /// object, in order: progress between pauses resets the count of failed attempts.
    @Test func aConsumerPausedPastTheReadTimeoutStillGetsTheWholeObject() async throws {
        let setup = try await S3TestServer.client()
        let bytes = TestData.bytes(6 * 1024 * 1024 + 3)
        try await setup.putObject(key: "pause/x", body: ByteBuffer(bytes: bytes))
        var configuration = setup.configuration
        configuration.readTimeout = .milliseconds(500)
        await setup.shutdown()
        let client = S3Client(configuration: configuration, logger: Logger(label: "s3-test"))
        #expect(configuration.maxAttempts == 4)
        var got: [UInt8] = []
        var pauses = 0
        do {
            try await client.getObjectBatches(key: "pause/x", readAhead: 256 * 1024) { chunks in
                for chunk in chunks { got += Array(chunk.readableBytesView) }
                // Five pauses of 1.2 s, one per MiB, each past the 0.5 s read timeout.
                if pauses < 5 && got.count > (pauses + 1) * 1024 * 1024 {
                    pauses += 1
                    try await Task.sleep(for: .milliseconds(1200))
                }
            }
        } catch {
            await client.shutdown()
            throw error
        }
        #expect(pauses == 5)
        #expect(got.count == bytes.count)
        #expect(got == bytes)
        await client.shutdown()
    }

    @Test func keysWithAwkwardCharactersRoundTrip() async throws {
        let client = try await S3TestServer.client(prefix: "with space+plus/")
        for key in ["a b/c+d", "x~y/%41", "\u{65E5}\u{672C}/\u{E9}"] {
            try await client.putObject(key: key, body: ByteBuffer(string: key))
            var got = ""
            try await client.getObject(key: key) { got += String(buffer: $0) }
            #expect(got == key)
        }
        #expect(Set(try await client.listObjects().map(\.key)) == ["a b/c+d", "x~y/%41", "\u{65E5}\u{672C}/\u{E9}"])
        await client.shutdown()
    }

    @Test func bucketNames() {
        #expect(S3Configuration.isValidBucketName("my-bucket.v2"))
        for bad in ["ab", "My-Bucket", "-bucket", "bucket-", "a..b", "bucket_name", String(repeating: "a", count: 64)] {
            #expect(!S3Configuration.isValidBucketName(bad), "\(bad)")
        }
        #expect(S3Endpoint(parsing: "http://127.0.0.1:9000")?.authority == "127.0.0.1:9000")
        #expect(S3Endpoint(parsing: "https://s3.example.com:443/")?.authority == "s3.example.com")
        #expect(S3Endpoint(parsing: "ftp://x") == nil)
        #expect(S3Endpoint(parsing: "http://x/path") == nil)
    }
}
