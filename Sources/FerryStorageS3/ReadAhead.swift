import AsyncHTTPClient
import FerryCore
import NIOCore
import NIOHTTP1
import Synchronization

/// A response body read ahead of its consumer, up to `window` bytes.
///
/// AsyncHTTPClient's async body (`HTTPClientResponse.Body`) asks the socket for the next chunk only
/// when the consumer asks for it (its watermarks are 1 and 1), so a proxied download alternated
/// between reading S3 and writing the client, one chunk of at most 64 KiB at a time, with a task
/// switch each way. Its delegate API (used here) lets the connection keep reading while the
/// consumer writes, and the consumer takes everything that has arrived in one go. Hand-written
/// because no listed package offers a bounded read-ahead over AsyncHTTPClient.
final class ReadAhead: HTTPClientResponseDelegate, Sendable {
    typealias Response = Void

    struct State {
        var head: HTTPResponseHead?
        var chunks: [ByteBuffer] = []
        var buffered = 0
        var finished = false
        var failure: (any Error)?
        /// How many times the connection side changed the state (what a waiting consumer watches).
        var events = 0
        /// The consumer, waiting for the head, a chunk, the end or a failure.
        var waiter: CheckedContinuation<Void, Never>?
        /// The connection, held while the window is full.
        var paused: EventLoopPromise<Void>?
    }

    let window: Int
    let state = Mutex(State())

    init(window: Int) {
        self.window = window
    }

    // MARK: Connection side (on the connection's event loop)

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        let waiter = state.withLock { state in
            state.head = head
            state.events += 1
            return state.waiter.take()
        }
        waiter?.resume()
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        let (waiter, pause) = state.withLock { state -> (CheckedContinuation<Void, Never>?, EventLoopFuture<Void>?) in
            guard !state.finished else { return (nil, nil) }  // abandoned: the bytes have no reader
            state.chunks.append(buffer)
            state.buffered += buffer.readableBytes
            state.events += 1
            guard state.buffered >= window else { return (state.waiter.take(), nil) }
            let promise = task.eventLoop.makePromise(of: Void.self)
            state.paused = promise
            return (state.waiter.take(), promise.futureResult)
        }
        waiter?.resume()
        return pause ?? task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
        end(failure: error)
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        end(failure: nil)
    }

    func end(failure: (any Error)?) {
        let (waiter, paused) = state.withLock { state in
            if let failure, state.failure == nil, !state.finished { state.failure = failure }
            state.finished = true
            state.events += 1
            return (state.waiter.take(), state.paused.take())
        }
        waiter?.resume()
        paused?.succeed()
    }

    // MARK: Consumer side (one task)

    /// The response head, once it has arrived.
    func head() async throws -> HTTPResponseHead {
        while true {
            let (outcome, seen) = state.withLock { state -> (Result<HTTPResponseHead, any Error>?, Int) in
                if let head = state.head { return (.success(head), state.events) }
                if let failure = state.failure { return (.failure(failure), state.events) }
                return (nil, state.events)
            }
            if let outcome { return try outcome.get() }
            await wait(past: seen)
        }
    }

    /// Everything that has arrived since the last call (waiting for at least one chunk), or nil at
    /// the end of the body. Taking the chunks lets a paused connection read on.
    func next() async throws -> [ByteBuffer]? {
        while true {
            let (outcome, paused, seen) = state.withLock {
                state -> (Result<[ByteBuffer]?, any Error>?, EventLoopPromise<Void>?, Int) in
                if !state.chunks.isEmpty {
                    let chunks = state.chunks
                    state.chunks.removeAll(keepingCapacity: true)
                    state.buffered = 0
                    return (.success(chunks), state.paused.take(), state.events)
                }
                if let failure = state.failure { return (.failure(failure), nil, state.events) }
                if state.finished { return (.success(nil), nil, state.events) }
                return (nil, nil, state.events)
            }
            paused?.succeed()
            if let outcome { return try outcome.get() }
            await wait(past: seen)
        }
    }

    /// Waits for `step` of this body (its head or its next batch) and abandons `task` if the waiting
    /// task is cancelled meanwhile. A failure is GetObject's `code` with no status: S3 said nothing.
    func awaiting<T: Sendable>(
        _ step: @Sendable (ReadAhead) async throws -> T, of task: HTTPClient.Task<Void>, failingAs code: String
    ) async throws(S3Error) -> T {
        do {
            return try await withTaskCancellationHandler {
                try await step(self)
            } onCancel: {
                abandon(task)
            }
        } catch {
            throw S3Error(operation: "GetObject", status: nil, code: code, message: NetworkFailure.describe(error))
        }
    }

    /// Ends the body early (the consumer gave up): the connection is released, never left paused.
    /// A body that has already ended is left alone.
    func abandon(_ task: HTTPClient.Task<Void>) {
        guard !state.withLock({ $0.finished }) else { return }
        end(failure: CancellationError())
        task.cancel()
    }

    /// Suspends until the connection side has done something since `seen` (at once if it has).
    func wait(past seen: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.events != seen { return true }
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }
}
