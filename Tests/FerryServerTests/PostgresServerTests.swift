import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Ferry on PostgreSQL when the database goes away and comes back.
@Suite struct PostgresServerTests {
    @Test func databaseDownIs503AndRecoversWithoutRestart() async throws {
        let postgres = try await PrivatePostgres.start()
        do {
            let server = try await TestServer.make([
                "FERRY_DATABASE_URL": postgres.url, "FERRY_DATABASE_TIMEOUT": "2", "FERRY_DATABASE_POOL": "4",
            ])
            try await server.test { client in
                let bytes = TestData.bytes(50_000)
                let file = try await client.uploadFile(bytes, token: server.adminToken)
                #expect(try await client.get("/readyz", token: nil).status == .ok)

                try await postgres.halt()
                let listing = try await client.get("/v1/files", token: server.adminToken)
                #expect(listing.status == .serviceUnavailable)
                #expect(ErrorInfo.code(listing) == "unavailable")
                #expect(listing.headers[.retryAfter] != nil)
                #expect(try await client.get("/readyz", token: nil).status == .serviceUnavailable)
                let upload = try await client.upload(TestData.bytes(10), token: server.adminToken)
                #expect(upload.status == .serviceUnavailable)
                await server.services.audit.record(
                    AuditEvent(
                        at: Date(), event: "test.during_outage", actor: nil, fileID: nil, clientIP: nil, detail: [:]))

                try await postgres.resume()
                // The same server answers again once PostgreSQL is back: nothing was lost.
                try await Eventually.check(timeout: 30) {
                    try await client.get("/readyz", token: nil).status == .ok
                }
                // The pool reconnects one connection at a time: a request that meets a connection
                // still being made is a 503 with Retry-After, which a client retries (bounded here).
                let content = try await Eventually.value(timeout: 30) { () async throws -> TestResponse? in
                    let response = try await client.get("/v1/files/\(file.id)/content", token: server.adminToken)
                    return response.status == .serviceUnavailable ? nil : response
                }
                #expect(content.status == .ok)
                #expect(Array(content.body.readableBytesView) == bytes)
                let events = try await Eventually.value(timeout: 30) {
                    try? await server.auditEvents(AuditFilter(event: "upload.completed", limit: 10))
                }
                #expect(events.items.contains { $0.fileID == file.id })
                // An event recorded during the outage was kept and written once PostgreSQL came back.
                let kept = try await Eventually.value(timeout: 30) {
                    try? await server.auditEvents(AuditFilter(event: "test.during_outage", limit: 10))
                }
                #expect(kept.items.count == 1)
            }
        } catch {
            await postgres.remove()
            throw error
        }
        await postgres.remove()
    }

    /// Once a node knows its catalog is gone, requests answer 503 within about a second (not the
    /// whole FERRY_DATABASE_TIMEOUT each), `/readyz` says the catalog, and the node recovers on its
    /// own when the database is back.
    @Test func onceTheCatalogIsKnownGoneRequestsAnswerFast() async throws {
        let postgres = try await PrivatePostgres.start()
        do {
            let server = try await TestServer.make([
                "FERRY_DATABASE_URL": postgres.url, "FERRY_DATABASE_TIMEOUT": "15", "FERRY_DATABASE_POOL": "4",
            ])
            try await server.test { client in
                let file = try await client.uploadFile(TestData.bytes(10_000), token: server.adminToken)
                try await postgres.halt()
                // The first request finds out (at most the configured 15 s); later ones must not wait that.
                let first = try await client.get("/v1/files", token: server.adminToken)
                #expect(first.status == .serviceUnavailable)
                for path in ["/v1/files", "/readyz", "/v1/files/\(file.id)", "/v1/files/\(file.id)/content"] {
                    let started = ContinuousClock.now
                    let response = try await client.get(path, token: server.adminToken)
                    let took = ContinuousClock.now - started
                    #expect(response.status == .serviceUnavailable, "\(path)")
                    #expect(took < .seconds(5), "\(path) took \(took) with the catalog known to be down")
                    if path == "/readyz" {
                        #expect(String(buffer: response.body).contains("catalog"))
                    }
                }
                try await postgres.resume()
                try await Eventually.check(timeout: 30) {
                    try await client.get("/readyz", token: nil).status == .ok
                }
                let listing = try await Eventually.value(timeout: 30) { () async throws -> TestResponse? in
                    let response = try await client.get("/v1/files", token: server.adminToken)
                    return response.status == .ok ? response : nil
                }
                #expect(String(buffer: listing.body).contains(file.id))
            }
        } catch {
            await postgres.remove()
            throw error
        }
        await postgres.remove()
    }
}
