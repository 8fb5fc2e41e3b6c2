import FerryCore
import Foundation
import Logging

/// Issues links: picks the strategy, writes the link row and the audit event, and builds the URL
/// that is shown once. Used by `POST /links`, the manifest and the broker.
struct LinkIssuer: Sendable {
    let services: FerryServices

    /// What the caller asked for.
    struct Request: Sendable {
        var ttl: Int
        var disposition: ContentDisposition.Kind = .attachment
        var filename: String?
        var maxDownloads: Int?
        var bindIP: String?
        /// The slow hash of the link's password, when it has one (always a server link).
        var passwordHash: String?
    }

    /// An issued link with its one-time URL.
    struct Issued: Sendable {
        var link: LinkRecord
        var url: String
    }

    /// The longest a storage or CDN link may live (S3's presigning limit; API.md).
    static let storageTTLMax = 604_800

    func issue(file: FileRecord, principal: Principal, request: Request, clientIP: String) async throws -> Issued {
        let now = services.now()
        let storeSigns =
            services.store.canSignURLs && request.maxDownloads == nil && request.passwordHash == nil
            && (request.bindIP == nil || services.store.canBindAddresses)
        // Links carry whole seconds. A store-signed one is dated this second (SigV4's X-Amz-Date)
        // and lives exactly its TTL from it (X-Amz-Expires = TTL, expires_at = date + TTL); a
        // server link's expiry is rounded up, so it never lives less than its TTL.
        let signedAt = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let expires =
            storeSigns
            ? signedAt.addingTimeInterval(Double(request.ttl))
            : Date(timeIntervalSince1970: (now.timeIntervalSince1970 + Double(request.ttl)).rounded(.up))
        let disposition =
            request.disposition == .inline && MediaType.isInlineSafe(file.contentType)
            ? ContentDisposition.Kind.inline : .attachment
        var link = LinkRecord(
            id: Identifier.make(), fileID: file.id, fileVersion: file.version, issuerID: principal.userID,
            issuerName: principal.username, createdAt: now, expiresAt: expires, strategy: "server",
            maxDownloads: request.maxDownloads, bindIP: request.bindIP, disposition: disposition,
            filename: request.filename, revokedAt: nil, passwordHash: request.passwordHash)
        var url: String
        // A limited link is always served by Ferry: no store can count downloads. An address-bound
        // one too, unless a CDN binds the address (CloudFront custom policy).
        let contentDisposition = ContentDisposition(kind: disposition, filename: request.filename ?? file.name)
        if storeSigns, request.ttl > Self.storageTTLMax {
            throw FerryError(
                .badRequest,
                "ttl_seconds above \(Self.storageTTLMax) (7 days) cannot be signed by the storage; ask for less.")
        }
        if storeSigns,
            let signed = try await services.store.signedURL(
                for: file.blobKey,
                request: SignedURLRequest(
                    expiresAt: expires, now: signedAt, contentType: file.contentType,
                    contentDisposition: contentDisposition.headerValue, bindIP: request.bindIP))
        {
            link.strategy = signed.strategy
            url = signed.url
        } else {
            let token = LinkToken(
                linkID: link.id, fileID: file.id, fileVersion: file.version,
                expiresAt: Int64(expires.timeIntervalSince1970), keyID: services.keyring.current.id,
                disposition: disposition, bindIP: request.bindIP, filename: request.filename)
            url = services.configuration.publicURL + "/t/" + token.signed(with: services.keyring.current.secret)
        }
        try await record(link, ttl: request.ttl, principal: principal, clientIP: clientIP)
        return Issued(link: link, url: url)
    }

    /// Issues a link to a bundle: always served by Ferry (no store can serve a zip it never stored).
    func issue(bundle: BundleRecord, principal: Principal, request: Request, clientIP: String) async throws -> Issued {
        let now = services.now()
        let expires = Date(timeIntervalSince1970: (now.timeIntervalSince1970 + Double(request.ttl)).rounded(.up))
        let link = LinkRecord(
            id: Identifier.make(), fileID: bundle.id, fileVersion: 0, issuerID: principal.userID,
            issuerName: principal.username, createdAt: now, expiresAt: expires, strategy: "server",
            maxDownloads: request.maxDownloads, bindIP: request.bindIP, disposition: .attachment,
            filename: request.filename, revokedAt: nil, passwordHash: request.passwordHash, subject: .bundle)
        let token = LinkToken(
            linkID: link.id, fileID: bundle.id, fileVersion: 0, expiresAt: Int64(expires.timeIntervalSince1970),
            keyID: services.keyring.current.id, disposition: .attachment, bindIP: request.bindIP,
            filename: request.filename)
        let url = services.configuration.publicURL + "/t/" + token.signed(with: services.keyring.current.secret)
        try await record(link, ttl: request.ttl, principal: principal, clientIP: clientIP)
        return Issued(link: link, url: url)
    }

    /// Stores the link and audits `link.issued`.
    func record(_ link: LinkRecord, ttl: Int, principal: Principal, clientIP: String) async throws {
        try await services.catalog.insertLink(link)
        var detail: [String: AuditValue] = [
            "link_id": .string(link.id), "ttl_seconds": .int(Int64(ttl)), "strategy": .string(link.strategy),
            "max_downloads": link.maxDownloads.map { .int(Int64($0)) } ?? .null,
        ]
        if let bindIP = link.bindIP { detail["bind_ip"] = .string(bindIP) }
        if link.passwordHash != nil { detail["password"] = .string("required") }
        if link.subject == .bundle { detail["bundle_id"] = .string(link.fileID) }
        await services.audit.record(
            AuditEvent(
                at: link.createdAt, event: "link.issued", actor: principal.username, fileID: link.fileID,
                clientIP: clientIP, detail: detail))
    }
}
