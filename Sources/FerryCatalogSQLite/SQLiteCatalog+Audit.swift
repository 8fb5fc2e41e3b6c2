import FerryCore
import GRDB

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension SQLiteCatalog {
    public func appendAudit(_ events: [AuditEvent]) async throws {
        guard !events.isEmpty else { return }
        let encoded = events.map { event in (event, event.detailJSON) }
        try await write(keepsLookups: true) { db in
            // One prepared statement for the batch, its arguments bound per row: an SQL literal
            // rendered its text and hashed it again for every row.
            let insert = try db.cachedStatement(
                sql: "INSERT INTO audit (at, event, actor, file_id, client_ip, detail) VALUES (?, ?, ?, ?, ?, ?)")
            for (event, detail) in encoded {
                insert.setUncheckedArguments([
                    event.at.timeIntervalSince1970, event.event, event.actor, event.fileID, event.clientIP, detail,
                ])
                try insert.execute()
            }
        }
    }

    public func audit(_ filter: AuditFilter) async throws -> Page<AuditEvent> {
        try await read { db in
            var conditions: [SQL] = []
            if let before = filter.before { conditions.append("seq < \(before)") }
            if let fileID = filter.fileID { conditions.append("file_id = \(fileID)") }
            if let actor = filter.actor { conditions.append("actor = \(actor)") }
            if let event = filter.event { conditions.append("event = \(event)") }
            if let since = filter.since { conditions.append("at >= \(since.timeIntervalSince1970)") }
            let whereClause: SQL = conditions.isEmpty ? "1" : conditions.joined(separator: " AND ")
            let request = SQLRequest<Row>(
                "SELECT * FROM audit WHERE \(whereClause) ORDER BY seq DESC LIMIT \(filter.limit + 1)")
            let rows = try Row.fetchAll(db, request)
            let page = rows.prefix(filter.limit)
            let events = page.map { row in
                let detailText: String = row["detail"]
                let detail =
                    (try? Self.detailDecoder.decode([String: AuditValue].self, from: Data(detailText.utf8))) ?? [:]
                return AuditEvent(
                    at: Date(timeIntervalSince1970: row["at"]), event: row["event"], actor: row["actor"],
                    fileID: row["file_id"], clientIP: row["client_ip"], detail: detail)
            }
            return Page(items: events, next: rows.count > filter.limit ? page.last.map { $0["seq"] } : nil)
        }
    }

    static var detailDecoder: JSONDecoder { JSONDecoder() }
}
