#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The rule of API.md "Link delivery": whether a request on `/t/{token}` is served, in one pure
/// function of what the handler gathered (the verified token, the link's state from the catalog,
/// the client, the clock). The handler does the I/O before it and acts and audits after it.
///
/// Checks, in order: signature -> revoked -> expiry -> password -> address binding -> file exists
/// -> version -> issuer's access -> link previews (limited links) -> downloads left.
public enum LinkDecision: Equatable, Sendable {
    /// The link has a password and `password` was nil: check it (slow hash, rate limit: I/O the
    /// handler does) and decide again with the verdict. Nothing after the password was looked at.
    case checkPassword
    /// Refused with this code and message (also the audit's `detail.code`).
    case refuse(Refusal)
    /// Served; `takesDownload` when the client must take one of a limited link's downloads if the
    /// answer carries bytes (taken atomically in the catalog at that moment, `Catalog.takeDownload`).
    case serve(file: FileRecord, takesDownload: Bool)
    /// Served, for a bundle link: every member checked by the handler (`BundleCheck`).
    case serveBundle(takesDownload: Bool)

    /// For a bundle link, what the handler found of the bundle and its members for the link's
    /// issuer: nil when all is well, else the refusal at the "file exists / version / access" step.
    public enum BundleCheck: Equatable, Sendable {
        case ok
        case refused(Refusal)
    }

    /// Why a request was refused: an API code and a sentence for the person.
    public struct Refusal: Equatable, Sendable {
        /// The API code.
        public var code: FerryError.Code
        /// A sentence a person can act on.
        public var message: String

        /// The error to answer with.
        public var error: FerryError { FerryError(code, message) }

        /// Creates a refusal.
        public init(code: FerryError.Code, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// User agents of chat apps' link previewers: they never take a download of a limited link.
    public static let previewAgents = [
        "Slackbot", "facebookexternalhit", "Twitterbot", "Discordbot", "WhatsApp", "TelegramBot", "LinkedInBot",
        "SkypeUriPreview", "Mattermost", "Iframely", "Google-PageRenderer",
    ]

    static let previewAgentBytes = previewAgents.map { Array($0.utf8) }

    /// Whether `userAgent` names one of `previewAgents` (case as written). A plain byte search,
    /// hand-written: the standard library's `String.contains(_:)` builds a searcher per call and
    /// was 14 % of a refused limited-link request's CPU in profiles.
    public static func isPreviewAgent(_ userAgent: String) -> Bool {
        var text = userAgent
        return text.withUTF8 { bytes in
            previewAgentBytes.contains { pattern in
                guard pattern.count <= bytes.count, let first = pattern.first else { return false }
                var start = 0
                while start <= bytes.count - pattern.count {
                    if bytes[start] == first {
                        var matched = 1
                        while matched < pattern.count, bytes[start + matched] == pattern[matched] { matched += 1 }
                        if matched == pattern.count { return true }
                    }
                    start += 1
                }
                return false
            }
        }
    }

    /// What the client showed for a password link, once checked.
    public enum PasswordVerdict: Equatable, Sendable {
        /// The right password, or a cookie or fast digest issued for it.
        case accepted
        /// No password at all.
        case missing
        /// A wrong password (or a cookie of a password that was changed).
        case wrong
    }

    /// Decides a request. `token` is nil when its signature did not verify; `state` is nil when
    /// the catalog has no such link; `password` is nil until the handler checked one.
    public static func decide(
        token: LinkToken?, state: LinkState?, clientIP: String, userAgent: String, now: Date,
        password: PasswordVerdict? = nil, bundle: BundleCheck? = nil
    ) -> LinkDecision {
        guard let token else {
            return refuse(.invalidSignature, "This link is not valid: it was altered or its signing key was retired.")
        }
        guard let state, state.link.fileID == token.fileID, state.link.fileVersion == token.fileVersion else {
            return refuse(.invalidSignature, "This link is not valid; ask for a fresh one.")
        }
        if state.link.revokedAt != nil {
            return refuse(.linkRevoked, "This link was revoked. Ask the sender for a new one.")
        }
        if now.timeIntervalSince1970 >= Double(token.expiresAt) {
            let at = HTTPDate.rfc3339(Date(timeIntervalSince1970: Double(token.expiresAt)))
            return refuse(.linkExpired, "This download link expired at \(at). Ask for a fresh link.")
        }
        if state.link.passwordHash != nil {
            switch password {
            case nil: return .checkPassword
            case .missing?: return refuse(.passwordRequired, passwordRequiredMessage)
            case .wrong?: return refuse(.wrongPassword, wrongPasswordMessage)
            case .accepted?: break
            }
        }
        if let bound = token.bindIP, IPAddress.parse(bound) != IPAddress.parse(clientIP) {
            return refuse(
                .ipMismatch,
                "This link is bound to another network address; open it from the address it was issued for.")
        }
        if state.link.subject == .bundle {
            switch bundle ?? .refused(Refusal(code: .fileGone, message: "The bundle behind this link was deleted.")) {
            case .refused(let refusal): return .refuse(refusal)
            case .ok: break
            }
            return downloads(state: state, userAgent: userAgent) { .serveBundle(takesDownload: $0) }
        }
        guard let file = state.file else { return refuse(.fileGone, "The file behind this link was deleted.") }
        guard file.version == token.fileVersion else {
            return refuse(.fileChanged, "The file was replaced after this link was issued. Ask for a fresh link.")
        }
        guard state.issuerMayRead else {
            return refuse(.forbidden, "The person who shared this link no longer has access to the file.")
        }
        return downloads(state: state, userAgent: userAgent) { .serve(file: file, takesDownload: $0) }
    }

    /// The last steps: link previews (limited links), then downloads left.
    static func downloads(state: LinkState, userAgent: String, serve: (Bool) -> LinkDecision) -> LinkDecision {
        guard let max = state.link.maxDownloads else { return serve(false) }
        if isPreviewAgent(userAgent) {
            return refuse(.forbidden, "Link previews are not served for limited links.")
        }
        if state.clientHoldsDownload { return serve(false) }
        if state.downloadsUsed >= max { return refuse(.linkUsed, linkUsedMessage) }
        return serve(true)
    }

    /// What a client without the password of a password link hears.
    public static let passwordRequiredMessage =
        "This link is protected by a password: send it as HTTP Basic credentials with any user name (curl -u :PASSWORD), or open the link in a browser."
    /// What a client with a wrong password hears.
    public static let wrongPasswordMessage = "The password is wrong. Check it with the person who sent the link."

    /// What a client hears when the last download went to another client.
    public static let linkUsedMessage = "Every download of this link has been used. Ask the sender for a new link."

    static func refuse(_ code: FerryError.Code, _ message: String) -> LinkDecision {
        .refuse(Refusal(code: code, message: message))
    }
}
