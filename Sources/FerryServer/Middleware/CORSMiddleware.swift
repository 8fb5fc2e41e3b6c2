import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// CORS for the origins in `FERRY_CORS_ORIGINS` (API.md "Observability"): preflights answered,
/// the headers a browser download manager must read exposed, no credentials across origins.
/// Other origins get no CORS headers at all. Hummingbird's CORSMiddleware allows one origin or
/// any; Ferry needs an exact list, hence this small middleware.
struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let origins: Set<String>

    static var allowedHeaders: String {
        "Authorization, Range, If-Range, If-None-Match, Content-Type, Content-Digest, "
            + "Tus-Resumable, Upload-Length, Upload-Metadata, Upload-Offset, Upload-Checksum"
    }
    static var exposedHeaders: String {
        "Content-Range, Content-Length, ETag, Content-Disposition, Accept-Ranges, Repr-Digest, "
            + "Location, Upload-Offset, Upload-Length, Upload-Expires, Tus-Resumable, Tus-Version, Ferry-File-Id"
    }
    static var allowedMethods: String { "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS" }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        guard let origin = request.headers[.origin], origins.contains(origin) else {
            return try await next(request, context)
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            return Response(
                status: .noContent,
                headers: [
                    .accessControlAllowOrigin: origin, .vary: "Origin",
                    .accessControlAllowMethods: Self.allowedMethods,
                    .accessControlAllowHeaders: Self.allowedHeaders, .accessControlMaxAge: "600",
                ])
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.accessControlExposeHeaders] = Self.exposedHeaders
        if let vary = response.headers[.vary] {
            if !vary.contains("Origin") { response.headers[.vary] = vary + ", Origin" }
        } else {
            response.headers[.vary] = "Origin"
        }
        return response
    }
}
