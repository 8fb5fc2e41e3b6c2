import FerryCatalogSQLite
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import Logging
import Testing

/// The audit queue: a request never waits on the catalog's commit, and `flush` still means
/// "everything recorded is written". The slow commit is real: another process holds SQLite's
/// write lock (`BEGIN IMMEDIATE`), as a long transaction or a backup would. The busy timeout is
/// 2 s, so a write that meets the lock gives up soon and `flush` retries it.
@Suite struct AuditLogTests {
    static func event(_ name: String) -> AuditEvent {
        AuditEvent(at: Date(), event: name, actor: "alice", fileID: nil, clientIP: "127.0.0.1", detail: [:])
    }

    @Test func recordReturnsWhileTheCommitWaitsAndFlushWaitsForIt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.appending("ferry.sqlite")
        let catalog = try SQLiteCatalog(configuration: .init(path: path, busyTimeout: 2))
        let log = AuditLog(catalog: catalog, logger: Logger(label: "audit-test"))

        let hold = directory.appending("hold")
        let locked = directory.appending("locked")
        FileManager.default.createFile(atPath: hold, contents: nil)
        let script = """
            import os, sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1], isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            open(sys.argv[3], "w").close()
            deadline = time.time() + 60
            while os.path.exists(sys.argv[2]) and time.time() < deadline:
                time.sleep(0.01)
            db.execute("COMMIT")
            """
        let holder = try ExternalTool.start("python3", ["-c", script, path, hold, locked])
        try await Eventually.check(timeout: 30) { FileManager.default.fileExists(atPath: locked) }

        // Every record returns although no write can commit (the lock is released only after).
        // The catalog is not read while the lock is held: SQLite reads run on the calling thread.
        let recorded = Task { for n in 0..<50 { await log.record(Self.event("test.queued.\(n)")) } }
        #expect(await Bounded.wait(for: recorded, seconds: 10), "record waited for the commit")
        #expect(FileManager.default.fileExists(atPath: hold), "the lock was held throughout")

        // flush waits for the writer, which commits once the lock is released.
        let flushed = Task { await log.flush() }
        try FileManager.default.removeItem(atPath: hold)
        #expect(await Bounded.wait(for: flushed, seconds: 30), "flush did not return after the lock was released")
        _ = await holder.wait(timeout: 30)
        let written = try await catalog.audit(AuditFilter(limit: 100)).items.map(\.event)
        #expect(Set(written) == Set((0..<50).map { "test.queued.\($0)" }))
        try catalog.close()
    }
}
