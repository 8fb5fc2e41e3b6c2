import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// `ferry get` killed with SIGKILL at random moments, then run to the end, leaves nothing but the
/// file in its folder (issue 19: Foundation's atomic writes of the control file left
/// `.dat.nosync...` temporaries beside the destination).
@Suite struct GetLitterTests {
    @Test(arguments: 1...3)
    func killedAtRandomMomentsThenFinishedLeavesOnlyTheFile(round: Int) async throws {
        let setup = try await ClientCommandTests.Setup.start()
        defer { setup.stop() }
        let env = ["FERRY_URL": setup.base, "FERRY_TOKEN": setup.token]
        let bytes = TestData.bytes(48 * 1024 * 1024, seed: UInt64(30 + round))
        let source = setup.home.appending("source.bin")
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        let put = try await setup.ferry(["put", source, "--json"], env: env)
        let id = try #require(ClientCommandTests.lastJSON(put.stdout)["id"] as? String)
        let folder = setup.home.appending("downloads-\(round)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let out = folder + "/copy.bin"
        var runEnv = setup.environment
        runEnv.merge(env) { $1 }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<10 {
            let run = try ExternalTool.start(
                path: ServeCommandTests.binary,
                ["get", id, "-o", out, "--connections", "4", "--limit-rate", "24M", "--quiet"], environment: runEnv)
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...900, using: &generator)))
            run.kill()
            _ = await run.wait(timeout: 10)
        }
        let finished = try await setup.ferry(["get", id, "-o", out, "--quiet"], env: env)
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(try TestData.sha256(file: out) == TestData.sha256(bytes))
        let left = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(left == ["copy.bin"], "left beside the download: \(left)")
    }
}
