import FerryAPIModels
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

extension FilesController {
    @Sendable func listGrants(_ request: Request, context: Context) async throws -> Response {
        let principal = try await services.authenticator.require(request)
        let file = try await services.authorize(
            fileID: try context.parameters.require("id"), principal: principal, for: .manage)
        let grants = try await services.catalog.grants(fileID: file.id).map {
            APIGrant(fileID: $0.fileID, username: $0.username, expiresAt: $0.expiresAt.map(HTTPDate.rfc3339))
        }
        return try JSONBody.response(["grants": grants])
    }

    @Sendable func addGrant(_ request: Request, context: Context) async throws -> EditedResponse<APIGrant> {
        let principal = try await services.authenticator.require(request)
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
        let principal = try await services.authenticator.require(request)
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

/// JSON request and response bodies outside the typed DTOs.
enum JSONBody {
    /// Decodes a JSON body, turning decoding failures into a 400 that names the problem.
    static func decode<T: Decodable>(
        _ type: T.Type, from request: Request, context: FerryRequestContext
    )
        async throws -> T
    {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw FerryError(
                .badRequest, "The JSON body is larger than \(context.maxUploadSize) bytes.", underlying: error)
        }
        let bytes = Array(buffer.readableBytesView)
        do {
            try JSONSyntax.validate(bytes)
        } catch {
            throw FerryError(
                .badRequest, "The body is not valid JSON (RFC 8259): \(error.reason) at byte \(error.offset).")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch DecodingError.keyNotFound(let key, _) {
            throw FerryError(.badRequest, "The JSON body lacks the field '\(key.stringValue)'.")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context)
        {
            // Foundation on Linux reports a number that does not fit its field (`max_downloads:
            // 2.5`) without a path: find the field by decoding each one alone.
            let field =
                context.codingPath.isEmpty
                ? culprit(T.self, in: bytes) : context.codingPath.map(\.stringValue).joined(separator: ".")
            guard let field else {
                throw FerryError(.badRequest, "The body must be a JSON object with the fields this call expects.")
            }
            throw FerryError(.badRequest, "The field '\(field)' has the wrong type or value.")
        } catch {
            throw FerryError(.badRequest, "The body does not have the fields this call expects.", underlying: error)
        }
    }

    /// The top-level field of a JSON object whose value alone fails to decode as part of `T`
    /// (only on the error path).
    static func culprit<T: Decodable>(_ type: T.Type, in bytes: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return nil }
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            guard let single = try? JSONSerialization.data(withJSONObject: [key: value], options: .fragmentsAllowed)
            else { continue }
            do {
                _ = try JSONDecoder().decode(T.self, from: single)
            } catch DecodingError.keyNotFound {
                continue  // another, required field is missing: not this one's fault
            } catch {
                return key
            }
        }
        return nil
    }

    /// A 200 JSON response from any Encodable value.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSONEncoder().encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
