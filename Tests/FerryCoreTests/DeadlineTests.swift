import FerryCore
import Foundation
import Testing

/// `Deadline.run`: the caller gets its answer at the deadline even from work that ignores
/// cancellation (a query to a database host that stopped answering).
@Suite struct DeadlineTests {
    @Test func workThatIgnoresCancellationIsLeftAtTheDeadline() async throws {
        let started = ContinuousClock.now
        await #expect(throws: Deadline.Expired.self) {
            try await Deadline.run(within: .milliseconds(200)) {
                // Resumed only after 30 s, whatever cancellation says.
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 30) { done.resume() }
                }
                return 1
            }
        }
        // Long before the work ends (a loaded CI delays the timer task by seconds, not 30).
        #expect(ContinuousClock.now - started < .seconds(15))
    }

    @Test func aResultOrAnErrorBeforeTheDeadlinePassesThrough() async throws {
        #expect(try await Deadline.run(within: .seconds(5)) { 42 } == 42)
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await Deadline.run(within: .seconds(5)) { () async throws -> Int in throw Boom() }
        }
    }
}
