/// A token bucket shared by a download's connections: `take` waits until the bytes fit in the
/// budget of `bytesPerSecond`, with a burst of a quarter second (at least 64 KiB, one network
/// chunk). No listed package limits rates, so it is written here.
public actor RateLimiter {
    let bytesPerSecond: Double
    let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant
    private let clock = ContinuousClock()

    /// Creates a limiter of `bytesPerSecond`, with a second of burst.
    public init(bytesPerSecond: Int64) {
        self.bytesPerSecond = Double(max(bytesPerSecond, 1))
        burst = max(self.bytesPerSecond / 4, 64 * 1024)
        tokens = burst
        last = clock.now
    }

    /// Takes `count` bytes from the budget, waiting for them when it is spent. Callers are served
    /// in turn (the actor), so the connections share the rate.
    public func take(_ count: Int) async throws {
        refill()
        tokens -= Double(count)
        if tokens < 0 {
            // Wait for the debt to be earned back; the bucket refills meanwhile.
            let wait = -tokens / bytesPerSecond
            try await Task.sleep(for: .nanoseconds(Int64(wait * 1e9)), clock: clock)
            refill()
        }
    }

    private func refill() {
        let now = clock.now
        let elapsed = now - last
        last = now
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(burst, tokens + seconds * bytesPerSecond)
    }
}

/// The client's wait before trying a failed request again: exponential with full jitter, from
/// 100-200 ms after the first failure to at most 6.4 s.
enum RetryDelay {
    /// Waits before attempt `failures + 1`.
    static func sleep(after failures: Int) async throws {
        try await Task.sleep(for: .milliseconds(Int64.random(in: 100...(200 << min(failures, 5)))))
    }
}
