import FerryCore
import Foundation
import Hummingbird
import Logging

/// A file as the API shows it (API.md "Files").
struct FileJSON: ResponseEncodable, Decodable, Sendable {
    var id: String
    var name: String
    var size: Int64
    var contentType: String
    var sha256: String
    var etag: String
    var version: Int
    var owner: String
    var createdAt: String
    var updatedAt: String

    enum CodingKeys: String, CodingKey {
        case id, name, size, sha256, etag, version, owner
        case contentType = "content_type"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    init(_ file: FileRecord) {
        id = file.id
        name = file.name
        size = file.size
        contentType = file.contentType
        sha256 = file.sha256
        etag = file.etag.description
        version = file.version
        owner = file.ownerName
        createdAt = HTTPDate.rfc3339(file.createdAt)
        updatedAt = HTTPDate.rfc3339(file.updatedAt)
    }
}

struct FileListJSON: ResponseEncodable, Sendable {
    var files: [FileJSON]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case files
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(files, forKey: .files)
        try c.encode(nextCursor, forKey: .nextCursor)  // null, not absent
    }
}

struct UserJSON: ResponseEncodable, Sendable {
    var id: String
    var username: String
    var role: String
    var disabled: Bool
    var createdAt: String

    enum CodingKeys: String, CodingKey {
        case id, username, role, disabled
        case createdAt = "created_at"
    }

    init(_ user: UserRecord) {
        id = user.id
        username = user.username
        role = user.role.rawValue
        disabled = user.disabled
        createdAt = HTTPDate.rfc3339(user.createdAt)
    }
}

struct TokenJSON: ResponseEncodable, Sendable {
    var id: String
    var name: String?
    var createdAt: String
    /// Present only in the creation response.
    var token: String?

    enum CodingKeys: String, CodingKey {
        case id, name, token
        case createdAt = "created_at"
    }
}

struct GrantJSON: ResponseEncodable, Sendable {
    var fileID: String
    var username: String
    var expiresAt: String?

    enum CodingKeys: String, CodingKey {
        case username
        case fileID = "file_id"
        case expiresAt = "expires_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(fileID, forKey: .fileID)
        try c.encode(username, forKey: .username)
        try c.encode(expiresAt, forKey: .expiresAt)
    }
}

struct AuditEventJSON: Encodable, Sendable {
    var at: String
    var event: String
    var actor: String?
    var fileID: String?
    var clientIP: String?
    var detail: [String: AuditValue]

    enum CodingKeys: String, CodingKey {
        case at, event, actor, detail
        case fileID = "file_id"
        case clientIP = "client_ip"
    }

    init(_ event: AuditEvent) {
        at = HTTPDate.rfc3339(event.at)
        self.event = event.event
        actor = event.actor
        fileID = event.fileID
        clientIP = event.clientIP
        detail = event.detail
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(at, forKey: .at)
        try c.encode(event, forKey: .event)
        try c.encode(actor, forKey: .actor)
        try c.encode(fileID, forKey: .fileID)
        try c.encode(clientIP, forKey: .clientIP)
        try c.encode(detail, forKey: .detail)
    }
}

struct AuditListJSON: ResponseEncodable, Sendable {
    var events: [AuditEventJSON]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case events
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(events, forKey: .events)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}

/// Opaque pagination cursors: base64url of the catalog position.
enum Cursor {
    static func encode(_ position: Int64?) -> String? {
        position.map { Base64URL.encode(Array("p\($0)".utf8)) }
    }

    static func decode(_ text: String?) throws(FerryError) -> Int64? {
        guard let text else { return nil }
        guard let bytes = Base64URL.decode(text), let string = String(validating: bytes, as: UTF8.self),
            string.hasPrefix("p"), let position = Int64(string.dropFirst())
        else {
            throw FerryError(.badRequest, "The cursor is not one this server handed out; start again without it.")
        }
        return position
    }

    static func limit(_ text: String?, default value: Int = 100, max: Int = 1000) throws(FerryError) -> Int {
        guard let text else { return value }
        guard let limit = Int(text), (1...max).contains(limit) else {
            throw FerryError(.badRequest, "The limit must be a whole number from 1 to \(max).")
        }
        return limit
    }
}
