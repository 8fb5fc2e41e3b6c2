import FerryAPIModels
import FerryCore
import Foundation
import Hummingbird
import Logging

// The wire types live in FerryAPIModels (one per JSON shape, shared with the client and the
// tests); here they meet the catalog's records and Hummingbird.

extension APIFile: ResponseEncodable {
    /// A file record as the API shows it.
    init(_ file: FileRecord) {
        self.init(
            id: file.id, name: file.name, size: file.size, contentType: file.contentType, sha256: file.sha256,
            etag: file.etag.description, version: file.version, owner: file.ownerName,
            createdAt: HTTPDate.rfc3339(file.createdAt), updatedAt: HTTPDate.rfc3339(file.updatedAt))
    }
}

extension APIFileList: ResponseEncodable {}
extension APIToken: ResponseEncodable {}
extension APIGrant: ResponseEncodable {}
extension APILink: ResponseEncodable {}
extension APIAuditList: ResponseEncodable {}

extension APIUser: ResponseEncodable {
    /// A user record as the API shows it.
    init(_ user: UserRecord) {
        self.init(
            id: user.id, username: user.username, role: user.role.rawValue, disabled: user.disabled,
            createdAt: HTTPDate.rfc3339(user.createdAt))
    }
}

extension APIAuditEvent {
    /// An audit event as the API shows it.
    init(_ event: AuditEvent) {
        self.init(
            at: HTTPDate.rfc3339(event.at), event: event.event, actor: event.actor, fileID: event.fileID,
            clientIP: event.clientIP, detail: event.detail)
    }
}

extension APILink {
    /// A link with its downloads, as listed.
    init(_ summary: LinkSummary) {
        let link = summary.link
        self.init(
            id: link.id, issuer: link.issuerName, createdAt: HTTPDate.rfc3339(link.createdAt),
            expiresAt: HTTPDate.rfc3339(link.expiresAt), strategy: link.strategy, maxDownloads: link.maxDownloads,
            downloadsUsed: summary.downloadsUsed, bindIP: link.bindIP, revokedAt: link.revokedAt.map(HTTPDate.rfc3339),
            password: link.passwordHash != nil)
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
