import Foundation
import Synchronization
import Testing

/// Waiting on a condition with a bound, instead of sleeping a fixed time.
public enum Eventually {
    /// Polls `condition` until it holds, failing after `timeout` seconds.
    public static func check(timeout: TimeInterval, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await condition(), "condition not met within \(timeout) s")
    }

    /// Polls `probe` until it returns a value, failing after `timeout` seconds.
    public static func value<T>(timeout: TimeInterval, _ probe: () async throws -> T?) async throws -> T {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let value = try await probe() { return value }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try #require(try await probe(), "no value within \(timeout) s")
    }
}

/// Waiting for a task with a bound, so a test that cannot finish says so instead of hanging CI.
public enum Bounded {
    /// Waits for `task` at most `seconds`; true when it finished in time. The task is left running
    /// otherwise (awaiting a task's value cannot be cancelled, so this never waits past the bound).
    public static func wait<T: Sendable>(for task: Task<T, Never>, seconds: Double) async -> Bool {
        let gate = Gate()
        let sleeper = Task {
            try? await Task.sleep(for: .seconds(seconds))
            gate.open(false)
        }
        Task {
            _ = await task.value
            gate.open(true)
        }
        let finished = await withCheckedContinuation { gate.arm($0) }
        sleeper.cancel()
        return finished
    }

    /// A one-shot continuation: the first `open` resumes it, later ones do nothing.
    final class Gate: Sendable {
        enum State {
            case idle
            case armed(CheckedContinuation<Bool, Never>)
            case opened(Bool)
            case done
        }
        let state = Mutex(State.idle)

        func arm(_ continuation: CheckedContinuation<Bool, Never>) {
            let ready: Bool? = state.withLock { state in
                if case .opened(let value) = state {
                    state = .done
                    return value
                }
                state = .armed(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }

        func open(_ value: Bool) {
            let waiting: CheckedContinuation<Bool, Never>? = state.withLock { state in
                switch state {
                case .idle:
                    state = .opened(value)
                    return nil
                case .armed(let continuation):
                    state = .done
                    return continuation
                case .opened, .done:
                    return nil
                }
            }
            waiting?.resume(returning: value)
        }
    }
}
