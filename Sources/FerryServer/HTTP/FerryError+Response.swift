import FerryAPIModels
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// Encoded error bodies, kept: a refusal repeats (a hot expired link, a guessing client, a
/// scanner's 404s) and JSONEncoder was 3 % of a refused request's CPU in profiles. Bounded: past
/// `capacity` distinct bodies (messages may carry a name or an ETag) it starts over.
final class ErrorBodies: Sendable {
    static let shared = ErrorBodies()
    static let capacity = 512
    let bodies = Mutex([String: ByteBuffer]())

    func body(code: String, message: String) -> ByteBuffer {
        let key = code + "\u{0}" + message
        if let kept = bodies.withLock({ $0[key] }) { return kept }
        let json = (try? APIJSON.encode(APIError(code: code, message: message))) ?? Data()
        let body = ByteBuffer(bytes: json)
        bodies.withLock { bodies in
            if bodies.count >= Self.capacity { bodies.removeAll(keepingCapacity: true) }
            bodies[key] = body
        }
        return body
    }
}

/// The one place a `FerryError` becomes an HTTP response: the JSON shape of API.md.
extension FerryError {
    /// The response for this error, with extra headers (e.g. `Content-Range` on a 416).
    public func response(headers extra: HTTPFields = [:]) -> Response {
        let json = ErrorBodies.shared.body(code: code.rawValue, message: message)
        var headers: HTTPFields = [
            .contentType: "application/json; charset=utf-8",
            .cacheControl: "no-store",
            .xContentTypeOptions: "nosniff",
        ]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if code == .unauthenticated { headers[.wwwAuthenticate] = "Bearer realm=\"ferry\"" }
        if code == .passwordRequired || code == .wrongPassword {
            headers[.wwwAuthenticate] = "Basic realm=\"Ferry link\", charset=\"UTF-8\""
        }
        headers.append(contentsOf: extra)
        return Response(
            status: Self.status(code.status), headers: headers,
            body: ResponseBody(byteBuffer: json))
    }

    /// The status line: NIO names the registered codes itself; tus's 460 gets the protocol's
    /// "Checksum Mismatch" (otherwise the line would read `HTTP/1.1 460 ` with no reason).
    static func status(_ code: Int) -> HTTPResponse.Status {
        HTTPResponse.Status(code: code, reasonPhrase: code == 460 ? "Checksum Mismatch" : "")
    }

    /// Maps anything thrown by a route to a `FerryError`: Hummingbird's own errors keep their
    /// status; everything else is a 500 whose cause is logged, never shown.
    static func from(_ error: any Error) -> FerryError {
        if let error = error as? FerryError { return error }
        if let error = error as? HTTPError {
            switch error.status.code {
            case 400: return FerryError(.badRequest, error.body ?? "The request is malformed.", underlying: error)
            case 401: return FerryError(.unauthenticated, "Sign in or send Authorization: Bearer <token>.")
            case 403: return FerryError(.forbidden, "You may not do this.", underlying: error)
            case 404: return FerryError(.notFound, "There is nothing at this address.", underlying: error)
            case 405:
                return FerryError(.methodNotAllowed, "This address does not accept that method.", underlying: error)
            case 413: return FerryError(.tooLarge, "The request body is too large.", underlying: error)
            default: break
            }
        }
        if error is CancellationError {
            return FerryError(
                .unavailable, "The server is shutting down; retry in a moment.", underlying: error, retryAfter: 1)
        }
        return FerryError(.internalError, "Something went wrong on the server; it has been logged.", underlying: error)
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let xFerrySHA256 = HTTPField.Name("X-Ferry-SHA256")!
    static let contentDigest = HTTPField.Name("Content-Digest")!
    static let reprDigest = HTTPField.Name("Repr-Digest")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let xRequestID = HTTPField.Name("X-Request-ID")!
}
