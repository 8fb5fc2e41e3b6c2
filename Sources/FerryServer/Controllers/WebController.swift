import FerryAPIModels
import FerryCore
import FerryStorageS3
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The web app's files, embedded in the binary (`scripts/embed-web` generates the table from Web/).
enum WebAssets {
    struct Asset: Sendable {
        let type: String
        let etag: String
        let bytes: ByteBuffer
    }

    /// Decoded once at start.
    static let decoded: [String: Asset] = files.reduce(into: [:]) { out, entry in
        let bytes = Data(base64Encoded: entry.value.base64) ?? Data()
        out[entry.key] = Asset(type: entry.value.type, etag: entry.value.etag, bytes: ByteBuffer(bytes: bytes))
    }
}

/// Serves the web app: one HTML shell for every page, the scripts and styles under `/assets/`,
/// with strong ETags, a strict Content-Security-Policy (no inline script), no framing and no
/// Referer (links carry secrets). Also `GET /v1/limits`, what the upload page explains first.
struct WebController: Sendable {
    typealias Context = FerryRequestContext

    let services: FerryServices

    /// Pages of the app; each is the same shell, which routes on the path.
    static let pages = [
        "/", "/login", "/upload", "/files/{id}", "/bundles/{id}", "/admin/users", "/admin/tokens", "/admin/audit",
    ]

    func addRoutes(to router: Router<Context>) {
        for page in Self.pages {
            router.get(RouterPath(page)) { request, _ in try self.asset("app.html", request: request) }
        }
        router.get("/assets/**") { request, context in
            let name = context.parameters.getCatchAll().joined(separator: "/")
            return try self.asset(name, request: request)
        }
        router.get("/favicon.ico") { request, _ in try self.asset("favicon.svg", request: request) }
        // Crawlers stay out: nothing here is for an index, and a limited link must not lose a download.
        router.get("/robots.txt") { request, _ in try self.asset("robots.txt", request: request) }
        router.get("/v1/limits", use: limits)
    }

    @Sendable func limits(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requirePrincipal()
        let configuration = services.configuration
        return try JSONBody.response(
            APILimits(
                maxUploadBytes: configuration.maxUploadBytes, allowedTypes: configuration.allowedTypes,
                proxyMaxBytes: configuration.proxyMaxBytes, linkTTL: configuration.linkTTL,
                linkTTLMax: configuration.linkTTLMax, blockSize: FileRecord.blockSize))
    }

    func asset(_ name: String, request: Request) throws -> Response {
        guard let asset = WebAssets.decoded[name] else { throw FerryError(.notFound, "No such page.") }
        var headers = Self.securityHeaders(connectSources: services.configuration.webConnectSources)
        headers[.eTag] = asset.etag
        headers[.cacheControl] = "no-cache"
        if let match = request.headers[.ifNoneMatch],
            match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == asset.etag })
        {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.type
        headers[.contentLength] = String(asset.bytes.readableBytes)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.bytes))
    }

    static func securityHeaders(connectSources: [String]) -> HTTPFields {
        let connect = (["'self'"] + connectSources).joined(separator: " ")
        return [
            .contentSecurityPolicy:
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                + "connect-src \(connect); worker-src 'self'; form-action 'self'; base-uri 'none'; "
                + "frame-ancestors 'none'",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
        ]
    }
}

extension FerryConfiguration {
    /// Origins the download manager fetches from besides Ferry itself: the S3 public endpoint
    /// (storage links) and the CloudFront domain (CDN links).
    var webConnectSources: [String] {
        var sources: [String] = []
        if case .s3(let settings) = storage {
            // The endpoint presigned URLs name (AWS's regional one unless configured).
            let origin = settings.publicEndpoint.description
            sources.append(settings.pathStyle ? origin : origin.replacingOccurrences(of: "://", with: "://*."))
        }
        if let cloudFront { sources.append("https://\(cloudFront.domain)") }
        return sources
    }
}
