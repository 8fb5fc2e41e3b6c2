import FerryCore
import Foundation
import Logging
import Synchronization

/// Writes audit events to the catalog off the hot path, in batches (group commit).
///
/// `record` appends to a queue and returns: no request waits on the catalog's commit. The first
/// event to find no write in progress starts a writer task that drains the queue in batches, one
/// transaction per batch, so under load many requests share one commit. The queue is bounded: past
/// `capacity` pending events a caller waits for the writer (backpressure, nothing dropped).
/// `flush()` waits until everything recorded so far is written; the server calls it before reading
/// the audit log and on shutdown. Durability bound (RELIABILITY.md): an event is committed one
/// batch after it is recorded; a crash loses the batch being written and those queued behind it
/// (milliseconds of traffic, at most `capacity` events). A failed write is logged with its count;
/// a write retried after a timeout whose first attempt committed anyway stores each event once
/// (each carries a `writeKey`).
public final class AuditLog: Sendable {
    struct State {
        var pending: [AuditEvent] = []
        var writing = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    let catalog: any Catalog
    let logger: Logger
    let capacity: Int
    let metrics: FerryMetrics?
    let state = Mutex(State())

    /// Creates the log; `capacity` bounds the queue. Events also drive the metrics that count the
    /// same things (failures by code, links issued, upload bytes), so the two never disagree.
    public init(catalog: any Catalog, logger: Logger, metrics: FerryMetrics? = nil, capacity: Int = 10_000) {
        self.catalog = catalog
        self.logger = logger
        self.metrics = metrics
        self.capacity = capacity
    }

    /// Records one event.
    public func record(_ event: AuditEvent) async {
        if let metrics { count(event, in: metrics) }
        let (becomeWriter, full) = state.withLock { state -> (Bool, Bool) in
            state.pending.append(event)
            if state.writing { return (false, state.pending.count > capacity) }
            state.writing = true
            return (true, false)
        }
        if becomeWriter {
            // Detached: the batch belongs to no one request (its trace span, its cancellation).
            Task.detached { await self.drain() }
        } else if full {
            await flush()
        }
    }

    func count(_ event: AuditEvent, in metrics: FerryMetrics) {
        switch event.event {
        case "download.failed":
            if case .string(let code)? = event.detail["code"] { metrics.downloadFailed(code: code) }
        case "link.issued":
            if case .string(let strategy)? = event.detail["strategy"] { metrics.linkIssued(strategy: strategy) }
        case "upload.completed":
            if case .int(let bytes)? = event.detail["bytes"] { metrics.uploaded(bytes) }
        default:
            break
        }
    }

    /// Waits until every event recorded before the call is in the catalog.
    public func flush() async {
        enum Action { case done, drain, wait }
        let action = state.withLock { state -> Action in
            if state.writing { return .wait }
            if state.pending.isEmpty { return .done }
            state.writing = true
            return .drain
        }
        switch action {
        case .done: return
        case .drain: await drain()
        case .wait:
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    guard state.writing else { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Writes batches until the queue is empty, then wakes everyone waiting for a flush.
    func drain() async {
        while true {
            let (taken, waiters) = state.withLock { state -> ([AuditEvent], [CheckedContinuation<Void, Never>]) in
                let batch = state.pending
                state.pending = []
                guard batch.isEmpty else { return (batch, []) }
                state.writing = false
                let waiters = state.waiters
                state.waiters = []
                return ([], waiters)
            }
            if taken.isEmpty {
                for waiter in waiters { waiter.resume() }
                return
            }
            // A batch whose write timed out is kept and written again, and PostgreSQL may have
            // committed the first write all the same: the key (given once, here on the writer
            // rather than on each request) lets it store each event once.
            var batch = taken
            for index in batch.indices where batch[index].writeKey == nil { batch[index].writeKey = UUID() }
            do {
                try await catalog.appendAudit(batch)
            } catch {
                // Keep the batch (oldest first) for the next write; stop writing for now so no
                // request waits on a catalog that is down. Beyond `capacity` the oldest are dropped.
                let (dropped, waiters) = state.withLock { state -> (Int, [CheckedContinuation<Void, Never>]) in
                    state.pending = batch + state.pending
                    let dropped = max(0, state.pending.count - capacity)
                    state.pending.removeFirst(dropped)
                    state.writing = false
                    let waiters = state.waiters
                    state.waiters = []
                    return (dropped, waiters)
                }
                logger.error(
                    "audit write failed; events kept for the next attempt",
                    metadata: [
                        "events": "\(batch.count)", "dropped": "\(dropped)", "error": "\(String(reflecting: error))",
                    ])
                for waiter in waiters { waiter.resume() }
                return
            }
        }
    }
}
