import FerryAPIModels
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

extension FilesController {
    @Sendable func listGrants(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let file = try await services.authorize(
            fileID: try context.parameters.require("id"), principal: principal, for: .manage)
        let grants = try await services.catalog.grants(fileID: file.id).map {
            APIGrant(fileID: $0.fileID, username: $0.username, expiresAt: $0.expiresAt.map(HTTPDate.rfc3339))
        }
        return try JSONBody.response(["grants": grants])
    }

    @Sendable func addGrant(_ request: Request, context: Context) async throws -> EditedResponse<APIGrant> {
        let principal = try context.requirePrincipal()
        let file = try await services.authorize(
            fileID: try context.parameters.require("id"), principal: principal, for: .manage)
        let body = try await JSONBody.decode(APIGrantRequest.self, from: request, context: context)
        var expiresAt: Date?
        if let text = body.expiresAt {
            guard let date = HTTPDate.parseRFC3339(text) else {
                throw FerryError(.badRequest, "expires_at must be an RFC 3339 time like 2026-12-01T18:00:00Z.")
            }
            guard date > services.now() else { throw FerryError(.badRequest, "expires_at is in the past.") }
            expiresAt = date
        }
        guard let user = try await services.catalog.user(named: body.username) else {
            throw FerryError(.badRequest, "There is no user named '\(body.username)'.")
        }
        try await services.catalog.upsertGrant(
            GrantRecord(fileID: file.id, userID: user.id, username: user.username, expiresAt: expiresAt))
        var detail: [String: AuditValue] = ["username": .string(user.username)]
        if let expiresAt { detail["expires_at"] = .string(HTTPDate.rfc3339(expiresAt)) }
        await services.audit.record(
            AuditEvent(
                at: services.now(), event: "grant.added", actor: principal.username, fileID: file.id,
                clientIP: services.clientIP(request, context: context), detail: detail))
        return EditedResponse(
            status: .created,
            response: APIGrant(fileID: file.id, username: user.username, expiresAt: expiresAt.map(HTTPDate.rfc3339)))
    }

    @Sendable func removeGrant(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let principal = try context.requirePrincipal()
        let file = try await services.authorize(
            fileID: try context.parameters.require("id"), principal: principal, for: .manage)
        let username = try context.parameters.require("username")
        guard let user = try await services.catalog.user(named: username),
            try await services.catalog.deleteGrant(fileID: file.id, userID: user.id)
        else {
            throw FerryError(.notFound, "'\(username)' holds no grant on this file.")
        }
        await services.audit.record(
            AuditEvent(
                at: services.now(), event: "grant.revoked", actor: principal.username, fileID: file.id,
                clientIP: services.clientIP(request, context: context), detail: ["username": .string(username)]))
        return .noContent
    }
}
