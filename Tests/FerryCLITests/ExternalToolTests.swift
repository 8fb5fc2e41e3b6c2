import FerryTestSupport
import Foundation
import Testing

/// The helper every test runs programs with (curl, aria2c, `ferry`, the fault proxies).
@Suite struct ExternalToolTests {
    /// A program's exit is seen when it happens, whatever was started beside it. Foundation's
    /// `Process` saw an exit through a socket that a program started at the same moment could
    /// inherit; then the exit went unseen until that other program ended (a curl waited on for
    /// ever beside a fault proxy). `ExternalTool.Spawn` reaps each child itself and closes every
    /// other descriptor in the child. Here long-lived programs start at the same moments as short
    /// ones: every short one must be seen to end while all the long-lived ones still run.
    @Test func anExitIsSeenWhileProgramsStartedBesideItStillRun() async throws {
        // A test process holds many descriptors (servers, clients, files): so does this one. (With
        // Foundation's Process, 3 000 here once crashed the whole test process: see `Spawn`.)
        let held = (0..<1000).compactMap { _ in FileHandle(forReadingAtPath: "/dev/null") }
        defer { for handle in held { try? handle.close() } }
        let (statuses, sleepers) = try await withThrowingTaskGroup(
            of: (status: Int32?, sleeper: ExternalTool.Running?).self
        ) { group in
            for _ in 0..<48 {
                group.addTask { (nil, try ExternalTool.start("sleep", ["120"])) }
                group.addTask {
                    let short = try ExternalTool.start("sh", ["-c", "exit 3"])
                    return (await short.wait(timeout: 150).status, nil)
                }
            }
            var statuses: [Int32] = []
            var sleepers: [ExternalTool.Running] = []
            for try await result in group {
                if let status = result.status { statuses.append(status) }
                if let sleeper = result.sleeper { sleepers.append(sleeper) }
            }
            return (statuses, sleepers)
        }
        defer { for sleeper in sleepers { sleeper.kill() } }
        #expect(statuses == Array(repeating: 3, count: 48))
        let stillRunning = sleepers.filter(\.isRunning).count
        #expect(stillRunning == 48, "exits were seen only once the programs started beside them ended")
    }
}
