import FerryAPIModels
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The request context of every Ferry route: Hummingbird's core storage plus the peer address.
public struct FerryRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's request storage.
    public var coreContext: CoreRequestContextStorage
    /// The socket peer; the client address unless a trusted proxy says otherwise.
    public let remoteAddress: SocketAddress?
    /// Facts a handler learns (e.g. the link id) for the access-log line, shared by every copy
    /// of this context so the outermost middleware sees them after the handler returns.
    public let notes = RequestNotes()
    /// The caller, set by `AuthenticationMiddleware`.
    public var identity: Identity = .anonymous

    /// Creates a context for a request arriving on a channel.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// JSON request bodies are small; file content is streamed, never decoded.
    public var maxUploadSize: Int { 1 << 20 }

    /// Answers a handler returns as a value are written as every Ferry answer is (`APIJSON`).
    public var responseEncoder: JSONEncoder { Self.responseEncoder }

    static let responseEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = APIJSON.formatting
        return encoder
    }()
}

/// Access-log fields set by handlers; a reference so copies of the context share it.
public final class RequestNotes: Sendable {
    let values = Mutex<[String: String]>([:])

    /// Sets a field.
    public func set(_ key: String, _ value: String) {
        values.withLock { $0[key] = value }
    }

    /// All fields.
    public var all: [String: String] { values.withLock { $0 } }
}
