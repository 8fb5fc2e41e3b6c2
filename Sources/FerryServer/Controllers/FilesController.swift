import FerryAPIModels
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `/v1/files`: upload, list, get, replace, delete, proxied download and grants (API.md "Files").
struct FilesController: Sendable {
    typealias Context = FerryRequestContext

    let services: FerryServices

    func addRoutes(to router: Router<Context>) {
        router.post("/v1/files", use: create)
        router.get("/v1/files", use: list)
        router.get("/v1/files/{id}", use: show)
        router.delete("/v1/files/{id}", use: delete)
        router.put("/v1/files/{id}/content", use: replace)
        router.get("/v1/files/{id}/content", use: content)
        router.get("/v1/files/{id}/grants", use: listGrants)
        router.post("/v1/files/{id}/grants", use: addGrant)
        router.delete("/v1/files/{id}/grants/{username}", use: removeGrant)
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> EditedResponse<APIFile> {
        let principal = try context.requirePrincipal()
        // Without ?name=, a form's filename names the file (else the uploader asks for ?name=).
        let given = try request.formQuery.get("name").map(FileName.validate)
        let fileID = Identifier.make()
        let (name, content) = try await Uploader(services: services).receive(
            request, key: "\(fileID)/\(Identifier.make())", name: given)
        let file = try await FilePublisher(services: services).create(
            fileID: fileID, name: name, content: content, principal: principal,
            clientIP: services.clientIP(request, context: context))
        return EditedResponse(status: .created, headers: [.location: "/v1/files/\(file.id)"], response: APIFile(file))
    }

    @Sendable func replace(_ request: Request, context: Context) async throws -> APIFile {
        let principal = try context.requirePrincipal()
        let current = try await services.authorize(
            fileID: try context.parameters.require("id"), principal: principal, for: .manage)
        // Replacing keeps the file's name, also when a form's file part names another.
        let (_, content) = try await Uploader(services: services).receive(
            request, key: "\(current.id)/\(Identifier.make())", name: current.name)
        return APIFile(
            try await FilePublisher(services: services).replace(
                current, with: content, principal: principal, clientIP: services.clientIP(request, context: context)))
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> APIFileList {
        let principal = try context.requirePrincipal()
        let query = request.formQuery
        let limit = try Cursor.limit(query.get("limit"))
        let before = try Cursor.decode(query.get("cursor"))
        let page = try await services.catalog.files(
            visibleTo: principal, now: services.now(), limit: limit, before: before)
        return APIFileList(files: page.items.map(APIFile.init), nextCursor: Cursor.encode(page.next))
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> APIFile {
        let principal = try context.requirePrincipal()
        return APIFile(
            try await services.authorize(fileID: try context.parameters.require("id"), principal: principal, for: .read)
        )
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let principal = try context.requirePrincipal()
        let file = try await services.authorize(
            fileID: try context.parameters.require("id"), principal: principal, for: .manage)
        guard let deleted = try await services.catalog.deleteFile(id: file.id) else { throw FerryError.fileNotFound }
        await services.discardBlob(deleted.blobKey, fileID: deleted.id)
        await services.audit.record(
            AuditEvent(
                at: services.now(), event: "file.deleted", actor: principal.username, fileID: file.id,
                clientIP: services.clientIP(request, context: context), detail: ["version": .int(Int64(file.version))]))
        return .noContent
    }

    @Sendable func content(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let file = try await services.authorize(
            fileID: try context.parameters.require("id"), principal: principal, for: .read)
        let options = Delivery.Options(
            disposition: try Self.disposition(request, file: file), actor: principal.username,
            clientIP: services.clientIP(request, context: context))
        return try await Delivery(services: services).respond(file: file, request: request, options: options)
    }

    /// `?disposition=inline|attachment` and `?filename=`: inline only for types that cannot run script.
    static func disposition(_ request: Request, file: FileRecord) throws -> ContentDisposition {
        let query = request.formQuery
        var kind = ContentDisposition.Kind.attachment
        switch query.get("disposition") {
        case nil, "attachment": break
        case "inline": if MediaType.isInlineSafe(file.contentType) { kind = .inline }
        case let other?:
            throw FerryError(.badRequest, "disposition must be attachment or inline, not '\(other)'.")
        }
        let name = try query.get("filename").map { try FileName.validate($0) } ?? file.name
        return ContentDisposition(kind: kind, filename: name)
    }
}
