import FerryClient
import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// `FerryAPI.upload` against a live Ferry on loopback.
@Suite struct UploadClientTests {
    @Test func anUploadRefusedMidStreamSaysWhyClosesItsFileAndLeavesNothing() async throws {
        try await LiveFerry.run(["FERRY_MAX_UPLOAD_BYTES": "1048576"]) { ferry in
            // The server answers 413 before the body is through: the client stops sending and
            // drops its body iterator early, which must close the file (SwiftNIO traps otherwise).
            for _ in 0..<3 {
                await #expect {
                    _ = try await ferry.upload(TestData.bytes(16 * 1024 * 1024, seed: 3), name: "big.bin")
                } throws: { error in
                    let refusal = error as? FerryClientError
                    return refusal?.code == "too_large" && refusal?.status == 413
                }
            }
            let small = try await ferry.upload(TestData.bytes(1000, seed: 4), name: "small.bin")
            #expect(small.size == 1000)
            let files = try await ferry.api().files()
            #expect(files.map(\.name) == ["small.bin"])
        }
    }
}
