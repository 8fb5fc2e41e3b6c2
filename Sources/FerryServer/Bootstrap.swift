import FerryCore
import Foundation
import Logging

/// Creates the first administrator when the catalog has no users (API.md "Authentication").
public enum Bootstrap {
    /// What bootstrapping did.
    public enum Outcome: Sendable, Equatable {
        /// Users existed already.
        case skipped
        /// The admin was created with the configured token.
        case createdWithConfiguredToken
        /// The admin was created with a generated token, to be shown once.
        case createdWithGeneratedToken(String)
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
        return configuration.bootstrapToken == nil ? .createdWithGeneratedToken(secret) : .createdWithConfiguredToken
    }
}
