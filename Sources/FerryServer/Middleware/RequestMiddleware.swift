import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The outermost middleware: renders every error in the JSON shape of API.md, logs the cause of
/// server errors, and writes one access-log line per request. The line names the route pattern
/// (`/t/{token}`), never the raw path, so no secret in a URL reaches the log.
struct RequestMiddleware: RouterMiddleware {
    typealias Context = FerryRequestContext
    let logger: Logger
    let metrics: FerryMetrics

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        let start = ContinuousClock.now
        var response: Response
        var code: String?
        do {
            response = try await next(request, context)
        } catch let error as RangeNotSatisfiable {
            response = error.response
            code = error.error.code.rawValue
        } catch {
            let ferryError = FerryError.from(error)
            if ferryError.code.status >= 500,
                let underlying = ferryError.underlying ?? (error is FerryError ? nil : error)
            {
                context.logger.error(
                    "request failed",
                    metadata: ["code": "\(ferryError.code)", "error": "\(String(reflecting: underlying))"])
            }
            response = ferryError.response()
            code = ferryError.code.rawValue
        }
        // The refusal's code, for the access log and the request's trace span.
        if let code { context.notes.set("code", code) }
        if request.method == .head {
            // HEAD answers with the length a GET would have (RFC 9110 section 9.3.2), without the
            // body (Hummingbird's body setter rewrites Content-Length, so it is put back after).
            let length = response.headers[.contentLength] ?? response.body.contentLength.map { String($0) }
            response.body = ResponseBody()
            response.headers[.contentLength] = length
        }
        let elapsed = ContinuousClock.now - start
        metrics.request(route: context.endpointPath ?? "unmatched", status: response.status.code, duration: elapsed)
        // The line's metadata is only built when the line is written.
        guard context.logger.logLevel <= .info else { return response }
        var metadata: Logger.Metadata = [
            "method": "\(request.method.rawValue)",
            "route": "\(context.endpointPath ?? "unmatched")",
            "status": "\(response.status.code)",
            "duration_ms": "\(Self.milliseconds(elapsed))",
        ]
        if let length = response.headers[.contentLength] { metadata["bytes"] = "\(length)" }
        for (key, value) in context.notes.all { metadata[key] = "\(value)" }
        context.logger.info("request", metadata: metadata)
        return response
    }

    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let micros = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        return String(Double(micros) / 1000)
    }
}
