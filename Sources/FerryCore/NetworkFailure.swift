import Foundation
import NIOCore

/// A network failure in words a person can act on. The libraries' own descriptions name the
/// library, not the cause: "connection reset (error set): Connection refused) (errno: 111)",
/// "handshakeFailed(NIOSSL.BoringSSLError.sslError([... WRONG_VERSION_NUMBER ...]))",
/// "HTTPClientError.connectTimeout". Used by the client, the S3 store and `ferry doctor`. Core
/// does not depend on AsyncHTTPClient or NIOSSL, so their errors are told by the names their
/// descriptions carry (FerryClientTests check them against the real errors); what it does not
/// know is shown as the library says it.
public enum NetworkFailure {
    /// AsyncHTTPClient's errors that say something by themselves, by their description.
    static let clientErrors: [String: String] = [
        "HTTPClientError.connectTimeout": "timed out while connecting",
        "HTTPClientError.readTimeout": "the server stopped answering (read timed out)",
        "HTTPClientError.deadlineExceeded": "the request took too long",
        "HTTPClientError.remoteConnectionClosed": "the server closed the connection",
        "HTTPClientError.invalidURL": "not a URL this client can use",
    ]

    /// The cause of `error`, lower-case, to follow "Could not reach URL: ".
    public static func describe(_ error: any Error) -> String {
        if let error = error as? IOError {
            if error.errnoCode == ECONNREFUSED { return "connection refused (is the server running there?)" }
            return String(cString: strerror(error.errnoCode)).lowercased()
        }
        let text = String(describing: error)
        if let words = clientErrors[text] { return words }
        if text.contains("UnknownHost") { return "no such host (the name does not resolve)" }
        if text.contains("WRONG_VERSION_NUMBER") {
            return "the TLS handshake failed: nothing speaks https there (is the URL http://?)"
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server's certificate is not trusted (self-signed, an unknown CA or an incomplete chain)"
        }
        return String(text.prefix(300))
    }
}
