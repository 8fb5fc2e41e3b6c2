import NIOCore
import NIOHTTP1
import NIOPosix

/// `ferry-bench nio-ceiling PORT`: a bare SwiftNIO HTTP/1.1 server answering every request with
/// the same 4 KiB from memory (no framework, no routing, no work, no concurrency hop), on as many
/// event loops as cores. Not a product: scripts/bench measures it beside nginx to show what any
/// Swift server can reach on the machine, the ceiling under Ferry's hot routes.
enum NIOCeiling {
    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        // One buffer shared by every response (NIO copies nothing when writing it).
        let body: ByteBuffer
        var keepAlive = true

        init(body: ByteBuffer) { self.body = body }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                keepAlive = head.isKeepAlive
            case .body:
                break
            case .end:
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: String(body.readableBytes))
                headers.add(name: "Content-Type", value: "application/octet-stream")
                let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                let keepAlive = self.keepAlive
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                    if !keepAlive { context.close(promise: nil) }
                }
            }
        }
    }

    static func serve(port: Int) throws -> Never {
        let body = ByteBuffer(repeating: 0x5A, count: 4096)
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(body: body))
                }
            }
            .bind(host: "127.0.0.1", port: port).wait()
        try channel.closeFuture.wait()
        fatalError("the server channel closed")
    }
}
