import FerryCore
import Foundation
import Hummingbird

/// Who is calling, resolved once per request from the bearer token or the session cookie (with
/// the Origin check of cookie-authenticated writes), and put in the context for the handlers.
/// A failure (unknown token, ended session, foreign Origin, catalog down) is kept, not thrown:
/// only a route that needs the caller answers with it, so `/t/` links, which take no account
/// credentials (and see HTTP Basic for password links), are never refused for them.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = FerryRequestContext
    let authenticator: Authenticator

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        do {
            context.identity = try await authenticator.principal(for: request).map(Identity.principal) ?? .anonymous
        } catch {
            context.identity = .refused(error)
        }
        return try await next(request, context)
    }
}

/// The caller of a request as `AuthenticationMiddleware` found it.
public enum Identity: Sendable {
    /// No credentials were sent.
    case anonymous
    /// Valid credentials.
    case principal(Principal)
    /// Credentials were sent but refused; the error to answer with where a caller is needed.
    case refused(any Error)
}

extension FerryRequestContext {
    /// The caller, nil when no credentials were sent; refused credentials throw.
    func optionalPrincipal() throws -> Principal? {
        switch identity {
        case .anonymous: return nil
        case .principal(let principal): return principal
        case .refused(let error): throw error
        }
    }

    /// The caller; 401 when anonymous.
    func requirePrincipal() throws -> Principal {
        guard let principal = try optionalPrincipal() else {
            throw FerryError(.unauthenticated, "Sign in or send Authorization: Bearer <token>.")
        }
        return principal
    }

    /// The caller, who must be an admin.
    func requireAdmin() throws -> Principal {
        let principal = try requirePrincipal()
        guard principal.isAdmin else { throw FerryError(.forbidden, "Only an administrator may do this.") }
        return principal
    }
}
