import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Sessions, users and API tokens (API.md "Authentication").
struct AccountsController: Sendable {
    typealias Context = FerryRequestContext

    let services: FerryServices

    func addRoutes(to router: Router<Context>) {
        router.post("/v1/session", use: signIn)
        router.get("/v1/session", use: whoAmI)
        router.delete("/v1/session", use: signOut)
        router.post("/v1/users", use: createUser)
        router.get("/v1/users", use: listUsers)
        router.patch("/v1/users/{username}", use: updateUser)
        router.post("/v1/tokens", use: createToken)
        router.get("/v1/tokens", use: listTokens)
        router.delete("/v1/tokens/{id}", use: deleteToken)
    }

    struct SignIn: Decodable {
        var username: String
        var password: String
    }

    @Sendable func signIn(_ request: Request, context: Context) async throws -> Response {
        let body = try await JSONBody.decode(SignIn.self, from: request, context: context)
        let user = try await services.authenticator.login(
            username: body.username, password: body.password, clientIP: services.clientIP(request, context: context))
        let secret = Identifier.secret()
        let now = services.now()
        try await services.catalog.createSession(
            SessionRecord(
                secretHash: Identifier.hash(secret), userID: user.id, createdAt: now,
                expiresAt: now.addingTimeInterval(Authenticator.sessionLifetime)))
        let cookie =
            "\(Authenticator.sessionCookie)=\(secret); HttpOnly; SameSite=Lax; Path=/; Max-Age=\(Int(Authenticator.sessionLifetime))"
            + (services.configuration.isSecure ? "; Secure" : "")
        return Response(status: .noContent, headers: [.setCookie: cookie, .cacheControl: "no-store"])
    }

    @Sendable func whoAmI(_ request: Request, context: Context) async throws -> Response {
        let principal = try await services.authenticator.require(request)
        return try JSONBody.response(["username": principal.username, "role": principal.role.rawValue])
    }

    @Sendable func signOut(_ request: Request, context: Context) async throws -> Response {
        if let cookie = request.cookies[Authenticator.sessionCookie]?.value {
            try services.authenticator.checkOrigin(request)
            try await services.catalog.deleteSession(hash: Identifier.hash(cookie))
        }
        let clear = "\(Authenticator.sessionCookie)=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        return Response(status: .noContent, headers: [.setCookie: clear])
    }

    struct NewUser: Decodable {
        var username: String
        var password: String?
        var role: String?
    }

    @Sendable func createUser(_ request: Request, context: Context) async throws -> EditedResponse<UserJSON> {
        let admin = try await services.authenticator.requireAdmin(request)
        let body = try await JSONBody.decode(NewUser.self, from: request, context: context)
        let username = try UserRecord.validate(username: body.username)
        guard let role = Role(rawValue: body.role ?? "member") else {
            throw FerryError(.badRequest, "role must be admin or member.")
        }
        if let password = body.password, password.count < 8 {
            throw FerryError(.badRequest, "The password must have at least 8 characters.")
        }
        let hash = try await body.password.asyncMap(Authenticator.hashPassword)
        let user = UserRecord(
            id: Identifier.make(), username: username, role: role, passwordHash: hash, disabled: false,
            createdAt: services.now())
        do {
            try await services.catalog.createUser(user)
        } catch let error as FerryError where error.code == .conflict {
            throw FerryError(.conflict, "The username '\(username)' is taken.")
        }
        await services.audit.record(
            AuditEvent(
                at: services.now(), event: "user.created", actor: admin.username, fileID: nil,
                clientIP: services.clientIP(request, context: context),
                detail: ["username": .string(username), "role": .string(role.rawValue)]))
        return EditedResponse(status: .created, response: UserJSON(user))
    }

    @Sendable func listUsers(_ request: Request, context: Context) async throws -> Response {
        _ = try await services.authenticator.requireAdmin(request)
        return try JSONBody.response(["users": try await services.catalog.users().map(UserJSON.init)])
    }

    struct UserUpdate: Decodable {
        var disabled: Bool
    }

    @Sendable func updateUser(_ request: Request, context: Context) async throws -> UserJSON {
        let admin = try await services.authenticator.requireAdmin(request)
        let username = try context.parameters.require("username")
        let body = try await JSONBody.decode(UserUpdate.self, from: request, context: context)
        guard var user = try await services.catalog.user(named: username),
            try await services.catalog.setUserDisabled(id: user.id, disabled: body.disabled)
        else { throw FerryError(.notFound, "There is no user named '\(username)'.") }
        user.disabled = body.disabled
        await services.audit.record(
            AuditEvent(
                at: services.now(), event: body.disabled ? "user.disabled" : "user.enabled", actor: admin.username,
                fileID: nil, clientIP: services.clientIP(request, context: context),
                detail: ["username": .string(username)]))
        return UserJSON(user)
    }

    struct NewToken: Decodable {
        var name: String?
    }

    @Sendable func createToken(_ request: Request, context: Context) async throws -> EditedResponse<TokenJSON> {
        let principal = try await services.authenticator.require(request)
        let hasBody = request.headers[.contentLength].map { $0 != "0" } ?? false
        let body = hasBody ? try await JSONBody.decode(NewToken.self, from: request, context: context) : NewToken()
        if let name = body.name, name.count > 200 || name.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            throw FerryError(.badRequest, "The token name must be at most 200 printable characters.")
        }
        let secret = Identifier.secret()
        let record = TokenRecord(
            id: Identifier.make(), userID: principal.userID, name: body.name, secretHash: Identifier.hash(secret),
            createdAt: services.now())
        try await services.catalog.createToken(record)
        await services.audit.record(
            AuditEvent(
                at: services.now(), event: "token.created", actor: principal.username, fileID: nil,
                clientIP: services.clientIP(request, context: context), detail: ["token_id": .string(record.id)]))
        return EditedResponse(
            status: .created,
            response: TokenJSON(
                id: record.id, name: record.name, createdAt: HTTPDate.rfc3339(record.createdAt), token: secret))
    }

    @Sendable func listTokens(_ request: Request, context: Context) async throws -> Response {
        let principal = try await services.authenticator.require(request)
        let tokens = try await services.catalog.tokens(userID: principal.userID).map {
            TokenJSON(id: $0.id, name: $0.name, createdAt: HTTPDate.rfc3339($0.createdAt), token: nil)
        }
        return try JSONBody.response(["tokens": tokens])
    }

    @Sendable func deleteToken(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let principal = try await services.authenticator.require(request)
        let id = try context.parameters.require("id")
        guard try await services.catalog.deleteToken(id: id, userID: principal.isAdmin ? nil : principal.userID) else {
            throw FerryError(.notFound, "You have no token with id \(id).")
        }
        await services.audit.record(
            AuditEvent(
                at: services.now(), event: "token.revoked", actor: principal.username, fileID: nil,
                clientIP: services.clientIP(request, context: context), detail: ["token_id": .string(id)]))
        return .noContent
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
