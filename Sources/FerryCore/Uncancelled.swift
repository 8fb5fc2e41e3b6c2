/// Runs `work` to its end even when the calling task has been cancelled, and waits for it.
///
/// For clean-up that must happen: SwiftNIO's file handles refuse `close()` in a cancelled task
/// (and trap when an unclosed handle is released), and an aborted upload must remove its
/// temporary file whether or not its request was cancelled. A new unstructured task does not
/// inherit the caller's cancellation.
public func uncancelled<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Task { try await work() }.value
}
