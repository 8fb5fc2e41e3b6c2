import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose *client* has been idle for `idleTimeout` (`FERRY_IDLE_TIMEOUT`):
/// a keep-alive with no next request, a head trickled slower than one whole head per timeout
/// (slowloris), a request body that stops arriving. Time counts only while the server is asking
/// for bytes: when the handler applies backpressure (a busy machine, a slow store behind an
/// upload), no read is requested and the client is not blamed for the pause. Hummingbird's own
/// idle timeout counts that pause too and cut uploads on a loaded machine (curl exit 56), so it is
/// off and this takes its place; a response being written is `StalledClientHandler`'s. By hand:
/// no listed package has an idle timeout aware of backpressure.
final class IdleClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let idleTimeout: TimeAmount
    /// Requests whose head was read and whose response has not ended.
    private var requestsInProgress = 0
    /// Between a request's head and its end.
    private var readingRequest = false
    /// The server asked for bytes (a `read` passed here) and no request part has come since.
    private var readPending = false
    /// The last progress: a request part read, a response ended, or the server starting to wait.
    private var lastActive = NIODeadline.now()
    private var timer: Scheduled<Void>?

    init(idleTimeout: TimeAmount) {
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActive = .now()
        readPending = false
        switch unwrapInboundIn(data) {
        case .head:
            readingRequest = true
            requestsInProgress += 1
        case .body:
            break
        case .end:
            readingRequest = false
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        if !readPending {
            readPending = true
            lastActive = .now()
        }
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            requestsInProgress = max(0, requestsInProgress - 1)
            if requestsInProgress == 0 { lastActive = .now() }
        }
        context.write(data, promise: promise)
    }

    private func start(_ context: ChannelHandlerContext) {
        lastActive = .now()
        schedule(context, at: lastActive + idleTimeout)
    }

    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        timer?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            check(loopBound.value)
        }
    }

    /// At a deadline: close if the client kept the server waiting a whole timeout, else look again.
    private func check(_ context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        let responding = requestsInProgress > 0 && !readingRequest
        guard readPending, !responding else {
            // The server is answering, or not asking for bytes: nothing is the client's to send.
            schedule(context, at: now + idleTimeout)
            return
        }
        let deadline = lastActive + idleTimeout
        if now >= deadline {
            context.close(promise: nil)
        } else {
            schedule(context, at: deadline)
        }
    }
}
