import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Cuts a connection whose client has read nothing of a response for `sendTimeout` (nginx's
/// `send_timeout`): the socket stays unwritable that long. Without it a client that stops reading
/// holds a download's task, its file or store stream, and a graceful shutdown, forever. Once the
/// server quiesces (SIGTERM), a client stalled for a second is cut at once so the shutdown is not
/// held; clients resume with ranges. Hummingbird's idle timeout covers idle keep-alives and
/// trickled heads, but never a response being written. By hand: no listed package does this.
final class StalledClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// How long a stall is tolerated while serving, and once the server is stopping.
    let sendTimeout: TimeAmount
    static let quiescingTimeout = TimeAmount.seconds(1)

    private var stalledSince: NIODeadline?
    private var quiescing = false
    private var timer: Scheduled<Void>?

    init(sendTimeout: TimeAmount) {
        self.sendTimeout = sendTimeout
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stalledSince = nil
            timer?.cancel()
            timer = nil
        } else if stalledSince == nil {
            stalledSince = .now()
            arm(context)
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, !quiescing {
            quiescing = true
            if stalledSince != nil { arm(context) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    /// (Re)schedules the cut for the current stall and mode.
    private func arm(_ context: ChannelHandlerContext) {
        guard let since = stalledSince else { return }
        timer?.cancel()
        let deadline = since + (quiescing ? min(sendTimeout, Self.quiescingTimeout) : sendTimeout)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            guard stalledSince != nil else { return }
            loopBound.value.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }
}
