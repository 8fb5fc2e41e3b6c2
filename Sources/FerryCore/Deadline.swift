import Synchronization

/// Work bounded in time that gives up *waiting* at the deadline even when the work cannot be
/// stopped: a query on a connection to a database host that stopped answering (no reset, no
/// close) ignores cancellation, and a task group would wait for it forever. The work is cancelled
/// and left to end on its own; the caller gets `Deadline.Expired` at the deadline.
/// By hand: the standard library's structured concurrency always waits for child tasks.
public enum Deadline {
    /// The work did not finish within the limit.
    public struct Expired: Error, CustomStringConvertible {
        /// The limit that passed.
        public let after: Duration
        public var description: String { "no answer within \(after)" }
    }

    /// Runs `work`, returning its result or throwing `Expired` once `limit` has passed.
    public static func run<T: Sendable>(
        within limit: Duration, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let task = Task { try await work() }
        let outcome = Waiting<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                outcome.slot.withLock { $0 = continuation }
                Task {
                    let result = await task.result
                    outcome.slot.withLock { $0.take() }?.resume(with: result)
                }
                Task {
                    try? await Task.sleep(for: limit)
                    if let waiting = outcome.slot.withLock({ $0.take() }) {
                        task.cancel()
                        waiting.resume(throwing: Expired(after: limit))
                    }
                }
            }
        } onCancel: {
            task.cancel()
        }
    }

    /// The caller's continuation, resumed once by whichever comes first.
    final class Waiting<T: Sendable>: Sendable {
        let slot = Mutex<CheckedContinuation<T, any Error>?>(nil)
    }
}
