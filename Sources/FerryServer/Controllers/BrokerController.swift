import FerryAPIModels
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The stable download address `/d/{id}` and the resume plan `/v1/files/{id}/manifest`
/// (API.md "Broker", "Resume plan").
struct BrokerController: Sendable {
    typealias Context = FerryRequestContext
    let services: FerryServices

    func addRoutes(to router: Router<Context>) {
        router.get("/d/{id}", use: broker)
        router.get("/v1/files/{id}/manifest", use: manifest)
    }

    @Sendable func broker(_ request: Request, context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let principal = try context.optionalPrincipal() else {
            // A browser goes to the login page and comes back; a program gets 401 JSON.
            if request.headers[.accept]?.contains("text/html") == true {
                let next = "/d/\(id)".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"
                return Response(
                    status: .found, headers: [.location: "/login?next=\(next)", .cacheControl: "no-store"])
            }
            throw FerryError(.unauthenticated, "Sign in or send Authorization: Bearer <token>.")
        }
        let file = try await services.authorize(fileID: id, principal: principal, for: .read)
        let clientIP = services.clientIP(request, context: context)
        if services.store.canSignURLs, file.size >= services.configuration.proxyMaxBytes {
            let issued = try await LinkIssuer(services: services).issue(
                file: file, principal: principal,
                request: .init(ttl: services.configuration.linkTTL, disposition: .attachment), clientIP: clientIP)
            return Response(
                status: .temporaryRedirect, headers: [.location: issued.url, .cacheControl: "no-store"])
        }
        let options = Delivery.Options(
            disposition: try FilesController.disposition(request, file: file), actor: principal.username,
            clientIP: clientIP, auditDetail: ["via": "broker"])
        return try await Delivery(services: services).respond(file: file, request: request, options: options)
    }

    @Sendable func manifest(_ request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let file = try await services.authorize(
            fileID: try context.parameters.require("id"), principal: principal, for: .read)
        let issued = try await LinkIssuer(services: services).issue(
            file: file, principal: principal, request: .init(ttl: services.configuration.linkTTL),
            clientIP: services.clientIP(request, context: context))
        let manifest = APIManifest(
            file: APIFile(file),
            link: .init(
                url: issued.url, expiresAt: HTTPDate.rfc3339(issued.link.expiresAt), strategy: issued.link.strategy),
            partSize: Self.partSize(for: file.size), blockSize: FileRecord.blockSize, blockSHA256: file.blockSHA256,
            refresh: "/v1/files/\(file.id)/manifest")
        return try JSONBody.response(manifest)
    }

    /// A power of two from 1 MiB to 64 MiB, aiming at about 32 parts.
    static func partSize(for size: Int64) -> Int64 {
        let minimum: Int64 = 1 << 20
        let maximum: Int64 = 64 << 20
        var part = minimum
        while part < maximum && part * 32 < size { part <<= 1 }
        return part
    }
}
