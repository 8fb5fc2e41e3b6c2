import FerryCore

/// One audit event (`GET /v1/audit`).
public struct APIAuditEvent: Codable, Sendable, Equatable {
    /// When it happened.
    public var at: String
    /// The event name, e.g. `link.issued`.
    public var event: String
    /// Who acted (username); nil for the system.
    public var actor: String?
    /// The file it concerns.
    public var fileID: String?
    /// The client address.
    public var clientIP: String?
    /// Event details (`link_id`, `bytes`, `code`, ...).
    public var detail: [String: AuditValue]

    /// Creates an event.
    public init(
        at: String, event: String, actor: String?, fileID: String?, clientIP: String?, detail: [String: AuditValue]
    ) {
        self.at = at
        self.event = event
        self.actor = actor
        self.fileID = fileID
        self.clientIP = clientIP
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case at, event, actor, detail
        case fileID = "file_id"
        case clientIP = "client_ip"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(at, forKey: .at)
        try c.encode(event, forKey: .event)
        try c.encode(actor, forKey: .actor)
        try c.encode(fileID, forKey: .fileID)
        try c.encode(clientIP, forKey: .clientIP)
        try c.encode(detail, forKey: .detail)
    }
}

/// A page of audit events, newest first.
public struct APIAuditList: Codable, Sendable {
    /// The events, newest first.
    public var events: [APIAuditEvent]
    /// The cursor of the next page; nil on the last.
    public var nextCursor: String?

    /// Creates a page.
    public init(events: [APIAuditEvent], nextCursor: String?) {
        self.events = events
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case events
        case nextCursor = "next_cursor"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(events, forKey: .events)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}
