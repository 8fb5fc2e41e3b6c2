import HTTPTypes
import Hummingbird
import NIOCore
import Tracing

/// One OpenTelemetry server span per request (README "Tracing"), added only when `ferry serve`
/// bootstrapped a tracer. The incoming W3C `traceparent` is honoured and the span's own is
/// returned; catalog and store calls become child spans (`Spans`).
///
/// Hummingbird's `TracingMiddleware` is not used because it records `url.path` and `url.query`,
/// which hold link tokens and passwords here: this one records the route pattern (`/t/{token}`),
/// the method, the status, and the request's notes (`link_id`, `code`), never a raw path.
struct RequestTracingMiddleware: RouterMiddleware {
    typealias Context = FerryRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var parent = ServiceContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
        let span = InstrumentationSystem.tracer.startSpan(
            "\(request.method.rawValue)", context: parent, ofKind: .server)
        span.attributes["http.request.method"] = request.method.rawValue
        do {
            var response = try await ServiceContext.withValue(span.context) { try await next(request, context) }
            finish(span, context: context, method: request.method, status: response.status.code)
            InstrumentationSystem.instrument.inject(span.context, into: &response.headers, using: HTTPFieldsInjector())
            // The span ends when the last byte of the body is written: a download's span is its length.
            let ending = SpanEnding(span)
            let body = response.body
            // The body setter rewrites Content-Length (a HEAD's is the GET's): put it back.
            let length = response.headers[.contentLength]
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer { ending.end() }
                try await body.write(writer)
            }
            response.headers[.contentLength] = length
            return response
        } catch {
            finish(span, context: context, method: request.method, status: 500)
            span.recordError(error)
            span.end()
            throw error
        }
    }

    func finish(_ span: any Span, context: Context, method: HTTPRequest.Method, status: Int) {
        if let route = context.endpointPath { span.operationName = "\(method.rawValue) \(route)" }
        span.attributes["http.route"] = context.endpointPath
        span.attributes["http.response.status_code"] = status
        for (key, value) in context.notes.all { span.attributes["ferry.\(key)"] = value }
        if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
    }
}

/// Ends a span once (the body's post-write closure, or when the body is dropped unwritten).
final class SpanEnding: @unchecked Sendable {
    // Only touched by the response writer's one task, then by deinit.
    private var span: (any Span)?

    init(_ span: any Span) { self.span = span }

    func end() {
        span?.end()
        span = nil
    }

    deinit { span?.end() }
}

/// Reads trace context (`traceparent`, `tracestate`, `baggage`) from request headers.
struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from headers: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { headers[$0] }
    }
}

/// Writes trace context into response headers.
struct HTTPFieldsInjector: Injector {
    func inject(_ value: String, forKey key: String, into headers: inout HTTPFields) {
        if let name = HTTPField.Name(key) { headers[name] = value }
    }
}
