import FerryCore
import GRDB
import GRDBSQLite

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension SQLiteCatalog {
    public func appendAudit(_ events: [AuditEvent]) async throws {
        guard !events.isEmpty else { return }
        let encoded = events.map { event in (event, event.detailJSONBytes) }
        try await write(keepsLookups: true) { db in
            // One prepared statement for the batch, its values bound per row (`bind`).
            let insert = try db.cachedStatement(
                sql: "INSERT INTO audit (at, event, actor, file_id, client_ip, detail) VALUES (?, ?, ?, ?, ?, ?)")
            for (event, detail) in encoded { try Self.insert(event, detail: detail, with: insert, in: db) }
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

    /// Binds one event's values straight to SQLite's statement and runs it. Written by hand:
    /// GRDB's `StatementArguments` boxes each row's values in an array of existentials, about a
    /// tenth of the audit writer's time (`ferry-bench audit-insert`, BENCHMARKS.md).
    static func insert(_ event: AuditEvent, detail: [UInt8], with statement: Statement, in db: Database) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        sqlite3_bind_double(handle, 1, event.at.timeIntervalSince1970)
        bind(event.event, at: 2, of: handle)
        bind(event.actor, at: 3, of: handle)
        bind(event.fileID, at: 4, of: handle)
        bind(event.clientIP, at: 5, of: handle)
        detail.withUnsafeBytes { bind($0, at: 6, of: handle) }
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// Binds UTF-8 text (NULL for nil); SQLite copies the bytes before returning (SQLITE_TRANSIENT).
    static func bind(_ text: String?, at index: Int32, of handle: SQLiteStatement) {
        guard var text else {
            sqlite3_bind_null(handle, index)
            return
        }
        text.withUTF8 { bind(UnsafeRawBufferPointer($0), at: index, of: handle) }
    }

    static func bind(_ bytes: UnsafeRawBufferPointer, at index: Int32, of handle: SQLiteStatement) {
        // A zero-length text still needs a non-null pointer, or SQLite binds NULL.
        let empty: StaticString = ""
        let start = (bytes.baseAddress ?? UnsafeRawPointer(empty.utf8Start)).assumingMemoryBound(to: CChar.self)
        sqlite3_bind_text(handle, index, start, Int32(bytes.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
    }

    static var detailDecoder: JSONDecoder { JSONDecoder() }
}
