import AsyncHTTPClient
import Foundation
import NIOCore

/// A network failure in words a person can act on. The libraries' own descriptions name the
/// library, not the cause: "connection reset (error set): Connection refused) (errno: 111)",
/// "handshakeFailed(NIOSSL.BoringSSLError.sslError([... WRONG_VERSION_NUMBER ...]))",
/// "HTTPClientError.connectTimeout". What it does not know is shown as the library says it.
public enum NetworkFailure {
    /// The cause of `error`, lower-case, to follow "Could not reach URL: ".
    public static func describe(_ error: any Error) -> String {
        if let error = error as? IOError {
            if error.errnoCode == ECONNREFUSED { return "connection refused (is the server running there?)" }
            return String(cString: strerror(error.errnoCode)).lowercased()
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "timed out while connecting"
            case .readTimeout: return "the server stopped answering (read timed out)"
            case .deadlineExceeded: return "the request took too long"
            case .remoteConnectionClosed: return "the server closed the connection"
            case .invalidURL: return "not a URL this client can use"
            default: break
            }
        }
        let text = String(describing: error)
        if text.contains("UnknownHost") { return "no such host (the name does not resolve)" }
        if text.contains("WRONG_VERSION_NUMBER") {
            return "the TLS handshake failed: nothing speaks https there (is the URL http://?)"
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server's certificate is not trusted (self-signed, an unknown CA or an incomplete chain)"
        }
        if text.contains("hostname") && text.contains("mismatch") || text.contains("HOSTNAME") {
            return "the server's certificate is for another name"
        }
        return String(text.prefix(300))
    }
}
