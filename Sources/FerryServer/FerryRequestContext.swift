import Foundation
import Hummingbird
import Logging
import NIOCore

/// The request context of every Ferry route: Hummingbird's core storage plus the peer address.
public struct FerryRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The socket peer; the client address unless a trusted proxy says otherwise.
    public let remoteAddress: SocketAddress?

    /// Creates a context for a request arriving on a channel.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// JSON request bodies are small; file content is streamed, never decoded.
    public var maxUploadSize: Int { 1 << 20 }
}
