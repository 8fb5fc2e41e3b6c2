import FerryAPIModels
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

    @Sendable func signIn(_ request: Request, context: Context) async throws -> Response {
        let body = try await JSONBody.decode(APISignIn.self, from: request, context: context)
        let userID: String
        if let code = body.code {
            let principal = try await services.authenticator.redeem(code: code)
            userID = principal.userID
            await services.audit.record(
                AuditEvent(
                    at: services.now(), event: "session.code_redeemed", actor: principal.username, fileID: nil,
                    clientIP: services.clientIP(request, context: context), detail: [:]))
        } else {
            guard let username = body.username, let password = body.password else {
                throw FerryError(.badRequest, "Send {\"username\", \"password\"}, or the sign-in {\"code\"}.")
            }
            userID =
                try await services.authenticator.login(
                    username: username, password: password, clientIP: services.clientIP(request, context: context)
                ).id
        }
        let secret = Identifier.secret()
        let now = services.now()
        try await services.catalog.createSession(
            SessionRecord(
                secretHash: Identifier.hash(secret), userID: userID, createdAt: now,
                expiresAt: now.addingTimeInterval(Authenticator.sessionLifetime)))
        let cookie =
            "\(Authenticator.sessionCookie)=\(secret); HttpOnly; SameSite=Lax; Path=/; Max-Age=\(Int(Authenticator.sessionLifetime))"
            + (services.configuration.isSecure ? "; Secure" : "")
        return Response(status: .noContent, headers: [.setCookie: cookie, .cacheControl: "no-store"])
    }

    @Sendable func whoAmI(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let user = try await services.catalog.user(named: principal.username)
        return try JSONBody.response(
            APISession(
                username: principal.username, role: principal.role.rawValue, hasPassword: user?.passwordHash != nil))
    }

    @Sendable func signOut(_ request: Request, context: Context) async throws -> Response {
        if let cookie = request.cookies[Authenticator.sessionCookie]?.value {
            try services.authenticator.checkOrigin(request)
            try await services.catalog.deleteSession(hash: Identifier.hash(cookie))
        }
        let clear = "\(Authenticator.sessionCookie)=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        return Response(status: .noContent, headers: [.setCookie: clear])
    }

    @Sendable func createUser(_ request: Request, context: Context) async throws -> EditedResponse<APIUser> {
        let admin = try context.requireAdmin()
        let body = try await JSONBody.decode(APINewUser.self, from: request, context: context)
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
        return EditedResponse(status: .created, response: APIUser(user))
    }

    @Sendable func listUsers(_ request: Request, context: Context) async throws -> Response {
        _ = try context.requireAdmin()
        return try JSONBody.response(["users": try await services.catalog.users().map(APIUser.init)])
    }

    /// Admins disable, enable and set the password of any user; everyone may set their own
    /// password. Through a session (a browser left open), changing a password that exists needs
    /// the current one; a bearer token is a full credential already. A new password ends the
    /// user's other sessions.
    @Sendable func updateUser(_ request: Request, context: Context) async throws -> APIUser {
        let caller = try context.requirePrincipal()
        let username = try context.parameters.require("username")
        let body = try await JSONBody.decode(APIUserUpdate.self, from: request, context: context)
        guard body.disabled != nil || body.password != nil else {
            throw FerryError(.badRequest, "Send disabled, password, or both.")
        }
        let isSelf = caller.username == username
        guard caller.isAdmin || (isSelf && body.disabled == nil) else {
            throw FerryError(.forbidden, "Only an administrator may change another user, or disable one.")
        }
        // An administrator who disables themselves may leave nobody able to sign in (schemathesis
        // found it by fuzzing PATCH /v1/users/{username} with the bootstrap token).
        guard !(isSelf && body.disabled == true) else {
            throw FerryError(.conflict, "You cannot disable your own account; another administrator can.")
        }
        guard var user = try await services.catalog.user(named: username) else {
            throw FerryError(.notFound, "There is no user named '\(username)'.")
        }
        let clientIP = services.clientIP(request, context: context)
        if let password = body.password {
            guard password.count >= 8, password.count <= 1024 else {
                throw FerryError(.badRequest, "The password must have 8 to 1024 characters.")
            }
            if isSelf, caller.via == .session, user.passwordHash != nil {
                guard let current = body.currentPassword else {
                    throw FerryError(.forbidden, "Send current_password to change your password.")
                }
                _ = try await services.authenticator.login(username: username, password: current, clientIP: clientIP)
            }
            let hash = try await Authenticator.hashPassword(password)
            let keep = isSelf ? request.cookies[Authenticator.sessionCookie].map { Identifier.hash($0.value) } : nil
            guard try await services.catalog.setUserPassword(id: user.id, hash: hash, keepSession: keep) else {
                throw FerryError(.notFound, "There is no user named '\(username)'.")
            }
            user.passwordHash = hash
            await services.audit.record(
                AuditEvent(
                    at: services.now(), event: "user.password_set", actor: caller.username, fileID: nil,
                    clientIP: clientIP, detail: ["username": .string(username)]))
        }
        if let disabled = body.disabled {
            guard try await services.catalog.setUserDisabled(id: user.id, disabled: disabled) else {
                throw FerryError(.notFound, "There is no user named '\(username)'.")
            }
            user.disabled = disabled
            await services.audit.record(
                AuditEvent(
                    at: services.now(), event: disabled ? "user.disabled" : "user.enabled", actor: caller.username,
                    fileID: nil, clientIP: clientIP, detail: ["username": .string(username)]))
        }
        return APIUser(user)
    }

    @Sendable func createToken(_ request: Request, context: Context) async throws -> EditedResponse<APIToken> {
        let principal = try context.requirePrincipal()
        let hasBody = request.headers[.contentLength].map { $0 != "0" } ?? false
        let body =
            hasBody ? try await JSONBody.decode(APINewToken.self, from: request, context: context) : APINewToken()
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
            response: APIToken(
                id: record.id, name: record.name, createdAt: HTTPDate.rfc3339(record.createdAt), token: secret))
    }

    @Sendable func listTokens(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let tokens = try await services.catalog.tokens(userID: principal.userID).map {
            APIToken(id: $0.id, name: $0.name, createdAt: HTTPDate.rfc3339($0.createdAt), token: nil)
        }
        return try JSONBody.response(["tokens": tokens])
    }

    @Sendable func deleteToken(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let principal = try context.requirePrincipal()
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
