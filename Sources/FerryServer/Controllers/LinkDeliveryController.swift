import Crypto
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `GET|HEAD /t/{token}`: a signed server link. The rule is `LinkDecision` (Core); this handler
/// gathers its facts (token, link state, client), then serves or refuses and audits.
struct LinkDeliveryController: Sendable {
    typealias Context = FerryRequestContext
    let services: FerryServices

    func addRoutes(to router: Router<Context>) {
        router.get("/t/{token}", use: deliver)
    }

    @Sendable func deliver(_ request: Request, context: Context) async throws -> Response {
        let clientIP = services.clientIP(request, context: context)
        let userAgent = request.headers[.userAgent] ?? ""
        let token = LinkToken.verify(try context.parameters.require("token"), keys: services.keyring.verifying)
        // A client of a limited link is its address plus its User-Agent (API.md "Limited links").
        let clientKey = Hex.encode(SHA256.hash(data: Array("\(clientIP)\n\(userAgent)".utf8)).prefix(16))
        let now = services.now()
        var state: LinkState?
        if let token { state = try await services.catalog.linkState(id: token.linkID, clientKey: clientKey, now: now) }
        let link = state?.link
        if let link { context.notes.set("link_id", link.id) }
        let failure = Failure(services: services, request: request, clientIP: clientIP, link: link)
        switch LinkDecision.decide(token: token, state: state, clientIP: clientIP, userAgent: userAgent, now: now) {
        case .refuse(let refusal):
            throw await failure.record(refusal.error)
        case .serve(let file, let takesDownload):
            guard let token, let link else { throw FerryError(.internalError, "A served link has no token.") }
            var takeDownload: (@Sendable () async throws -> Void)?
            if takesDownload, let max = link.maxDownloads {
                // Taken atomically only when bytes are about to go out (see Delivery.Options).
                takeDownload = { [services] in
                    guard
                        try await services.catalog.takeDownload(
                            linkID: link.id, clientKey: clientKey, max: max, now: now)
                    else { throw await failure.record(FerryError(.linkUsed, LinkDecision.linkUsedMessage)) }
                    services.metrics.downloadTaken()
                }
            }
            let remaining = max(0, Int(Double(token.expiresAt) - now.timeIntervalSince1970))
            let options = Delivery.Options(
                disposition: ContentDisposition(kind: token.disposition, filename: token.filename ?? file.name),
                cacheControl: "private, max-age=\(remaining)", actor: link.issuerName, clientIP: clientIP,
                auditDetail: ["link_id": .string(link.id), "via": "link"], beforeBytes: takeDownload)
            return try await Delivery(services: services).respond(file: file, request: request, options: options)
        }
    }

    /// Audits a refused `/t/` request as `download.failed` with its code, then returns the error.
    struct Failure: Sendable {
        let services: FerryServices
        let request: Request
        let clientIP: String
        let link: LinkRecord?

        func record(_ error: FerryError) async -> FerryError {
            guard request.method != .head else { return error }
            var detail: [String: AuditValue] = ["code": .string(error.code.rawValue), "via": "link"]
            if let link { detail["link_id"] = .string(link.id) }
            await services.audit.record(
                AuditEvent(
                    at: services.now(), event: "download.failed", actor: link?.issuerName, fileID: link?.fileID,
                    clientIP: clientIP, detail: detail))
            return error
        }
    }
}
