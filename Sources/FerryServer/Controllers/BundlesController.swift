import FerryAPIModels
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird

/// `/v1/bundles`: many files as one resumable zip (API.md "Bundles").
struct BundlesController: Sendable {
    typealias Context = FerryRequestContext
    let services: FerryServices

    func addRoutes(to router: Router<Context>) {
        router.post("/v1/bundles", use: create)
        router.get("/v1/bundles/{id}", use: show)
        router.delete("/v1/bundles/{id}", use: delete)
        router.get("/v1/bundles/{id}/content", use: content)
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let body = try await JSONBody.decode(APIBundleRequest.self, from: request, context: context)
        let name = try FileName.validate(body.name ?? "bundle.zip")
        let bundle = try await Bundles(services: services).create(
            fileIDs: body.fileIDs, name: name, principal: principal)
        await services.audit.record(
            AuditEvent(
                at: services.now(), event: "bundle.created", actor: principal.username, fileID: bundle.id,
                clientIP: services.clientIP(request, context: context),
                detail: [
                    "bundle_id": .string(bundle.id), "members": .int(Int64(bundle.members.count)),
                    "files": .string(bundle.members.map(\.fileID).joined(separator: ",")),
                ]))
        return try JSONBody.response(APIBundle(bundle), status: .created)
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> APIBundle {
        let principal = try context.requirePrincipal()
        return APIBundle(
            try await Bundles(services: services).managed(try context.parameters.require("id"), principal: principal))
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let principal = try context.requirePrincipal()
        let bundle = try await Bundles(services: services).managed(
            try context.parameters.require("id"), principal: principal)
        guard try await services.catalog.deleteBundle(id: bundle.id) else {
            throw FerryError(.notFound, "No such bundle, or you do not have access to it.")
        }
        await services.audit.record(
            AuditEvent(
                at: services.now(), event: "bundle.deleted", actor: principal.username, fileID: bundle.id,
                clientIP: services.clientIP(request, context: context), detail: ["bundle_id": .string(bundle.id)]))
        return .noContent
    }

    @Sendable func content(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let bundles = Bundles(services: services)
        let bundle = try await bundles.managed(try context.parameters.require("id"), principal: principal)
        let files = try await bundles.currentMembers(of: bundle, reader: principal)
        let options = Delivery.Options(
            disposition: ContentDisposition(kind: .attachment, filename: bundle.name), actor: principal.username,
            clientIP: services.clientIP(request, context: context),
            auditDetail: [
                "bundle_id": .string(bundle.id), "files": .string(bundle.members.map(\.fileID).joined(separator: ",")),
            ])
        return try await Delivery(services: services).respond(
            bundles.representation(bundle, files: files), request: request, options: options)
    }
}

extension APIBundle: ResponseEncodable {
    /// A bundle as the API shows it.
    init(_ bundle: BundleRecord) {
        self.init(
            id: bundle.id, name: bundle.name, size: bundle.layout.size, etag: bundle.etag.description,
            files: bundle.members.map { .init(id: $0.fileID, name: $0.name, version: $0.version) },
            createdAt: HTTPDate.rfc3339(bundle.createdAt))
    }
}
