import FerryAPIModels
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Issuing, listing and revoking links (API.md "Signed links", "Managing links").
struct LinksController: Sendable {
    typealias Context = FerryRequestContext
    let services: FerryServices

    func addRoutes(to router: Router<Context>) {
        router.post("/v1/files/{id}/links", use: issue)
        router.get("/v1/files/{id}/links", use: list)
        router.delete("/v1/links/{id}", use: revoke)
        router.patch("/v1/links/{id}", use: update)
        router.post("/v1/bundles/{id}/links", use: issueForBundle)
        router.get("/v1/bundles/{id}/links", use: listForBundle)
    }

    @Sendable func issue(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let file = try await services.authorize(
            fileID: try context.parameters.require("id"), principal: principal, for: .read)
        let issued = try await LinkIssuer(services: services).issue(
            file: file, principal: principal, request: try await linkRequest(request, context: context),
            clientIP: services.clientIP(request, context: context))
        return try Self.created(issued, etag: file.etag)
    }

    /// `POST /v1/bundles/{id}/links`: the same options, always a server link.
    @Sendable func issueForBundle(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let bundles = Bundles(services: services)
        let bundle = try await bundles.managed(try context.parameters.require("id"), principal: principal)
        _ = try await bundles.currentMembers(of: bundle, reader: principal)
        let issued = try await LinkIssuer(services: services).issue(
            bundle: bundle, principal: principal, request: try await linkRequest(request, context: context),
            clientIP: services.clientIP(request, context: context))
        return try Self.created(issued, etag: bundle.etag)
    }

    static func created(_ issued: LinkIssuer.Issued, etag: EntityTag) throws -> Response {
        try JSONBody.response(
            APIIssuedLink(
                id: issued.link.id, url: issued.url, expiresAt: HTTPDate.rfc3339(issued.link.expiresAt),
                etag: etag.description, strategy: issued.link.strategy, maxDownloads: issued.link.maxDownloads),
            status: .created)
    }

    /// The options of a new link (API.md "Signed links", "Limited links", "Password-protected links").
    func linkRequest(_ request: Request, context: Context) async throws -> LinkIssuer.Request {
        let hasBody = request.headers[.contentLength].map { $0 != "0" } ?? true
        let body =
            hasBody ? try await JSONBody.decode(APILinkRequest.self, from: request, context: context) : APILinkRequest()
        let configuration = services.configuration
        let ttl = body.ttlSeconds ?? configuration.linkTTL
        guard ttl >= 1, ttl <= configuration.linkTTLMax else {
            throw FerryError(
                .badRequest, "ttl_seconds must be from 1 to \(configuration.linkTTLMax) (FERRY_LINK_TTL_MAX).")
        }
        var kind = ContentDisposition.Kind.attachment
        switch body.disposition {
        case nil, "attachment": break
        case "inline": kind = .inline
        case let other?: throw FerryError(.badRequest, "disposition must be attachment or inline, not '\(other)'.")
        }
        var maxDownloads = body.maxDownloads
        if body.singleUse == true {
            if let max = maxDownloads, max != 1 {
                throw FerryError(.badRequest, "single_use means max_downloads 1; send one or the other.")
            }
            maxDownloads = 1
        }
        if let max = maxDownloads, !(1...1000).contains(max) {
            throw FerryError(.badRequest, "max_downloads must be from 1 to 1000.")
        }
        var bindIP: String?
        if let text = body.bindIP {
            guard let bytes = IPAddress.parse(text) else {
                throw FerryError(.badRequest, "bind_ip '\(text)' is not an IPv4 or IPv6 address.")
            }
            bindIP = IPAddress.format(bytes)
        }
        let filename = try body.filename.map { try FileName.validate($0) }
        var passwordHash: String?
        if let password = body.password {
            try LinkPasswords.validate(password)
            passwordHash = try await LinkPasswords.hash(password)
        }
        return .init(
            ttl: ttl, disposition: kind, filename: filename, maxDownloads: maxDownloads, bindIP: bindIP,
            passwordHash: passwordHash)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let file = try await services.authorize(
            fileID: try context.parameters.require("id"), principal: principal, for: .read)
        let manages = principal.isAdmin || file.ownerID == principal.userID
        return try await listing(of: file.id, principal: principal, manages: manages)
    }

    @Sendable func listForBundle(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let bundle = try await Bundles(services: services).managed(
            try context.parameters.require("id"), principal: principal)
        return try await listing(of: bundle.id, principal: principal, manages: true)
    }

    func listing(of subject: String, principal: Principal, manages: Bool) async throws -> Response {
        let links = try await services.catalog.links(fileID: subject, now: services.now())
            .filter { manages || $0.link.issuerID == principal.userID }
            .map(APILink.init)
        return try JSONBody.response(APILinkList(links: links))
    }

    /// The link `id` if the caller may manage it (its issuer, the file's owner, an admin); 404
    /// otherwise, so others learn nothing about it.
    func managedLink(_ id: String, principal: Principal) async throws -> LinkRecord {
        guard Identifier.isWellFormed(id), let link = try await services.catalog.link(id: id) else {
            throw FerryError(.notFound, "No such link.")
        }
        if link.issuerID != principal.userID && !principal.isAdmin {
            // The file's owner (or the bundle's creator) manages its links too.
            let owner =
                link.subject == .bundle
                ? try await services.catalog.bundle(id: link.fileID)?.creatorID
                : try await services.catalog.file(id: link.fileID)?.ownerID
            guard owner == principal.userID else { throw FerryError(.notFound, "No such link.") }
        }
        return link
    }

    @Sendable func revoke(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.require("id")
        let link = try await managedLink(id, principal: principal)
        guard link.strategy == "server" else {
            throw FerryError(
                .notRevocable,
                "A \(link.strategy) link cannot be recalled: the store honours it until it expires at \(HTTPDate.rfc3339(link.expiresAt))."
            )
        }
        _ = try await services.catalog.revokeLink(id: id, now: services.now())
        await services.audit.record(
            AuditEvent(
                at: services.now(), event: "link.revoked", actor: principal.username, fileID: link.fileID,
                clientIP: services.clientIP(request, context: context), detail: ["link_id": .string(id)]))
        return .noContent
    }

    /// `PATCH /v1/links/{id}` `{"password": "..." | null}`: sets, changes or removes a server
    /// link's password. The new hash ends every cookie and remembered check of the old password.
    @Sendable func update(_ request: Request, context: Context) async throws -> APILink {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.require("id")
        let link = try await managedLink(id, principal: principal)
        let body = try await JSONBody.decode(APILinkUpdate.self, from: request, context: context)
        guard link.strategy == "server" else {
            throw FerryError(
                .badRequest, "Only links served by Ferry can have a password; a \(link.strategy) link cannot.")
        }
        var hash: String?
        if let password = body.password {
            try LinkPasswords.validate(password)
            hash = try await LinkPasswords.hash(password)
        }
        guard let updated = try await services.catalog.setLinkPassword(id: id, passwordHash: hash) else {
            throw FerryError(.notFound, "No such link.")
        }
        await services.audit.record(
            AuditEvent(
                at: services.now(), event: "link.updated", actor: principal.username, fileID: link.fileID,
                clientIP: services.clientIP(request, context: context),
                detail: ["link_id": .string(id), "password": .string(hash == nil ? "removed" : "set")]))
        let used =
            try await services.catalog.links(fileID: link.fileID, now: services.now())
            .first { $0.link.id == id }?.downloadsUsed ?? 0
        return APILink(LinkSummary(link: updated, downloadsUsed: used))
    }
}
