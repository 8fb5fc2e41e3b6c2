import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// What a caller wants to do with a file.
enum FileAccess {
    /// Read metadata and bytes: owner, admin or grantee.
    case read
    /// Change or delete it, manage grants: owner or admin.
    case manage
}

extension FerryServices {
    /// The file if `principal` may do `access` on it. A caller who cannot see the file gets 404;
    /// one who can see it but not do this gets 403 (API.md error table).
    func authorize(fileID: String, principal: Principal, for access: FileAccess) async throws -> FileRecord {
        guard Identifier.isWellFormed(fileID),
            let (file, granted) = try await catalog.file(id: fileID, grantFor: principal.userID, now: now())
        else { throw FerryError.fileNotFound }
        let manages = principal.isAdmin || file.ownerID == principal.userID
        switch access {
        case .read:
            guard manages || granted else { throw FerryError.fileNotFound }
        case .manage:
            guard manages else {
                guard granted else { throw FerryError.fileNotFound }
                throw FerryError(.forbidden, "Only the file's owner or an administrator may do this.")
            }
        }
        return file
    }

    /// The client's address: the socket peer, or, when the peer is a trusted proxy, the nearest
    /// address in `X-Forwarded-For` that is not itself a trusted proxy.
    func clientIP(_ request: Request, context: FerryRequestContext) -> String {
        let peer = context.remoteAddress?.ipAddress ?? "unknown"
        let proxies = configuration.trustedProxies
        guard !proxies.isEmpty, proxies.contains(where: { $0.contains(peer) }) else { return peer }
        let chain = request.headers[values: .xForwardedFor]
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard !chain.isEmpty else { return peer }
        for hop in chain.reversed() {
            guard IPAddress.parse(hop) != nil else { return peer }
            if !proxies.contains(where: { $0.contains(hop) }) { return hop }
        }
        return chain.first ?? peer
    }
}
