import Foundation
import Logging
import ServiceLifecycle
import Testing

/// Runs a server on loopback for the length of a test. Every wait is bounded: a server that does
/// not start, stop or close in time is a recorded failure, never a hung test run.
public enum LiveService {
    /// Runs `service` until it reports `started`, runs `body`, then shuts it down gracefully,
    /// cancelling it after `stopWithin` seconds (a stalled connection holds a graceful shutdown
    /// open), and runs `close` (catalog and store) with a bound of its own.
    public static func run<T: Sendable>(
        _ service: some Service, started: AsyncStream<Void>, stopWithin seconds: Double = 30, logger: Logger,
        close: @escaping @Sendable () async -> Void, _ body: () async throws -> T
    ) async throws -> T {
        let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [], logger: logger))
        let (stopped, stop) = AsyncStream<Void>.makeStream()
        let server = Task {
            do { try await group.run() } catch { logger.error("live test server: \(error)") }
            stop.finish()
        }
        // Started, or stopped without ever starting (the port was taken, say).
        let first = await withTaskGroup(of: Bool.self) { waits in
            waits.addTask {
                for await _ in started { return true }; return false
            }
            waits.addTask {
                for await _ in stopped {}; return false
            }
            let first = await waits.next() ?? false
            waits.cancelAll()
            return first
        }
        guard first else {
            await close()
            throw TestFailure("the live test server did not start (its error is logged above)")
        }
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        await group.triggerGracefulShutdown()
        if await !Bounded.wait(for: server, seconds: seconds) {
            Issue.record(
                "the live test server was still running \(seconds) s after a graceful shutdown (a stalled connection?); cancelling it"
            )
            server.cancel()
            if await !Bounded.wait(for: server, seconds: seconds) {
                Issue.record("the live test server did not stop when cancelled either; left running")
            }
        }
        let closing = Task { await close() }
        if await !Bounded.wait(for: closing, seconds: 60) {
            Issue.record("closing the test server's catalog and store took over 60 s; left closing")
        }
        return try outcome.get()
    }
}

/// A test that cannot go on, with the reason.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    /// Creates a failure with its description.
    public init(_ description: String) { self.description = description }
}
