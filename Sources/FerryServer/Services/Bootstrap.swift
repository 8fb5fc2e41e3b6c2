import FerryCore
import Foundation
import Logging

/// Creates the first administrator when the catalog has no users (API.md "Authentication").
public enum Bootstrap {
    /// What bootstrapping did.
    public enum Outcome: Sendable, Equatable {
        /// Users existed already.
        case skipped
        /// The admin was created. `token` is its generated API token, to be shown once (nil when
        /// `FERRY_BOOTSTRAP_TOKEN` chose it); `signInCode` a one-time code that signs the web app in
        /// (`Bootstrap.signInURL`) so a password can be set (nil when `FERRY_BOOTSTRAP_PASSWORD` set one).
        case created(token: String?, signInCode: String?)
    }

    /// How long the first start's sign-in code works.
    public static let signInCodeLifetime: TimeInterval = 30 * 60

    /// The page that redeems a sign-in code. The code travels in the fragment, which browsers
    /// never send to a server, so it stays out of access logs and proxies.
    public static func signInURL(publicURL: String, code: String) -> String {
        "\(publicURL)/login#code=\(code)"
    }

    /// Creates `admin` if there are no users.
    public static func run(services: FerryServices) async throws -> Outcome {
        guard try await services.catalog.userCount() == 0 else { return .skipped }
        let configuration = services.configuration
        let passwordHash = try await configuration.bootstrapPassword.asyncMap(Authenticator.hashPassword)
        let now = services.now()
        let admin = UserRecord(
            id: Identifier.make(), username: "admin", role: .admin, passwordHash: passwordHash, disabled: false,
            createdAt: now)
        do {
            try await services.catalog.createUser(admin)
        } catch let error as FerryError where error.code == .conflict {
            // Another node of the cluster bootstrapped at the same moment.
            return .skipped
        }
        let secret = configuration.bootstrapToken ?? Identifier.secret()
        try await services.catalog.createToken(
            TokenRecord(
                id: Identifier.make(), userID: admin.id, name: "bootstrap", secretHash: Identifier.hash(secret),
                createdAt: now))
        await services.audit.record(
            AuditEvent(
                at: now, event: "user.created", actor: nil, fileID: nil, clientIP: nil,
                detail: ["username": "admin", "role": "admin"]))
        var signInCode: String?
        if passwordHash == nil {
            // A short, single-use session that can only be exchanged (Authenticator.redeem).
            let code = Identifier.secret()
            try await services.catalog.createSession(
                SessionRecord(
                    secretHash: Authenticator.signInCodeHash(code), userID: admin.id, createdAt: now,
                    expiresAt: now.addingTimeInterval(signInCodeLifetime)))
            signInCode = code
        }
        return .created(token: configuration.bootstrapToken == nil ? secret : nil, signInCode: signInCode)
    }
}
