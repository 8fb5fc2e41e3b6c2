import GRDB
import Synchronization

/// Runs catalog writes that arrive together in one SQLite transaction (group commit).
///
/// Each write runs in its own savepoint inside the shared transaction, so it is still all or
/// nothing on its own: a write that throws rolls back only itself and gets its error. Callers are
/// resumed only after the transaction committed, so a write that returned is durable and visible
/// to every later read. SQLite has one writer at a time anyway; what this saves is a thread hop,
/// a BEGIN and a COMMIT (a WAL append) per write when many requests write at once (issuing links,
/// taking downloads, audit batches). A lone write is one transaction of one, as before.
final class WriteCombiner: Sendable {
    /// One queued write: `attempt` runs it inside the transaction and keeps its outcome,
    /// `finish` resumes its caller once the transaction ended (with the commit's error if any).
    struct Job: Sendable {
        let attempt: @Sendable (Database) -> Void
        let finish: @Sendable ((any Error)?) -> Void
    }

    struct State {
        var pending: [Job] = []
        var draining = false
    }

    let pool: DatabasePool
    let state = Mutex(State())

    init(pool: DatabasePool) {
        self.pool = pool
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let outcome = Mutex<Result<T, any Error>?>(nil)
            let job = Job(
                attempt: { db in
                    let result = Result<T, any Error> {
                        var value: T?
                        try db.inSavepoint {
                            value = try body(db)
                            return .commit
                        }
                        // inSavepoint returned without throwing, so the body ran and set value.
                        guard let value else { throw CombinerInvariant() }
                        return value
                    }
                    outcome.withLock { $0 = result }
                },
                finish: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else {
                        continuation.resume(with: outcome.withLock { $0 } ?? .failure(CombinerInvariant()))
                    }
                })
            let start = state.withLock { state -> Bool in
                state.pending.append(job)
                if state.draining { return false }
                state.draining = true
                return true
            }
            if start { drain() }
        }
    }

    /// Writes batches on GRDB's writer until the queue is empty.
    func drain() {
        pool.asyncWriteWithoutTransaction { [self] db in
            while true {
                let batch = state.withLock { state -> [Job] in
                    let batch = state.pending
                    state.pending = []
                    if batch.isEmpty { state.draining = false }
                    return batch
                }
                if batch.isEmpty { return }
                var commitError: (any Error)?
                do {
                    try db.inTransaction(.immediate) {
                        for job in batch { job.attempt(db) }
                        return .commit
                    }
                } catch {
                    commitError = error
                }
                for job in batch { job.finish(commitError) }
            }
        }
    }

    /// A write finished without an outcome: a bug, reported rather than crashing the server.
    struct CombinerInvariant: Error, CustomStringConvertible {
        var description: String { "a catalog write finished without a result" }
    }
}
