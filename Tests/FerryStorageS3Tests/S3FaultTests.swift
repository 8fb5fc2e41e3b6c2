import FerryCore
import FerrySigV4
import FerryStorageS3
import FerryTestSupport
import Foundation
import Logging
import NIOCore
import Testing

/// Faults a real S3 server cannot produce on demand (503 SlowDown, a body cut half-way), injected
/// by `fault_proxy.py` in front of the real test server.
@Suite struct S3FaultTests {
    /// The proxy in front of the test server, and a client whose bucket exists and who talks through it.
    struct Proxied {
        let proxy: FaultProxy
        let client: S3Client
        var port: Int { proxy.port }

        static func start(maxAttempts: Int = 4, readTimeout: Duration = .seconds(30)) async throws -> Proxied {
            let direct = try await S3TestServer.client()
            let proxy = try await FaultProxy.start(upstream: direct.configuration.endpoint.description)
            var configuration = direct.configuration
            configuration.endpoint = S3Endpoint(scheme: "http", host: "127.0.0.1", port: proxy.port)
            configuration.publicEndpoint = configuration.endpoint
            configuration.maxAttempts = maxAttempts
            configuration.readTimeout = readTimeout
            await direct.shutdown()
            let client = S3Client(configuration: configuration, logger: Logger(label: "s3-fault-test"))
            return Proxied(proxy: proxy, client: client)
        }

        func state() async throws -> [String: Int] { try await proxy.state() }

        func set(_ json: String) async throws { try await proxy.set(json) }

        func stop() async {
            await client.shutdown()
            proxy.stop()
        }
    }

    @Test func slowDownIsRetriedWithBackoffThenSucceeds() async throws {
        let proxied = try await Proxied.start()
        defer { Task { await proxied.stop() } }
        let bytes = TestData.bytes(100_000)
        try await proxied.set(#"{"fail_next": 3}"#)
        try await proxied.client.putObject(key: "a/b", body: ByteBuffer(bytes: bytes))
        #expect(try await proxied.state()["failed"] == 3)
        try await proxied.set(#"{"fail_next": 2}"#)
        var got: [UInt8] = []
        try await proxied.client.getObject(key: "a/b") { got += Array($0.readableBytesView) }
        #expect(got == bytes)
        #expect(try await proxied.state()["failed"] == 5)
    }

    @Test func persistentSlowDownBecomesUnavailableWithTheS3Code() async throws {
        let proxied = try await Proxied.start(maxAttempts: 3)
        defer { Task { await proxied.stop() } }
        let store = S3BlobStore(client: proxied.client, logger: Logger(label: "s3-fault-test"))
        try await proxied.set(#"{"fail_next": 100}"#)
        do {
            try await store.ping()
            Issue.record("ping succeeded through 503s")
        } catch let error as FerryError {
            #expect(error.code == .unavailable)
            let s3 = try #require(error.underlying as? S3Error)
            #expect(s3.code == "SlowDown")
            #expect(s3.status == 503)
            #expect(s3.attempts == 3)
        }
        #expect(try await proxied.state()["failed"] == 3)
    }

    @Test func aBodyCutHalfWayResumesFromTheNextByteOfTheSameObject() async throws {
        let proxied = try await Proxied.start()
        defer { Task { await proxied.stop() } }
        let bytes = TestData.bytes(3 * 1024 * 1024 + 11)
        try await proxied.client.putObject(key: "cut/me", body: ByteBuffer(bytes: bytes))
        try await proxied.set(#"{"cut_next": 2, "cut_after": 1000000}"#)
        var got: [UInt8] = []
        try await proxied.client.getObject(key: "cut/me") { got += Array($0.readableBytesView) }
        #expect(got.count == bytes.count)
        #expect(TestData.sha256(got) == TestData.sha256(bytes))
        #expect(try await proxied.state()["cut"] == 2)

        // A range resumes inside the range.
        try await proxied.set(#"{"cut_next": 1, "cut_after": 1000}"#)
        var ranged: [UInt8] = []
        try await proxied.client.getObject(key: "cut/me", range: 500_000...2_500_000) {
            ranged += Array($0.readableBytesView)
        }
        #expect(ranged == Array(bytes[500_000...2_500_000]))
    }

    /// A store that hangs mid-body past the read timeout, answers 500 InternalError, or sends
    /// slowly: the read resumes from the next byte, the error is retried, the slow body arrives.
    @Test func aStallAnInternalErrorAndADripAreSurvived() async throws {
        let proxied = try await Proxied.start(readTimeout: .seconds(1))
        defer { Task { await proxied.stop() } }
        let bytes = TestData.bytes(2 * 1024 * 1024 + 3, seed: 93)
        try await proxied.client.putObject(key: "stall/me", body: ByteBuffer(bytes: bytes))
        try await proxied.set(#"{"stall_next": 1, "stall_after": 700000, "stall_seconds": 3, "error_next": 1}"#)
        var got: [UInt8] = []
        try await proxied.client.getObject(key: "stall/me") { got += Array($0.readableBytesView) }
        #expect(TestData.sha256(got) == TestData.sha256(bytes))
        let state = try await proxied.state()
        #expect(state["stalled"] == 1 && state["errored"] == 1, "\(state)")

        try await proxied.set(#"{"drip": 65536}"#)
        var dripped: [UInt8] = []
        try await proxied.client.getObject(key: "stall/me") { dripped += Array($0.readableBytesView) }
        #expect(dripped == bytes)
        try await proxied.set(#"{"drip": 0}"#)
    }

    @Test func aFailedMultipartUploadIsAbortedAndLeavesNothing() async throws {
        let proxied = try await Proxied.start(maxAttempts: 2)
        defer { Task { await proxied.stop() } }
        let store = S3BlobStore(client: proxied.client, logger: Logger(label: "s3-fault-test"))
        let upload = try await store.beginUpload(key: "multi/part", sizeHint: nil)
        for _ in 0..<3 { try await upload.write(ByteBuffer(bytes: TestData.bytes(4 * 1024 * 1024))) }
        #expect(try await proxied.client.listMultipartUploads().count == 1)
        // Every further call fails (more than the retries allow) until the upload gives up.
        try await proxied.set(#"{"fail_next": 6}"#)
        await #expect(throws: FerryError.self) {
            for _ in 0..<3 { try await upload.write(ByteBuffer(bytes: TestData.bytes(4 * 1024 * 1024))) }
            try await upload.commit()
        }
        // The store answers again by the time the uploader aborts (as Ferry's uploader does on any error).
        try await proxied.set(#"{"fail_next": 0}"#)
        await upload.abort()
        #expect(try await proxied.client.listMultipartUploads().isEmpty)
        #expect(try await proxied.client.listObjects().isEmpty)
    }
}
