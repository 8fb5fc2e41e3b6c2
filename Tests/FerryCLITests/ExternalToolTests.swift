import FerryTestSupport
import Foundation
import Testing

/// The helper every test runs programs with (curl, aria2c, `ferry`, the fault proxies).
@Suite struct ExternalToolTests {
    /// A program's exit is seen when it happens, whatever was started beside it. Foundation's
    /// `Process` sees an exit through a socket that a program started at the same moment could
    /// inherit; then the exit went unseen until that other program ended (a curl waited on for
    /// ever beside a fault proxy). Here long-lived programs start at the same moments as short
    /// ones: every short one must be seen to end while all the long-lived ones still run.
    @Test func anExitIsSeenWhileProgramsStartedBesideItStillRun() async throws {
        // A test process holds many descriptors (servers, clients, files), which is what leaves
        // the window open long enough (Foundation adds a close action for each): so does this
        // one, to 800 in all: under what Foundation itself can spawn beside
        // (`ExternalTool.descriptorLimit`), with room for the tests running beside this one.
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        let held = (0..<max(0, 800 - open)).compactMap { _ in
            FileHandle(forReadingAtPath: "/dev/null")
        }
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
