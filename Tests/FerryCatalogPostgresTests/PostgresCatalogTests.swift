import FerryCore
import FerryTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

@testable import FerryCatalogPostgres

/// The Catalog contract and PostgreSQL's own duties, against the real PostgreSQL `scripts/test`
/// starts; each test in a schema of its own. A missing server is a failure, never a skip.
@Suite struct PostgresCatalogTests {
    static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["FERRY_TEST_POSTGRES_URL"] else {
            throw TestServiceMissing("FERRY_TEST_POSTGRES_URL is not set: run scripts/test (it starts PostgreSQL)")
        }
        return url
    }

    static func newSchema() -> String {
        "t_" + Identifier.make().lowercased().filter { $0.isLetter || $0.isNumber }
    }

    /// Runs `body` with catalogs (running, migrated) on one fresh schema, then drops the schema.
    static func withCatalogs(
        _ count: Int = 1, url: String? = nil, migrate: Bool = true, timeout: Duration = .seconds(20),
        _ body: @Sendable ([PostgresCatalog]) async throws -> Void
    ) async throws {
        let configuration = try PostgresCatalogConfiguration(
            url: try url ?? Self.url(), maximumConnections: 8, connectTimeout: .seconds(15), queryTimeout: timeout,
            schema: newSchema())
        let catalogs = (0..<count).map { _ in
            PostgresCatalog(configuration: configuration, logger: Logger(label: "pg-test"))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for catalog in catalogs { group.addTask { try await catalog.run() } }
            do {
                if migrate { try await catalogs[0].migrate() }
                try await body(catalogs)
                try? await catalogs[0].dropSchema()
            } catch {
                try? await catalogs[0].dropSchema()
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    @Test(arguments: CatalogContract.names)
    func contract(_ name: String) async throws {
        try await Self.withCatalogs { catalogs in try await CatalogContract.checks[name]!(catalogs[0]) }
    }

    /// Starting is not a request: migrations are not held to the per-call timeout (a node that
    /// starts while PostgreSQL is slow must still start), while a request still is.
    @Test func migrationsAtStartAreNotHeldToThePerCallTimeout() async throws {
        try await Self.withCatalogs(migrate: false, timeout: .nanoseconds(1)) { catalogs in
            let applied = try await catalogs[0].migrate()
            #expect(applied == PostgresCatalog.migrations.map(\.version))
        }
    }

    @Test func nodesStartingTogetherMigrateOnce() async throws {
        try await Self.withCatalogs(4, migrate: false) { catalogs in
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for catalog in catalogs { group.addTask { try await catalog.migrate() } }
                var all: [[Int]] = []
                for try await versions in group { all.append(versions) }
                return all
            }
            #expect(applied.flatMap { $0 }.sorted() == PostgresCatalog.migrations.map(\.version))
            #expect(try await catalogs[0].migrate().isEmpty)
            #expect(try await catalogs[3].userCount() == 0)
        }
    }

    @Test func racesAcrossNodesTakeExactlyOne() async throws {
        try await Self.withCatalogs(2) { catalogs in
            let ann = UserRecord(
                id: Identifier.make(), username: "ann", role: .member, passwordHash: nil, disabled: false,
                createdAt: Date())
            try await catalogs[0].createUser(ann)
            let file = FileRecord(
                id: Identifier.make(), name: "a", size: 1, contentType: "text/plain", sha256: "x", version: 1,
                ownerID: ann.id, ownerName: "ann", createdAt: Date(), updatedAt: Date(), blobKey: "k", blockSHA256: [])
            try await catalogs[0].insertFile(file)
            for round in 0..<100 {
                let link = LinkRecord(
                    id: Identifier.make(), fileID: file.id, fileVersion: 1, issuerID: ann.id, issuerName: "ann",
                    createdAt: Date(), expiresAt: Date().addingTimeInterval(60), strategy: "server", maxDownloads: 1,
                    bindIP: nil, disposition: .attachment, filename: nil, revokedAt: nil)
                try await catalogs[round % 2].insertLink(link)
                async let a = catalogs[0].takeDownload(linkID: link.id, clientKey: "A", max: 1, now: Date())
                async let b = catalogs[1].takeDownload(linkID: link.id, clientKey: "B", max: 1, now: Date())
                let (wonA, wonB) = try await (a, b)
                #expect(wonA != wonB, "round \(round): A \(wonA), B \(wonB)")
            }
        }
    }

    /// The per-request statements are prepared once per connection. A newer node adding a column
    /// while this one runs must not break them (a cached plan of `SELECT f.*` would fail with
    /// "cached plan must not change result type").
    @Test func preparedStatementsSurviveAColumnAddedByANewerNode() async throws {
        try await Self.withCatalogs(2) { catalogs in
            let (old, newer) = (catalogs[0], catalogs[1])
            let ann = UserRecord(
                id: Identifier.make(), username: "ann", role: .member, passwordHash: nil, disabled: false,
                createdAt: Date())
            try await old.createUser(ann)
            let file = FileRecord(
                id: Identifier.make(), name: "a", size: 1, contentType: "text/plain", sha256: "x", version: 1,
                ownerID: ann.id, ownerName: "ann", createdAt: Date(), updatedAt: Date(), blobKey: "k", blockSHA256: [])
            try await old.insertFile(file)
            let link = LinkRecord(
                id: Identifier.make(), fileID: file.id, fileVersion: 1, issuerID: ann.id, issuerName: "ann",
                createdAt: Date(), expiresAt: Date().addingTimeInterval(60), strategy: "server", maxDownloads: nil,
                bindIP: nil, disposition: .attachment, filename: nil, revokedAt: nil)
            try await old.insertLink(link)
            // Every connection of the pool prepares the statements (8 at once).
            func readAll() async throws {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<8 {
                        group.addTask {
                            let state = try await old.linkState(id: link.id, clientKey: "c", now: Date())
                            #expect(state?.file?.id == file.id)
                            #expect(try await old.file(id: file.id, grantFor: ann.id, now: Date())?.0.name == "a")
                        }
                    }
                    try await group.waitForAll()
                }
            }
            try await readAll()
            _ = try await newer.rows(PostgresQuery(unsafeSQL: "ALTER TABLE files ADD COLUMN note TEXT"))
            _ = try await newer.rows(PostgresQuery(unsafeSQL: "ALTER TABLE links ADD COLUMN note TEXT"))
            try await readAll()
        }
    }

    /// Two nodes share one sign-in limit: guesses spread over both, in parallel, get `limit` tries.
    /// (The guesses queue on one advisory lock: the last waits for all 19 others, which on a
    /// machine busy with the whole test run outlasted the usual 20 s per call.)
    @Test func nodesShareTheSignInLimit() async throws {
        try await Self.withCatalogs(2, timeout: .seconds(90)) { catalogs in
            let now = Date()
            let allowed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        try await catalogs[i % 2].takeLoginAttempt(
                            key: "admin|203.0.113.9", at: now, windowStart: now.addingTimeInterval(-60), limit: 5)
                            == nil
                    }
                }
                var count = 0
                for try await ok in group where ok { count += 1 }
                return count
            }
            #expect(allowed == 5)
        }
    }

    @Test func unreachableDatabaseIsUnavailableWithoutThePassword() async throws {
        let port = try FreePort.pick()
        let url = "postgres://ferry:hunter2-secret@127.0.0.1:\(port)/ferry?sslmode=disable"
        try await Self.withCatalogs(url: url, migrate: false, timeout: .seconds(3)) { catalogs in
            do {
                try await catalogs[0].ping()
                Issue.record("ping of a closed port succeeded")
            } catch let error as FerryError {
                #expect(error.code == .unavailable)
                #expect(!"\(error)".contains("hunter2"))
                #expect(!"\(error.underlying.map { "\($0)" } ?? "")".contains("hunter2"))
            }
        }
    }

    @Test func urlsAreParsedAndBadOnesNamed() throws {
        let c = try PostgresCatalogConfiguration(url: "postgres://u%40x:p%2Fw@db.example:6543/ferry?sslmode=require")
        #expect(c.username == "u@x")
        #expect(c.password == "p/w")
        #expect(c.host == "db.example" && c.port == 6543 && c.database == "ferry" && c.tlsMode == "require")
        for bad in ["mysql://u@h/db", "postgres://h/db", "postgres://u:p@h/db?sslmode=maybe"] {
            do {
                _ = try PostgresCatalogConfiguration(url: bad)
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.variable == "FERRY_DATABASE_URL")
                #expect(!error.description.contains(":p@"))
            }
        }
        #expect(throws: ConfigurationError.self) {
            try PostgresCatalogConfiguration(url: "postgres://u@h/d", schema: "x;drop")
        }
    }
}

struct TestServiceMissing: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
