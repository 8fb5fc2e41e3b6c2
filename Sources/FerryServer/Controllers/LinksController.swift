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
    }

    @Sendable func issue(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let file = try await services.authorize(
            fileID: try context.parameters.require("id"), principal: principal, for: .read)
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
        let issued = try await LinkIssuer(services: services).issue(
            file: file, principal: principal,
            request: .init(ttl: ttl, disposition: kind, filename: filename, maxDownloads: maxDownloads, bindIP: bindIP),
            clientIP: services.clientIP(request, context: context))
        return try JSONBody.response(
            APIIssuedLink(
                id: issued.link.id, url: issued.url, expiresAt: HTTPDate.rfc3339(issued.link.expiresAt),
                etag: file.etag.description, strategy: issued.link.strategy, maxDownloads: issued.link.maxDownloads),
            status: .created)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let file = try await services.authorize(
            fileID: try context.parameters.require("id"), principal: principal, for: .read)
        let manages = principal.isAdmin || file.ownerID == principal.userID
        let links = try await services.catalog.links(fileID: file.id, now: services.now())
            .filter { manages || $0.link.issuerID == principal.userID }
            .map(APILink.init)
        return try JSONBody.response(APILinkList(links: links))
    }

    @Sendable func revoke(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.require("id")
        guard Identifier.isWellFormed(id), let link = try await services.catalog.link(id: id) else {
            throw FerryError(.notFound, "No such link.")
        }
        if link.issuerID != principal.userID && !principal.isAdmin {
            // Only the file's owner may revoke others' links; others learn nothing about it.
            guard let file = try await services.catalog.file(id: link.fileID), file.ownerID == principal.userID else {
                throw FerryError(.notFound, "No such link.")
            }
        }
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
}
