import FerryAPIModels
import FerryCore
import FerryStorageS3
import FerryTestSupport
import Foundation
import Testing

/// Store faults under a running server (issue 24, item 2), injected by `fault_proxy.py` between
/// Ferry and the real S3 test server: a body cut at every attempt ends the download short, audited
/// `download.failed` `storage_error`, and it resumes to the right bytes; a store answering only
/// 503 SlowDown fails uploads cleanly with nothing visible and `/readyz` says so; when the fault
/// ends the node recovers without a restart.
@Suite struct StoreFaultServerTests {
    @Test func cutBodiesAndSlowDownThenRecovery() async throws {
        guard let real = ProcessInfo.processInfo.environment["FERRY_TEST_S3_ENDPOINT"] else {
            throw TestFailure("FERRY_TEST_S3_ENDPOINT is not set: run scripts/test")
        }
        let proxy = try await FaultProxy.start(upstream: real)
        defer { proxy.stop() }
        let (env, bucket) = try await S3ServerTests.s3Environment(endpoint: proxy.endpoint)
        defer { Task { await bucket.shutdown() } }
        let server = try await TestServer.make(env)
        let scratch = try TemporaryDirectory("ferry-store-faults")
        defer { scratch.remove() }
        try await server.live {
            let base = "http://127.0.0.1:\(server.port)"
            let auth = "Authorization: Bearer \(server.adminToken)"
            let bytes = TestData.bytes(6 * 1024 * 1024 + 11, seed: 91)
            let file = try await server.uploadWithCurl(bytes, name: "faulty.bin", scratch: scratch)
            let out = scratch.appending("out.bin")

            // The store fails for good at 1 MiB into the object (each retry from there gets nothing):
            // the client gets a short body.
            try await proxy.set(#"{"cut_at_offset": 1048576}"#)
            let cut = try await ExternalTool.run(
                "curl", ["-sS", "-o", out, "-H", auth, "\(base)/v1/files/\(file.id)/content"])
            #expect(cut.status != 0, "the download did not end short: \(cut.stderr)")
            let partial = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? NSNumber)?.intValue ?? 0
            #expect(partial < bytes.count)
            let failed = try await Eventually.value(timeout: 30) { () async throws -> AuditEvent? in
                try await server.auditEvents(AuditFilter(event: "download.failed", limit: 10)).items.first
            }
            #expect(failed.detail["code"] == "storage_error", "\(failed.detail)")

            // The fault ends: the same command resumes to the right file.
            try await proxy.set(#"{"cut_at_offset": 0}"#)
            let resumed = try await ExternalTool.run(
                "curl", ["-sS", "-f", "-C", "-", "-o", out, "-H", auth, "\(base)/v1/files/\(file.id)/content"])
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(bytes))

            // A small body is read whole before its head goes out (one write): a store that fails
            // then answers a JSON error the client can act on, never a 200 cut short.
            let small = try await server.uploadWithCurl(
                TestData.bytes(40_000, seed: 92), name: "small.bin", scratch: scratch)
            try await proxy.set(#"{"cut_at_offset": 10000}"#)
            let refused = try await CurlResponse.run(["-H", auth, "\(base)/v1/files/\(small.id)/content"])
            #expect(refused.status == 503, "\(refused.status) \(refused.body.prefix(200))")
            #expect(refused.body.contains("\"unavailable\""), "\(refused.body.prefix(200))")
            let smallFailure = try await server.auditEvents(AuditFilter(fileID: small.id, event: "download.failed"))
            #expect(smallFailure.items.first?.detail["code"] == "storage_error")
            try await proxy.set(#"{"cut_at_offset": 0}"#)

            // The store answers only 503 SlowDown: uploads fail cleanly, /readyz says storage.
            try await proxy.set(#"{"fail_next": 100000}"#)
            let upload = try await CurlResponse.run([
                "-H", auth, "--data-binary", "@\(out)", "\(base)/v1/files?name=during-fault.bin",
            ])
            #expect(upload.status == 503, "\(upload.body)")
            #expect(upload.body.contains("\"unavailable\""))
            let ready = try await CurlResponse.run(["\(base)/readyz"])
            #expect(ready.status == 503)
            #expect(ready.body.contains("storage"), "\(ready.body)")
            try await proxy.set(#"{"fail_next": 0}"#)
            try await Eventually.check(timeout: 30) { try await CurlResponse.run(["\(base)/readyz"]).status == 200 }
            let listing = try await CurlResponse.run(["-H", auth, "\(base)/v1/files"])
            #expect(!listing.body.contains("during-fault.bin"), "the failed upload is not visible")
            let again = try await CurlResponse.run([
                "-H", auth, "--data-binary", "@\(out)", "\(base)/v1/files?name=after-fault.bin",
            ])
            #expect(again.status == 201, "\(again.body)")
        }
    }
}
