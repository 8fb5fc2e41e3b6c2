import Hummingbird
import NIOCore

/// `ferry-bench hummingbird-minimal PORT`: the smallest Hummingbird 2 application — one route
/// (`GET /healthz`, answering a small JSON like Ferry's), no middleware, no services — on
/// the framework's default event loops. Not a product: scripts/bench measures Ferry's own
/// `/healthz` (the full middleware stack) against it, so the cost of Ferry's middleware is a
/// ratio measured in the same run.
enum HummingbirdMinimal {
    static func serve(port: Int) async throws {
        let router = Router()
        let body = ByteBuffer(string: #"{"status":"ok"}"#)
        router.get("/healthz") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: body))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
