import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// The limits on a request head (RFC 9110 section 5.4, RFC 6585 section 5): nginx allows 8 KiB a
/// line by default and Apache 8 KiB a field; Ferry allows a little more for long signed links.
public enum RequestHeadLimits {
    /// Longest header field (name and value).
    public static let fieldBytes = 16 * 1024
    /// All header fields together.
    public static let totalBytes = 64 * 1024
    /// Number of header fields.
    public static let fieldCount = 100

    /// Hummingbird's HTTP/1.1 server with these limits and a JSON answer when they are broken,
    /// the idle timeout (`IdleClientHandler`: keep-alives, and heads or bodies trickled slower than
    /// it) and the send timeout (`StalledClientHandler`).
    public static func server(_ configuration: FerryConfiguration) -> HTTPServerBuilder {
        let send = TimeAmount.seconds(Int64(configuration.sendTimeout))
        return .http1(
            configuration: .init(
                additionalChannelHandlers: [
                    MalformedRequestHandler(), StalledClientHandler(sendTimeout: send),
                    IdleClientHandler(idleTimeout: .seconds(Int64(configuration.idleTimeout))),
                ],
                // Off: `IdleClientHandler` times idle clients without counting the server's own pauses.
                idleTimeout: nil,
                httpDecoderConfiguration: .init(
                    maxHeaderFieldSize: fieldBytes, maxHeaderListSize: totalBytes, maxHeaderFieldCount: fieldCount)))
    }
}

/// Answers a request NIO's HTTP/1.1 parser refused with the JSON error of API.md and closes the
/// connection: a head over `RequestHeadLimits` is 431 `request_header_too_large`; anything else
/// the parser cannot read (a bad request line, `Content-Length` with `Transfer-Encoding`) is 400.
/// Hummingbird builds its pipeline without NIO's error handler, so without this the connection
/// would close with no answer at all.
final class MalformedRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    /// Whether a response head went out on this connection for the request being read: then an
    /// answer cannot be written any more and the connection is only closed.
    private var answering = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !answering else {
            context.fireErrorCaught(error)
            return
        }
        answering = true
        let failure: FerryError =
            if parserError == .headerOverflow {
                FerryError(
                    .requestHeaderTooLarge,
                    "The request's header fields are too large (at most \(RequestHeadLimits.fieldBytes / 1024) KiB a field, "
                        + "\(RequestHeadLimits.totalBytes / 1024) KiB and \(RequestHeadLimits.fieldCount) fields in all); send fewer or shorter ones."
                )
            } else {
                FerryError(.badRequest, "The request is not valid HTTP/1.1 (\(parserError)); it was not processed.")
            }
        let body = ByteBuffer(string: failure.jsonText)
        let head = HTTPResponse(
            status: .init(code: failure.code.status),
            headerFields: [
                .contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes),
                .connection: "close", .cacheControl: "no-store",
            ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}

extension FerryError {
    /// The JSON body of API.md's error shape, as text.
    var jsonText: String {
        var text = "{\"error\":{\"code\":"
        JSONText.appendString(code.rawValue, to: &text)
        text += ",\"message\":"
        JSONText.appendString(message, to: &text)
        return text + "}}"
    }
}
