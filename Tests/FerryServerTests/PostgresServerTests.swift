import FerryAPIModels
import FerryCore
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import Synchronization
import Testing

@testable import FerryCatalogPostgres
@testable import FerryServer

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

    /// A TCP fault proxy between the node and PostgreSQL (`tcp_fault_proxy.py`): every pooled
    /// connection reset at once, then the database host stalling without closing anything. The
    /// node answers 503 meanwhile (fast once it knows), an upload in the stall leaves nothing
    /// visible, `/readyz` names the catalog, and it recovers on its own when the fault ends.
    @Test func connectionsResetAndAStalledDatabaseHost() async throws {
        guard let shared = ProcessInfo.processInfo.environment["FERRY_TEST_POSTGRES_URL"],
            let parsed = URLComponents(string: shared), let upstream = parsed.port
        else { throw TestFailure("FERRY_TEST_POSTGRES_URL is not set: run scripts/test") }
        let (listen, control) = (try FreePort.pick(), try FreePort.pick())
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "tcp_fault_proxy.py")
        let proxy = try ExternalTool.start(
            "python3",
            [
                script.path, "--listen-port", "\(listen)", "--upstream-port", "\(upstream)", "--control-port",
                "\(control)",
            ])
        defer { proxy.kill() }
        @Sendable func fault(_ json: String) async throws {
            let r = try await ExternalTool.run(
                "curl", ["-sf", "-X", "POST", "--data", json, "http://127.0.0.1:\(control)/"], timeout: 10)
            #expect(r.status == 0, "the proxy did not take \(json): \(r.stderr)")
        }
        try await Eventually.check(timeout: 20) {
            (try? await ExternalTool.run("curl", ["-sf", "http://127.0.0.1:\(control)/"], timeout: 5))?.status == 0
        }
        var through = parsed
        through.port = listen
        let schema = "f_" + Identifier.make().lowercased().filter { $0.isLetter || $0.isNumber }.prefix(16)
        let url = (through.string ?? "") + "&schema=\(schema)"
        let server = try await TestServer.make([
            "FERRY_DATABASE_URL": url, "FERRY_DATABASE_TIMEOUT": "20", "FERRY_DATABASE_POOL": "4",
        ])
        try await server.test { client in
            let bytes = TestData.bytes(20_000, seed: 95)
            let file = try await client.uploadFile(bytes, token: server.adminToken)

            // Every connection reset: the pool reconnects; at worst a request or two is a 503.
            try await fault(#"{"reset": 1}"#)
            let afterReset = try await Eventually.value(timeout: 30) { () async throws -> TestResponse? in
                let response = try await client.get("/v1/files/\(file.id)/content", token: server.adminToken)
                return response.status == .serviceUnavailable ? nil : response
            }
            #expect(afterReset.status == .ok)
            #expect(Array(afterReset.body.readableBytesView) == bytes)

            // The database host stalls: 503s, then fast ones; an upload meanwhile is not kept.
            try await fault(#"{"mode": "stall"}"#)
            do {
                try await Self.duringStall(client, server: server)
            } catch {
                try? await fault(#"{"mode": "pass"}"#)  // or closing the pool would wait on it
                throw error
            }
            try await fault(#"{"mode": "pass"}"#)
            let listing = try await Eventually.value(timeout: 30) { () async throws -> TestResponse? in
                let response = try await client.get("/v1/files", token: server.adminToken)
                return response.status == .ok ? response : nil
            }
            let text = String(buffer: listing.body)
            #expect(text.contains(file.id))
            #expect(!text.contains("during-stall.bin"), "an upload refused in the stall is not visible")
            #expect(try await client.get("/readyz", token: nil).status == .ok)
            #expect(server.blobFiles().count == 1, "no blob left by the refused upload: \(server.blobFiles())")
        }
    }

    /// A write that outlives its per-call timeout may commit all the same, and the audit log
    /// keeps the batch and writes it again: each event must be stored once (it was stored twice,
    /// seen once in a loaded run). Here the audit table is locked while the log writes, so the
    /// write times out waiting; the lock is released, that first write commits, and the kept
    /// batch is written again.
    @Test func anAuditWriteRetriedAfterATimeoutStoresEachEventOnce() async throws {
        guard let url = ProcessInfo.processInfo.environment["FERRY_TEST_POSTGRES_URL"] else {
            throw TestFailure("FERRY_TEST_POSTGRES_URL is not set: run scripts/test")
        }
        let schema = "a_" + Identifier.make().lowercased().filter { $0.isLetter || $0.isNumber }.prefix(16)
        func catalog(timeout: Duration) throws -> PostgresCatalog {
            let configuration = try PostgresCatalogConfiguration(
                url: url, maximumConnections: 2, connectTimeout: .seconds(15), queryTimeout: timeout,
                schema: String(schema))
            return PostgresCatalog(configuration: configuration, logger: Logger(label: "pg-test"))
        }
        let (writer, holder) = (try catalog(timeout: .seconds(1)), try catalog(timeout: .seconds(60)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await writer.run() }
            group.addTask { try await holder.run() }
            do {
                try await holder.migrate()
                let filter = AuditFilter(event: "test.retried", limit: 10)
                let audit = AuditLog(catalog: writer, logger: Logger(label: "audit-test"))
                let (locked, lockTaken) = AsyncStream<Void>.makeStream()
                let (release, releaseLock) = AsyncStream<Void>.makeStream()
                let holding = Task {
                    try await holder.transaction { connection in
                        try await holder.rows("LOCK TABLE audit IN EXCLUSIVE MODE", on: connection)
                        lockTaken.finish()
                        for await _ in release {}
                    }
                }
                for await _ in locked {}
                for name in ["a", "b", "c"] {
                    await audit.record(
                        AuditEvent(at: Date(), event: "test.retried", actor: name, fileID: nil, clientIP: nil))
                }
                // The write waits on the lock past its 1 s timeout: the log keeps the batch.
                await audit.flush()
                #expect(audit.state.withLock { $0.pending.count } == 3)
                releaseLock.finish()
                try await holding.value
                // The first write, no longer waiting, commits.
                try await Eventually.check(timeout: 30) {
                    (try? await holder.audit(filter))?.items.count == 3
                }
                // The kept batch is written again, and nothing is stored twice.
                await audit.flush()
                #expect(audit.state.withLock { $0.pending.isEmpty })
                let stored = try await holder.audit(filter).items
                #expect(stored.map { $0.actor ?? "" }.sorted() == ["a", "b", "c"])
                try? await holder.dropSchema()
            } catch {
                try? await holder.dropSchema()
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    static func duringStall(_ client: any TestClientProtocol, server: TestServer) async throws {
        let stalled = try await client.get("/v1/files", token: server.adminToken)
        #expect(stalled.status == .serviceUnavailable)
        let started = ContinuousClock.now
        let ready = try await client.get("/readyz", token: nil)
        #expect(ready.status == .serviceUnavailable)
        #expect(String(buffer: ready.body).contains("catalog"))
        // Far less than the 20 s database timeout: the node knew the catalog was gone.
        #expect(ContinuousClock.now - started < .seconds(8), "the node knew the catalog was gone")
        let upload = try await client.upload(
            TestData.bytes(5_000), name: "during-stall.bin", token: server.adminToken)
        #expect(upload.status == .serviceUnavailable)
    }
}
