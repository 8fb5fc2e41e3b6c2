import FerryCore

/// One audit event (`GET /v1/audit`).
public struct APIAuditEvent: Codable, Sendable, Equatable {
    /// When it happened.
    public var at: String
    /// The event name, e.g. `link.issued`.
    public var event: String
    /// Who acted (username); nil for the system.
    @Nullable public var actor: String?
    /// The file it concerns.
    @Nullable public var fileID: String?
    /// The client address.
    @Nullable public var clientIP: String?
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

}

/// A page of audit events, newest first.
public struct APIAuditList: Codable, Sendable {
    /// The events, newest first.
    public var events: [APIAuditEvent]
    /// The cursor of the next page; nil on the last.
    @Nullable public var nextCursor: String?

    /// Creates a page.
    public init(events: [APIAuditEvent], nextCursor: String?) {
        self.events = events
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case events
        case nextCursor = "next_cursor"
    }

}
