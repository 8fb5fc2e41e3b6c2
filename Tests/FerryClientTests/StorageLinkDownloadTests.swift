import FerryClient
import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// `ferry get` on a Ferry whose files live in S3 (the test server, behind `fault_proxy.py` for
/// the two things AWS S3 does that moto does not): the manifest hands out presigned storage
/// links, fetched in parallel ranges straight from the store.
@Suite struct StorageLinkDownloadTests {
    /// A Ferry on a fresh bucket, with the store reached (and its links pointing) through the proxy.
    static func run(
        _ extra: [String: String] = [:], _ body: @Sendable (LiveFerry, FaultProxy) async throws -> Void
    ) async throws {
        let env = ProcessInfo.processInfo.environment
        let endpoint = try #require(
            env["FERRY_TEST_S3_ENDPOINT"],
            "FERRY_TEST_S3_ENDPOINT is not set: run scripts/test (it starts the S3 server)")
        let bucket = "ferry-" + Identifier.make().lowercased().filter { $0.isLetter || $0.isNumber }.prefix(20)
        let created = try await ExternalTool.run("curl", ["-fsS", "-X", "PUT", "\(endpoint)/\(bucket)"], timeout: 10)
        #expect(created.status == 0, "\(created.stderr)")
        let proxy = try await FaultProxy.start(upstream: endpoint)
        defer { proxy.stop() }
        var ferryEnv = [
            "FERRY_STORAGE": "s3://\(bucket)/blobs", "FERRY_S3_ENDPOINT": proxy.endpoint, "FERRY_S3_PATH_STYLE": "true",
            "AWS_ACCESS_KEY_ID": env["FERRY_TEST_S3_ACCESS_KEY"] ?? "ferry-test",
            "AWS_SECRET_ACCESS_KEY": env["FERRY_TEST_S3_SECRET_KEY"] ?? "ferry-test-secret",
        ]
        ferryEnv.merge(extra) { $1 }
        try await LiveFerry.run(ferryEnv) { ferry in try await body(ferry, proxy) }
    }

    /// S3 compares If-Range with its own ETag: a client sending Ferry's tag there would get the
    /// whole object for every part and restart forever. Storage links name one object written
    /// once, so parts go without If-Range and the file arrives whole and verified.
    @Test func storageLinksAreFetchedInRangesWithoutFerrysValidator() async throws {
        try await Self.run { ferry, proxy in
            try await proxy.set(#"{"if_range": 1}"#)
            let bytes = TestData.bytes(20 * 1024 * 1024 + 3, seed: 5)
            let file = try await ferry.upload(bytes)
            let manifest = try await ferry.api().manifest(id: file.id)
            #expect(manifest.link.strategy == "storage")
            #expect(manifest.link.url.hasPrefix(proxy.endpoint + "/"))
            let out = try TemporaryDirectory("ferry-get-s3")
            defer { out.remove() }
            let result = try await ferry.downloader().download(
                DownloadOptions(source: .file(id: file.id), destination: out.appending("s3.bin"), connections: 4),
                events: { _ in })
            #expect(try TestData.sha256(file: out.appending("s3.bin")) == TestData.sha256(bytes))
            #expect(result.restarts == 0)
            #expect(result.fetchedBytes == Int64(bytes.count))
            let state = try await proxy.state()
            #expect(state["ranged", default: 0] >= 20)
            #expect(state["if_range_mismatch"] == 0)
        }
    }

    /// A presigned link that expires mid-download is refused by the store with its own 403 (not
    /// Ferry's link_expired): the client fetches a fresh one through the manifest and goes on.
    @Test func anExpiredStorageLinkIsRefreshedThroughTheManifest() async throws {
        try await Self.run(["FERRY_LINK_TTL": "1"]) { ferry, proxy in
            try await proxy.set(#"{"expire_presigned": 1}"#)
            let bytes = TestData.bytes(6 * 1024 * 1024 + 1, seed: 6)
            let file = try await ferry.upload(bytes)
            let out = try TemporaryDirectory("ferry-get-s3")
            defer { out.remove() }
            var options = DownloadOptions(
                source: .file(id: file.id), destination: out.appending("expiring.bin"), connections: 1)
            options.afterPart = { part in
                // A pause after the first part until the link in hand has expired: it was signed
                // before now for 1 s (X-Amz-Date in whole seconds), so 2.5 s from now is past it.
                if part == 0 { try await Task.sleep(until: .now + .milliseconds(2500), clock: .continuous) }
            }
            let log = EventLog()
            let result = try await ferry.downloader().download(options, events: log.record)
            #expect(try TestData.sha256(file: out.appending("expiring.bin")) == TestData.sha256(bytes))
            #expect(result.refreshes >= 1)
            #expect(try await proxy.state()["expired", default: 0] >= 1)
        }
    }
}
