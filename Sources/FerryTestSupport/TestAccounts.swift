import FerryCore
import Foundation

/// Accounts made straight in a catalog, for tests that need a second user.
public enum TestAccounts {
    /// Creates a user and returns a fresh bearer token for it.
    public static func user(_ name: String, role: Role = .member, in catalog: any Catalog) async throws -> String {
        let user = UserRecord(
            id: Identifier.make(), username: name, role: role, passwordHash: nil, disabled: false, createdAt: Date())
        try await catalog.createUser(user)
        let secret = Identifier.secret()
        try await catalog.createToken(
            TokenRecord(
                id: Identifier.make(), userID: user.id, name: nil, secretHash: Identifier.hash(secret),
                createdAt: Date()))
        return secret
    }
}
