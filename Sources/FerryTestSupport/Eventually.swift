import Foundation
import Testing

/// Waiting on a condition with a bound, instead of sleeping a fixed time.
public enum Eventually {
    public static func check(timeout: TimeInterval, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await condition(), "condition not met within \(timeout) s")
    }

    public static func value<T>(timeout: TimeInterval, _ probe: () async throws -> T?) async throws -> T {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let value = try await probe() { return value }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try #require(try await probe(), "no value within \(timeout) s")
    }
}
