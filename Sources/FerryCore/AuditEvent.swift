#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One row of the audit log. Details never hold secrets: no tokens, passwords, keys or signed URLs.
public struct AuditEvent: Hashable, Sendable {
    /// When it happened.
    public var at: Date
    /// e.g. `upload.completed`, `download.failed`.
    public var event: String
    /// A username, or nil for anonymous requests.
    public var actor: String?
    /// Only events of this file.
    public var fileID: String?
    /// The client address.
    public var clientIP: String?
    /// Event details (`link_id`, `bytes`, `code`, ...).
    public var detail: [String: AuditValue]
    /// Names this one recording of the event, so that a write retried when its outcome was not
    /// known (a catalog call that timed out may still commit) stores it once. Set by the audit
    /// log's writer when it first writes the event; not part of what the log shows (read back, it is nil).
    public var writeKey: UUID?

    /// Creates an event.
    public init(
        at: Date, event: String, actor: String?, fileID: String?, clientIP: String?,
        detail: [String: AuditValue] = [:]
    ) {
        self.at = at
        self.event = event
        self.actor = actor
        self.fileID = fileID
        self.clientIP = clientIP
        self.detail = detail
    }
}

extension AuditEvent {
    /// `detail` as the JSON object the catalogs store, keys sorted. Written by hand because the
    /// detail is a flat map of strings and integers, and Foundation's reflection-driven
    /// JSONEncoder cost more per download than the catalog insert itself in profiles. Reading it
    /// back still goes through JSONDecoder.
    public var detailJSON: String { String(decoding: detailJSONBytes, as: UTF8.self) }

    /// `detailJSON` as UTF-8 bytes, as the catalogs store it (written directly: the audit writer
    /// renders one per row under load).
    public var detailJSONBytes: [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(128)
        for (index, entry) in detail.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendString(entry.key, to: &out)
            out.append(UInt8(ascii: ":"))
            switch entry.value {
            case .string(let value): JSONText.appendString(value, to: &out)
            case .int(let value): out.append(contentsOf: String(value).utf8)
            case .null: out.append(contentsOf: "null".utf8)
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// A detail value: a string, an integer or null.
public enum AuditValue: Hashable, Sendable, Codable {
    case string(String)
    case int(Int64)
    case null

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else {
            self = .string(try c.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .int(let i): try c.encode(i)
        case .null: try c.encodeNil()
        }
    }
}

extension AuditValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    /// A string value from a literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An integer value from a literal.
    public init(integerLiteral value: Int64) { self = .int(value) }
}

/// What `GET /v1/audit` filters on.
public struct AuditFilter: Hashable, Sendable {
    /// Only events of this file.
    public var fileID: String?
    /// Only events of this actor.
    public var actor: String?
    /// Only events of this name.
    public var event: String?
    /// Only events at or after this time.
    public var since: Date?
    /// At most this many.
    public var limit: Int
    /// Return events strictly older than this position (from a previous page).
    public var before: Int64?

    /// Creates a filter.
    public init(
        fileID: String? = nil, actor: String? = nil, event: String? = nil, since: Date? = nil, limit: Int = 100,
        before: Int64? = nil
    ) {
        self.fileID = fileID
        self.actor = actor
        self.event = event
        self.since = since
        self.limit = limit
        self.before = before
    }
}

/// A page of results and the position to continue after.
public struct Page<Item: Sendable>: Sendable {
    /// The items of this page.
    public var items: [Item]
    /// The catalog position of the last item when more may follow.
    public var next: Int64?

    /// Creates a page.
    public init(items: [Item], next: Int64?) {
        self.items = items
        self.next = next
    }
}
