import Tracing

/// Child spans of a request for the catalog and the store (swift-distributed-tracing's global
/// tracer: a no-op until `ferry serve` bootstraps OpenTelemetry, README "Tracing"). The span's
/// parent is the task's current `ServiceContext`, which the request's span sets; without one
/// (housekeeping, start-up) no span is made.
public enum Spans {
    /// Runs `body` in a span `catalog <operation>` (the catalog method, e.g. `linkState`).
    public static func catalog<T>(
        _ function: String, system: String, _ body: () async throws -> T
    ) async throws -> T {
        // Housekeeping outside a request starts no trace of its own.
        guard ServiceContext.current != nil else { return try await body() }
        return try await withSpan("catalog \(name(of: function))", ofKind: .client) { span in
            span.attributes["db.system"] = system
            return try await body()
        }
    }

    /// Runs `body` in a span `store <operation>` (a `BlobStore` call or an S3 request), on the
    /// caller's actor (an S3 reader's state stays isolated).
    public static func store<T>(
        _ operation: String, system: String, isolation: isolated (any Actor)? = #isolation,
        _ body: (any Span) async throws -> T
    ) async throws -> T {
        guard ServiceContext.current != nil else { return try await body(NoOpTracer.NoOpSpan(context: .topLevel)) }
        return try await withSpan("store \(name(of: operation))", ofKind: .client, isolation: isolation) { span in
            span.attributes["ferry.store"] = system
            return try await body(span)
        }
    }

    /// `linkState(id:clientKey:now:)` -> `linkState`.
    static func name(of function: String) -> Substring {
        function.prefix { $0 != "(" }
    }
}
