import FerryCatalogSQLite
import FerryCore
import Foundation

/// Audit rows per second into a fresh SQLite catalog, through `appendAudit` in batches of 40 (about
/// what the audit writer commits at once under a `/t/` load), bounded in rows and time. The
/// reference in scripts/bench is Python's sqlite3 module writing the same rows to the same schema.
enum AuditInsert {
    static func run(directory: String) async throws {
        let catalog = try SQLiteCatalog(configuration: .init(path: directory + "/audit-bench.sqlite"))
        let batch = (0..<40).map { i in
            AuditEvent(
                at: Date(), event: i % 2 == 0 ? "download.started" : "download.completed", actor: "admin",
                fileID: "Hq3kZ0p4sS1oq9rTzXw8aA", clientIP: "127.0.0.1",
                detail: ["bytes": .int(4096), "link_id": .string("Zq3kZ0p4sS1oq9rTzXw8aA"), "via": "link"])
        }
        let start = DispatchTime.now().uptimeNanoseconds
        var rows = 0
        var seconds = 0.0
        while rows < 400_000, seconds < 5 {
            try await catalog.appendAudit(batch)
            rows += batch.count
            seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        try catalog.close()
        print("{\"audit_rows_per_second\": \(Int(Double(rows) / seconds))}")
    }
}
