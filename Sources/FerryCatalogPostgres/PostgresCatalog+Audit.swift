import FerryCore
import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension PostgresCatalog {
    /// Appends a batch in one statement (arrays unnested), keeping the batch's order. Absent actor,
    /// file and address travel as empty strings (arrays of text cannot hold NULL here) and are stored as NULL.
    /// An event whose `writeKey` is already stored is skipped: a batch written again because the
    /// call timed out (its first write may have committed all the same) stores each event once.
    /// An event without a key gets a fresh one (it is not deduplicated).
    public func appendAudit(_ events: [AuditEvent]) async throws {
        guard !events.isEmpty else { return }
        let keys: [UUID] = events.map { $0.writeKey ?? UUID() }
        let insert = AuditInsert(
            at: events.map(\.at.timeIntervalSince1970), event: events.map(\.event),
            actor: events.map { $0.actor ?? "" }, fileID: events.map { $0.fileID ?? "" },
            clientIP: events.map { $0.clientIP ?? "" }, detail: events.map(\.detailJSON), writeKey: keys)
        try await self.rows(insert)
    }

    public func audit(_ filter: AuditFilter) async throws -> Page<AuditEvent> {
        let found = try await self.rows(
            """
            SELECT * FROM audit
            WHERE (\(filter.before)::BIGINT IS NULL OR seq < \(filter.before)::BIGINT)
              AND (\(filter.fileID)::TEXT IS NULL OR file_id = \(filter.fileID)::TEXT)
              AND (\(filter.actor)::TEXT IS NULL OR actor = \(filter.actor)::TEXT)
              AND (\(filter.event)::TEXT IS NULL OR event = \(filter.event)::TEXT)
              AND (\(filter.since?.timeIntervalSince1970)::DOUBLE PRECISION IS NULL
                   OR at >= \(filter.since?.timeIntervalSince1970)::DOUBLE PRECISION)
            ORDER BY seq DESC LIMIT \(filter.limit + 1)
            """)
        let page = found.prefix(filter.limit)
        let events = try page.map { row in
            let text = try row["detail"].decode(String.self)
            let detail = (try? JSONDecoder().decode([String: AuditValue].self, from: Data(text.utf8))) ?? [:]
            return AuditEvent(
                at: try Self.date(row["at"]), event: try row["event"].decode(String.self),
                actor: try row["actor"].decode(String?.self), fileID: try row["file_id"].decode(String?.self),
                clientIP: try row["client_ip"].decode(String?.self), detail: detail)
        }
        return Page(items: events, next: found.count > filter.limit ? try page.last?["seq"].decode(Int64.self) : nil)
    }
}
