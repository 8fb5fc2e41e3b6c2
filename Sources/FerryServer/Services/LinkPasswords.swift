import Crypto
import FerryCore
import Foundation
import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// Checks the password of a password link (API.md "Password-protected links") so that the slow
/// hash runs at most once per client and link on a node, and guessing cannot burn CPU:
///
/// - A password that was checked once is remembered as a keyed digest
///   (HMAC(node key, link id, stored hash, password)): a segmented client's later requests are
///   matched against it, never the plain password and never bcrypt again. The node key is random
///   per process and never stored; another node re-derives the digest with one slow hash.
/// - Concurrent first requests with the same password share one slow hash (single flight).
/// - Before a slow hash runs, the attempt is counted in the catalog per link and address (the
///   sign-in limiter's table, so every node counts together): the 6th in a minute is 429.
/// - Browsers get a cookie: HMAC(signing key, link id, stored hash, expiry), verifiable on any node.
///
/// Every digest includes the stored hash, so changing or removing the password (a new hash with
/// a new salt) ends every cookie and remembered check at once.
final class LinkPasswords: Sendable {
    /// Failed password attempts allowed per link and address in a window, across nodes.
    static let attemptLimit = 5
    static let attemptWindow: TimeInterval = 60
    /// The cookie holding a browser's proof, scoped to the link's path.
    static let cookieName = "ferry_link"
    /// Remembered digests per node; past it, the oldest half is forgotten (one slow hash again).
    static let rememberedLimit = 50_000

    let catalog: any Catalog
    let keyring: SigningKeyring
    let metrics: FerryMetrics
    let now: @Sendable () -> Date
    private let nodeKey: [UInt8] = (0..<32).map { _ in UInt8.random(in: .min ... .max) }
    private let state = Mutex(State())

    private struct State {
        var remembered: [String: UInt64] = [:]
        var sequence: UInt64 = 0
        var inFlight: [String: Task<Bool, any Error>] = [:]
    }

    init(catalog: any Catalog, keyring: SigningKeyring, metrics: FerryMetrics, now: @escaping @Sendable () -> Date) {
        self.catalog = catalog
        self.keyring = keyring
        self.metrics = metrics
        self.now = now
    }

    /// Hashes a new link password (bcrypt, off the event loop).
    static func hash(_ password: String) async throws -> String {
        try await Authenticator.hashPassword(password)
    }

    /// Refuses a password API.md does not accept.
    static func validate(_ password: String) throws {
        guard (8...1024).contains(password.count) else {
            throw FerryError(.badRequest, "password must be 8 to 1024 characters long.")
        }
    }

    /// The verdict on `password` (nil: none was sent) for `link`. Throws 429 when the client
    /// has guessed too often.
    func check(_ password: String?, link: LinkRecord, clientIP: String) async throws -> LinkDecision.PasswordVerdict {
        guard let stored = link.passwordHash else { return .accepted }
        guard let password, !password.isEmpty else { return .missing }
        let digest = fastDigest(password, link: link, stored: stored)
        // The common case, every request of a segmented download after its first: no task, no await.
        let task: Task<Bool, any Error>? = state.withLock { state in
            if state.remembered[digest] != nil { return nil }
            if let running = state.inFlight[digest] { return running }
            let task = Task { [self] in
                try await slowCheck(password, link: link, stored: stored, clientIP: clientIP)
            }
            state.inFlight[digest] = task
            return task
        }
        guard let task else { return .accepted }
        let ok: Bool
        do {
            ok = try await task.value
        } catch {
            state.withLock { _ = $0.inFlight.removeValue(forKey: digest) }
            throw error
        }
        state.withLock { state in
            state.inFlight.removeValue(forKey: digest)
            guard ok, state.remembered[digest] == nil else { return }
            if state.remembered.count >= Self.rememberedLimit {
                let cut = state.sequence - UInt64(Self.rememberedLimit / 2)
                state.remembered = state.remembered.filter { $0.value > cut }
            }
            state.sequence += 1
            state.remembered[digest] = state.sequence
        }
        return ok ? .accepted : .wrong
    }

    /// Counts the attempt, then runs bcrypt off the event loop.
    private func slowCheck(_ password: String, link: LinkRecord, stored: String, clientIP: String) async throws -> Bool
    {
        let key = "link|\(link.id)|\(clientIP)"
        try await catalog.takeAttempt(
            key: key, at: now(), limit: Self.attemptLimit, window: Self.attemptWindow,
            refusal: { "Too many wrong passwords for this link; wait \($0) seconds and try again." })
        metrics.linkPasswordHashed()
        let ok = try await PasswordHashing.verify(password, hash: stored)
        if ok { try await catalog.clearLoginAttempts(key: key) }
        return ok
    }

    private func fastDigest(_ password: String, link: LinkRecord, stored: String) -> String {
        let message = Array("ferry-link-password\n\(link.id)\n\(stored)\n".utf8) + Array(password.utf8)
        return Data(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: nodeKey)))
            .base64EncodedString()
    }

    /// The cookie value proving this browser gave the link's password: valid on every node until
    /// the link expires or its password changes.
    func cookieValue(link: LinkRecord) -> String? {
        guard let stored = link.passwordHash else { return nil }
        return Self.cookieMAC(link: link, stored: stored, key: keyring.current)
    }

    /// Whether a cookie value proves the password of `link` (any verifying key, constant time).
    func acceptsCookie(_ value: String, link: LinkRecord) -> Bool {
        guard let stored = link.passwordHash, let dot = value.lastIndex(of: "."),
            let secret = keyring.verifying[String(value[..<dot])]
        else { return false }
        let keyID = value[..<dot]
        let expected = Self.cookieMAC(
            link: link, stored: stored, key: FerryConfiguration.SigningKey(id: String(keyID), secret: secret))
        return Identifier.hash(expected) == Identifier.hash(value)
    }

    private static func cookieMAC(link: LinkRecord, stored: String, key: FerryConfiguration.SigningKey) -> String {
        let message = Array(
            "ferry-link-cookie\n\(link.id)\n\(stored)\n\(Int64(link.expiresAt.timeIntervalSince1970))".utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key.secret))
        return key.id + "." + Base64URL.encode(Array(mac))
    }
}
