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
        router.post("/t/{token}", use: submitPassword)
    }

    /// What one `/t/` request is about: the verified token, the link's state and the client.
    struct Facts: Sendable {
        var token: LinkToken?
        var state: LinkState?
        var clientIP: String
        var userAgent: String
        var clientKey: String
        var now: Date
        var path: String
        /// For a bundle link: the bundle, its members' current records, and what checking them found.
        var bundle: BundleRecord?
        var members: [FileRecord] = []
        var bundleCheck: LinkDecision.BundleCheck?

        func decide(password: LinkDecision.PasswordVerdict?) -> LinkDecision {
            LinkDecision.decide(
                token: token, state: state, clientIP: clientIP, userAgent: userAgent, now: now, password: password,
                bundle: bundleCheck)
        }
    }

    func facts(_ request: Request, context: Context) async throws -> Facts {
        let clientIP = services.clientIP(request, context: context)
        let userAgent = request.headers[.userAgent] ?? ""
        let raw = try context.parameters.require("token")
        let token = LinkToken.verify(raw, keys: services.keyring.verifying)
        // A client of a limited link is its address plus its User-Agent (API.md "Limited links").
        let clientKey = Hex.encode(SHA256.hash(data: Array("\(clientIP)\n\(userAgent)".utf8)).prefix(16))
        let now = services.now()
        var state: LinkState?
        if let token { state = try await services.catalog.linkState(id: token.linkID, clientKey: clientKey, now: now) }
        if let link = state?.link { context.notes.set("link_id", link.id) }
        var facts = Facts(
            token: token, state: state, clientIP: clientIP, userAgent: userAgent, clientKey: clientKey, now: now,
            path: "/t/" + raw)
        if let link = state?.link, link.subject == .bundle { try await checkBundle(link, into: &facts) }
        return facts
    }

    /// A bundle link's subject: the bundle exists, its issuer is enabled and may still read every
    /// member, and every member is the version the bundle was made of.
    func checkBundle(_ link: LinkRecord, into facts: inout Facts) async throws {
        guard let bundle = try await services.catalog.bundle(id: link.fileID) else {
            facts.bundleCheck = .refused(
                .init(code: .fileGone, message: "The bundle behind this link was deleted. Ask for a new link."))
            return
        }
        facts.bundle = bundle
        guard let issuer = try await services.catalog.user(named: link.issuerName), !issuer.disabled else {
            facts.bundleCheck = .refused(
                .init(code: .forbidden, message: "The person who shared this link no longer has access to the files."))
            return
        }
        do {
            facts.members = try await Bundles(services: services).currentMembers(
                of: bundle,
                reader: Principal(userID: issuer.id, username: issuer.username, role: issuer.role, via: .token))
            facts.bundleCheck = .ok
        } catch let error as FerryError {
            let message =
                error.code == .forbidden
                ? "The person who shared this link no longer has access to every file in it." : error.message
            facts.bundleCheck = .refused(.init(code: error.code, message: message))
        }
    }

    @Sendable func deliver(_ request: Request, context: Context) async throws -> Response {
        let facts = try await facts(request, context: context)
        let link = facts.state?.link
        let failure = Failure(services: services, request: request, clientIP: facts.clientIP, link: link)
        var decision = facts.decide(password: nil)
        if case .checkPassword = decision, let link {
            let verdict: LinkDecision.PasswordVerdict
            do {
                verdict = try await passwordVerdict(request, link: link, clientIP: facts.clientIP)
            } catch let error as FerryError where error.code == .rateLimited {
                _ = await failure.record(error)
                guard LinkPasswordPage.wantsPage(request) else { throw error }
                return LinkPasswordPage.response(
                    path: facts.path, status: .tooManyRequests, error: error.message, retryAfter: error.retryAfter)
            }
            decision = facts.decide(password: verdict)
        }
        switch decision {
        case .checkPassword:
            throw FerryError(.internalError, "A password link was decided without its password.")
        case .refuse(let refusal):
            let error = await failure.record(refusal.error)
            if refusal.code == .passwordRequired || refusal.code == .wrongPassword, LinkPasswordPage.wantsPage(request)
            {
                return LinkPasswordPage.response(
                    path: facts.path, status: .unauthorized,
                    error: refusal.code == .wrongPassword ? refusal.message : nil)
            }
            throw error
        case .serve(let file, let takesDownload):
            let served = Delivery(services: services)
            return try await served.respond(
                file: file, request: request,
                options: try options(facts, failure: failure, takesDownload: takesDownload, name: file.name))
        case .serveBundle(let takesDownload):
            guard let bundle = facts.bundle else {
                throw FerryError(.internalError, "A served bundle link has no bundle.")
            }
            var options = try options(facts, failure: failure, takesDownload: takesDownload, name: bundle.name)
            options.auditDetail["bundle_id"] = .string(bundle.id)
            options.auditDetail["files"] = .string(bundle.members.map(\.fileID).joined(separator: ","))
            return try await Delivery(services: services).respond(
                Bundles(services: services).representation(bundle, files: facts.members), request: request,
                options: options)
        }
    }

    /// How a served link presents and audits its bytes; a limited link takes its download when bytes
    /// are about to go out (see `Delivery.Options`).
    func options(_ facts: Facts, failure: Failure, takesDownload: Bool, name: String) throws -> Delivery.Options {
        guard let token = facts.token, let link = facts.state?.link else {
            throw FerryError(.internalError, "A served link has no token.")
        }
        let clientKey = facts.clientKey
        let now = facts.now
        var takeDownload: (@Sendable () async throws -> Void)?
        if takesDownload, let max = link.maxDownloads {
            takeDownload = { [services] in
                guard try await services.catalog.takeDownload(linkID: link.id, clientKey: clientKey, max: max, now: now)
                else { throw await failure.record(FerryError(.linkUsed, LinkDecision.linkUsedMessage)) }
                services.metrics.downloadTaken()
            }
        }
        let remaining = max(0, Int(Double(token.expiresAt) - now.timeIntervalSince1970))
        return Delivery.Options(
            disposition: ContentDisposition(kind: token.disposition, filename: token.filename ?? name),
            cacheControl: "private, max-age=\(remaining)", actor: link.issuerName, clientIP: facts.clientIP,
            auditDetail: ["link_id": .string(link.id), "via": "link"], beforeBytes: takeDownload)
    }

    /// The password a request shows: this link's cookie (browsers), else HTTP Basic with any user
    /// name (programs). A cookie of a changed password counts as none, so the page asks again.
    func passwordVerdict(
        _ request: Request, link: LinkRecord, clientIP: String
    ) async throws
        -> LinkDecision.PasswordVerdict
    {
        if let cookie = request.cookies[LinkPasswords.cookieName]?.value,
            services.linkPasswords.acceptsCookie(cookie, link: link)
        {
            return .accepted
        }
        return try await services.linkPasswords.check(Self.basicPassword(request), link: link, clientIP: clientIP)
    }

    /// The password of `Authorization: Basic` (the user name is ignored); nil without one.
    static func basicPassword(_ request: Request) -> String? {
        guard let authorization = request.headers[.authorization] else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return String(text[text.index(after: colon)...])
    }

    /// `POST /t/{token}`: the password page's form. The right password -> 303 back to the link
    /// with a cookie scoped to it; a wrong one -> the page again (401), too many -> 429.
    @Sendable func submitPassword(_ request: Request, context: Context) async throws -> Response {
        let facts = try await facts(request, context: context)
        let failure = Failure(services: services, request: request, clientIP: facts.clientIP, link: facts.state?.link)
        guard request.headers[.origin] == services.configuration.publicOrigin else {
            throw FerryError(.forbidden, "The password form must be sent from this link's own page.")
        }
        // Whatever comes before the password (signature, revoked, expiry) answers as it would on GET.
        guard case .checkPassword = facts.decide(password: nil), let link = facts.state?.link else {
            if case .refuse(let refusal) = facts.decide(password: nil) { throw await failure.record(refusal.error) }
            throw FerryError(.badRequest, "This link has no password; open it directly.")
        }
        let body = try await request.body.collect(upTo: 8192)
        let password = FormQuery(String(buffer: body)).get("password") ?? ""
        let verdict: LinkDecision.PasswordVerdict
        do {
            verdict = try await services.linkPasswords.check(password, link: link, clientIP: facts.clientIP)
        } catch let error as FerryError where error.code == .rateLimited {
            _ = await failure.record(error)
            return LinkPasswordPage.response(
                path: facts.path, status: .tooManyRequests, error: error.message, retryAfter: error.retryAfter)
        }
        guard verdict == .accepted, let cookie = services.linkPasswords.cookieValue(link: link) else {
            let refusal = FerryError(.wrongPassword, LinkDecision.wrongPasswordMessage)
            _ = await failure.record(verdict == .missing ? FerryError(.passwordRequired, "") : refusal)
            return LinkPasswordPage.response(
                path: facts.path, status: .unauthorized,
                error: verdict == .missing ? "Type the password." : refusal.message)
        }
        let lifetime = max(0, Int(link.expiresAt.timeIntervalSince(facts.now).rounded(.down)))
        let setCookie =
            "\(LinkPasswords.cookieName)=\(cookie); Path=\(facts.path); Max-Age=\(lifetime); HttpOnly; SameSite=Lax"
            + (services.configuration.isSecure ? "; Secure" : "")
        return Response(
            status: .seeOther, headers: [.location: facts.path, .setCookie: setCookie, .cacheControl: "no-store"])
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
