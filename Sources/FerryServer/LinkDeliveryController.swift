import Crypto
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `GET|HEAD /t/{token}`: a signed server link, checked in the order of API.md "Link delivery".
struct LinkDeliveryController: Sendable {
    typealias Context = FerryRequestContext
    let services: FerryServices

    /// User agents of chat apps' link previewers: they never take a download of a limited link.
    static let previewAgents = [
        "Slackbot", "facebookexternalhit", "Twitterbot", "Discordbot", "WhatsApp", "TelegramBot", "LinkedInBot",
        "SkypeUriPreview", "Mattermost", "Iframely", "Google-PageRenderer",
    ]

    func addRoutes(to router: Router<Context>) {
        router.get("/t/{token}", use: deliver)
    }

    @Sendable func deliver(_ request: Request, context: Context) async throws -> Response {
        let clientIP = services.clientIP(request, context: context)
        var refusal = Refusal(services: services, request: request, clientIP: clientIP)
        guard let token = LinkToken.verify(try context.parameters.require("token"), keys: services.keyring.verifying)
        else {
            throw await refusal.refuse(
                FerryError(.invalidSignature, "This link is not valid: it was altered or its signing key was retired."))
        }
        let userAgent = request.headers[.userAgent] ?? ""
        let clientKey = Hex.encode(SHA256.hash(data: Array("\(clientIP)\n\(userAgent)".utf8)).prefix(16))
        let now = services.now()
        guard let state = try await services.catalog.linkState(id: token.linkID, clientKey: clientKey, now: now),
            state.link.fileID == token.fileID, state.link.fileVersion == token.fileVersion
        else {
            throw await refusal.refuse(FerryError(.invalidSignature, "This link is not valid; ask for a fresh one."))
        }
        let link = state.link
        context.notes.set("link_id", link.id)
        refusal.link = link
        if link.revokedAt != nil {
            throw await refusal.refuse(FerryError(.linkRevoked, "This link was revoked. Ask the sender for a new one."))
        }
        if now.timeIntervalSince1970 >= Double(token.expiresAt) {
            let at = HTTPDate.rfc3339(Date(timeIntervalSince1970: Double(token.expiresAt)))
            throw await refusal.refuse(
                FerryError(.linkExpired, "This download link expired at \(at). Ask for a fresh link."))
        }
        if let bound = token.bindIP, IPAddress.parse(bound) != IPAddress.parse(clientIP) {
            throw await refusal.refuse(
                FerryError(
                    .ipMismatch,
                    "This link is bound to another network address; open it from the address it was issued for."))
        }
        guard let file = state.file else {
            throw await refusal.refuse(FerryError(.fileGone, "The file behind this link was deleted."))
        }
        guard file.version == token.fileVersion else {
            throw await refusal.refuse(
                FerryError(.fileChanged, "The file was replaced after this link was issued. Ask for a fresh link."))
        }
        guard state.issuerMayRead else {
            throw await refusal.refuse(
                FerryError(.forbidden, "The person who shared this link no longer has access to the file."))
        }
        let used = FerryError(
            .linkUsed, "Every download of this link has been used. Ask the sender for a new link.")
        var takeDownload: (@Sendable () async throws -> Void)?
        if let max = link.maxDownloads {
            if Self.previewAgents.contains(where: { userAgent.contains($0) }) {
                throw await refusal.refuse(FerryError(.forbidden, "Link previews are not served for limited links."))
            }
            if !state.clientHoldsDownload {
                if state.downloadsUsed >= max { throw await refusal.refuse(used) }
                // Taken atomically only when bytes are about to go out (see Delivery.Options).
                takeDownload = { [services, refusal] in
                    guard
                        try await services.catalog.takeDownload(
                            linkID: link.id, clientKey: clientKey, max: max, now: now)
                    else { throw await refusal.refuse(used) }
                    services.metrics.downloadTaken()
                }
            }
        }
        let remaining = max(0, Int(Double(token.expiresAt) - now.timeIntervalSince1970))
        let options = Delivery.Options(
            disposition: ContentDisposition(kind: token.disposition, filename: token.filename ?? file.name),
            cacheControl: "private, max-age=\(remaining)", actor: link.issuerName, clientIP: clientIP,
            auditDetail: ["link_id": .string(link.id), "via": "link"], beforeBytes: takeDownload)
        return try await Delivery(services: services).respond(file: file, request: request, options: options)
    }

    /// Audits a refused `/t/` request as `download.failed` with its code, then returns the error.
    struct Refusal {
        let services: FerryServices
        let request: Request
        let clientIP: String
        var link: LinkRecord?

        func refuse(_ error: FerryError) async -> FerryError {
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
