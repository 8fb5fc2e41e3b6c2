import FerryAPIModels
import FerryBuildInfo
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The OpenAPI 3.1 description of the HTTP API (`openapi.yaml`, embedded as JSON by
/// `scripts/embed-openapi`), served at `GET /openapi.json`.
enum OpenAPIDocument {
    /// The JSON bytes, decoded once.
    static let json = ByteBuffer(bytes: Data(base64Encoded: base64) ?? Data())
    /// A strong entity tag of the document.
    static let etag = "\"" + sourceSHA256.prefix(32) + "\""
}

/// `/healthz`, `/readyz`, `/metrics`, `/openapi.json` and the audit log.
struct OperationsController: Sendable {
    typealias Context = FerryRequestContext

    let services: FerryServices
    /// What `/readyz` last found, so the log tells each change once, not every probe.
    let readiness = ReadinessLog()

    func addRoutes(to router: Router<Context>) {
        // The same answer every time: encoded once (a liveness probe may come many times a second).
        let healthz = try? JSONBody.response(["status": "ok", "version": FerryVersion.description])
        router.get("/healthz") { _, _ in
            guard let healthz else { throw FerryError(.internalError, "The health answer could not be encoded.") }
            return healthz
        }
        router.get("/readyz", use: ready)
        router.get("/v1/audit", use: audit)
        router.get("/metrics", use: metrics)
        router.get("/openapi.json") { request, _ in
            var headers: HTTPFields = [.eTag: OpenAPIDocument.etag, .cacheControl: "no-cache"]
            if request.headers[.ifNoneMatch] == OpenAPIDocument.etag {
                return Response(status: .notModified, headers: headers)
            }
            headers[.contentType] = "application/json"
            headers[.contentLength] = String(OpenAPIDocument.json.readableBytes)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: OpenAPIDocument.json))
        }
    }

    @Sendable func ready(_ request: Request, context: Context) async throws -> Response {
        var problems: [String] = []
        var causes: [String] = []
        for (name, check) in [("catalog", services.catalog.ping), ("storage", services.store.ping)] {
            do {
                try await check()
            } catch {
                problems.append(name)
                causes.append("\(name): \(error)")
            }
        }
        readiness.report(problems, causes: causes, logger: services.logger)
        guard problems.isEmpty else {
            throw FerryError(
                .unavailable,
                "Not ready: the \(problems.joined(separator: " and ")) failed its check (the server log says why).",
                retryAfter: 5)
        }
        var response = try JSONBody.response(["status": "ready"])
        // `ferry doctor`'s deployment probe: proves this node holds the doctor's signing key.
        if let nonce = request.uri.queryParameters.get("probe"), (16...128).contains(nonce.utf8.count),
            nonce.utf8.allSatisfy(Base64URL.isAlphabetCharacter)
        {
            response.headers[Self.probeHeader] = services.keyring.deploymentProof(nonce: nonce)
        }
        return response
    }

    /// The header answering `/readyz?probe=` (README "Checking a deployment").
    static let probeHeader = HTTPField.Name("Ferry-Probe")!

    @Sendable func metrics(_ request: Request, context: Context) async throws -> Response {
        if let expected = services.configuration.metricsToken {
            let presented = request.headers[.authorization] ?? ""
            // Constant time: compare digests, not the strings.
            guard Identifier.hash(presented) == Identifier.hash("Bearer \(expected)") else {
                throw FerryError(.unauthenticated, "/metrics needs Authorization: Bearer <FERRY_METRICS_TOKEN>.")
            }
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: services.metrics.render())))
    }

    @Sendable func audit(_ request: Request, context: Context) async throws -> APIAuditList {
        _ = try context.requireAdmin()
        let query = request.formQuery
        var since: Date?
        if let text = query.get("since") {
            guard let date = HTTPDate.parseRFC3339(text) else {
                throw FerryError(.badRequest, "since must be an RFC 3339 time like 2026-11-22T18:00:00Z.")
            }
            since = date
        }
        let filter = AuditFilter(
            fileID: query.get("file_id"), actor: query.get("actor"), event: query.get("event"), since: since,
            limit: try Cursor.limit(query.get("limit")), before: try Cursor.decode(query.get("cursor")))
        // Read your writes: what this node recorded is in the catalog before it is listed.
        await services.audit.flush()
        let page = try await services.catalog.audit(filter)
        return APIAuditList(events: page.items.map(APIAuditEvent.init), nextCursor: Cursor.encode(page.next))
    }
}

/// The parts `/readyz` found failing, logged when they change (with why) and when all pass again:
/// the probe's answer names only the parts, the log the cause (NoSuchBucket, a refused connection).
final class ReadinessLog: Sendable {
    private let failing = Mutex<[String]>([])

    func report(_ parts: [String], causes: [String], logger: Logger) {
        let before = failing.withLock { failing in
            defer { failing = parts }
            return failing
        }
        guard parts != before else { return }
        if parts.isEmpty {
            logger.info("ready again", metadata: ["was_failing": "\(before.joined(separator: ","))"])
        } else {
            logger.error("not ready", metadata: ["failing": "\(causes.joined(separator: "; "))"])
        }
    }
}
