import AsyncHTTPClient
import FerryBuildInfo
import FerryCatalogPostgres
import FerryCore
import FerryStorageS3
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS

/// The checks that look at the deployment from outside: what the public URL reaches, its TLS
/// certificate, what the bucket shows to anyone, the CDN's key, and PostgreSQL notifications.
extension Doctor {
    // MARK: The running service

    /// `/healthz` (with the node's build) and `/readyz` through the public URL, then whether the
    /// node there holds this configuration's signing key, and its TLS certificate.
    func serviceChecks() async -> [Check] {
        let client = Self.httpClient()
        defer { _ = client.shutdown() }
        let base = configuration.publicURL
        var checks: [Check] = []
        var answers = false
        for path in ["/healthz", "/readyz"] {
            let name = "service" + path.replacingOccurrences(of: "/", with: ".")
            do {
                let response = try await client.execute(HTTPClientRequest(url: base + path), timeout: timeout)
                let body = try await response.body.collect(upTo: 64 << 10)
                answers = true
                guard response.status.code == 200 else {
                    checks.append(
                        Check(
                            name, .fail, "\(base)\(path) answers \(response.status.code)",
                            fix: path == "/readyz"
                                ? "The node runs but its catalog or storage does not answer; see its log."
                                : "Something else answers at FERRY_PUBLIC_URL; check the proxy in front."))
                    continue
                }
                checks.append(healthCheck(name: name, url: base + path, body: Array(body.readableBytesView)))
            } catch let error where Self.isTLSFailure(error) {
                answers = true
                checks.append(
                    Check(
                        name, .fail, "\(base)\(path): the TLS handshake failed (\(Self.describeTLS(error)))",
                        fix:
                            "Serve a certificate for this host name from a CA this host trusts (and its full chain)."
                    ))
            } catch {
                checks.append(
                    Check(
                        name, .skip,
                        "nothing answers at \(base)\(path) (\(Self.describe(error))): the service is not running there",
                        fix: "Start `ferry serve`, or check that FERRY_PUBLIC_URL is the address users reach."))
            }
        }
        if answers, checks.allSatisfy({ $0.status == .ok }) { checks.append(await deploymentCheck(client)) }
        if let tls = await tlsCheck() { checks.append(tls) }
        return checks
    }

    /// `/healthz`'s answer names the node's build; another build than this one is worth a word.
    func healthCheck(name: String, url: String, body: [UInt8]) -> Check {
        guard name == "service.healthz" else { return Check(name, .ok, "\(url) answers 200") }
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        guard let version = object?["version"] as? String else {
            return Check(name, .ok, "\(url) answers 200 (a Ferry older than 0.30, or not Ferry)")
        }
        if version != FerryVersion.description {
            return Check(
                name, .warn, "\(url) answers 200 from ferry \(version); this is ferry \(FerryVersion.description)",
                fix: "Run the same build on every node and for `ferry doctor`, or read this report with that in mind.")
        }
        return Check(name, .ok, "\(url) answers 200 from ferry \(version), this build")
    }

    /// Whether the node behind the public URL is this deployment: it answers a random nonce with
    /// an HMAC under a key derived from the signing key (`/readyz?probe=`, header `Ferry-Probe`).
    func deploymentCheck(_ client: HTTPClient) async -> Check {
        let keyring: SigningKeyring?
        do { keyring = try SigningKeyring.existing(configuration) } catch {
            return Check("service.deployment", .skip, "cannot read the signing keys: \(Self.describe(error))")
        }
        guard let keyring else {
            return Check("service.deployment", .skip, "no signing key yet to compare with the running node's")
        }
        let nonce = Identifier.make()
        let url = configuration.publicURL + "/readyz?probe=" + nonce
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: timeout)
            _ = try? await response.body.collect(upTo: 64 << 10)
            guard let proof = response.headers.first(name: "ferry-probe") else {
                return Check(
                    "service.deployment", .fail,
                    "\(configuration.publicURL) answers, but not as a Ferry node of this configuration (no probe answer)",
                    fix:
                        "Point FERRY_PUBLIC_URL at this deployment's front (or let the proxy pass /readyz's query and the Ferry-Probe header)."
                )
            }
            // Constant time, like every secret comparison (STYLE.md).
            guard Identifier.hash(proof) == Identifier.hash(keyring.deploymentProof(nonce: nonce)) else {
                return Check(
                    "service.deployment", .fail,
                    "the node at \(configuration.publicURL) signs with another key than this configuration's",
                    fix:
                        "FERRY_PUBLIC_URL reaches another deployment, or the nodes' FERRY_SIGNING_KEYS differ: give every node the same keys (first one signing)."
                )
            }
            return Check(
                "service.deployment", .ok,
                "the node at \(configuration.publicURL) holds this configuration's signing key")
        } catch {
            return Check("service.deployment", .skip, "the probe failed: \(Self.describe(error))")
        }
    }

    /// The public URL's certificate: expired fails, under 14 days warns. Read without judging
    /// trust (the `/healthz` request judges that), so an expiring certificate is seen either way.
    func tlsCheck() async -> Check? {
        guard let url = URL(string: configuration.publicURL), url.scheme == "https", let host = url.host else {
            return nil
        }
        let port = url.port ?? 443
        do {
            let certificate = try await bounded { try await Self.peerCertificate(host: host, port: port) }
            let expires = Date(timeIntervalSince1970: TimeInterval(certificate.notValidAfter))
            let left = expires.timeIntervalSince(now())
            let date = HTTPDate.format(expires)
            if left <= 0 {
                return Check(
                    "service.tls", .fail, "the certificate of \(host):\(port) expired on \(date)",
                    fix: "Renew it now (e.g. certbot renew) and reload the proxy: every client refuses it.")
            }
            let days = Int(left / 86_400)
            if days < 14 {
                return Check(
                    "service.tls", .warn, "the certificate of \(host):\(port) expires in \(days) days (\(date))",
                    fix: "Renew it (e.g. certbot renew) and check that renewal runs on its own.")
            }
            return Check("service.tls", .ok, "the certificate of \(host):\(port) is valid for \(days) more days")
        } catch {
            return Check(
                "service.tls", .fail, "no TLS handshake with \(host):\(port): \(Self.describe(error))",
                fix: "Serve TLS on the public URL's port, or set FERRY_PUBLIC_URL to the address users reach.")
        }
    }

    /// The leaf certificate `host:port` presents. By hand on SwiftNIO: the HTTP client does not
    /// expose the peer's certificate.
    static func peerCertificate(host: String, port: Int) async throws -> NIOSSLCertificate {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none  // read, not judged: see tlsCheck
        let context = try NIOSSLContext(configuration: tls)
        let isAddress = host.allSatisfy { $0.isHexDigit || $0 == "." || $0 == ":" }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(HandshakeWaiter())
                }
            }
            .connect(host: host, port: port).get()
        defer { channel.close(promise: nil) }
        let waiter = try await channel.pipeline.handler(type: HandshakeWaiter.self).get()
        try await waiter.done.futureResult.get()
        guard let certificate = try await channel.nioSSL_peerCertificate().get() else {
            throw DoctorFailure("the server presented no certificate")
        }
        return certificate
    }

    /// A TLS failure in words a person can act on.
    static func describeTLS(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "this host does not trust the certificate: self-signed, an unknown CA or an incomplete chain"
        }
        if text.contains("hostname") || text.contains("HOSTNAME") { return "the certificate is for another name" }
        return String(text.prefix(200))
    }

    static func isTLSFailure(_ error: any Error) -> Bool {
        error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError
    }

    // MARK: Storage seen by anyone

    /// An unsigned listing of the bucket and an unsigned read of the probe, through the public
    /// endpoint: either answering is a bucket open to the world.
    func anonymousAccessCheck(_ settings: S3BlobStore.Configuration, key: String) async -> Check {
        let client = Self.httpClient()
        defer { _ = client.shutdown() }
        do {
            let listing = try await client.execute(
                HTTPClientRequest(url: settings.unsignedURL(of: nil, query: "list-type=2&max-keys=1")),
                timeout: timeout)
            let listed = try await listing.body.collect(upTo: 1 << 20)
            let read = try await client.execute(HTTPClientRequest(url: settings.unsignedURL(of: key)), timeout: timeout)
            _ = try await read.body.collect(upTo: 1 << 20)
            var open: [String] = []
            if listing.status.code == 200, String(buffer: listed).contains("ListBucketResult") {
                open.append("lists its objects")
            }
            if read.status.code == 200 { open.append("serves an object") }
            guard open.isEmpty else {
                return Check(
                    "storage.anonymous", .fail,
                    "the bucket \(open.joined(separator: " and ")) to anyone, without a signature",
                    fix:
                        "Block public access (aws s3api put-public-access-block --bucket \(settings.bucket) --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true) and remove public grants from its policy and ACLs."
                )
            }
            return Check(
                "storage.anonymous", .ok,
                "unsigned requests are refused (listing \(listing.status.code), read \(read.status.code))")
        } catch {
            return Check("storage.anonymous", .skip, "cannot ask without a signature: \(Self.describe(error))")
        }
    }

    // MARK: CloudFront

    /// The CloudFront key loads and signs; when the distribution answers, a signed URL of an
    /// object that does not exist is let through to the origin (404 or the origin's 403), or
    /// refused by CloudFront for a reason this check names.
    func cloudFrontCheck() async -> Check? {
        guard let settings = configuration.cloudFront else { return nil }
        let url: String
        do {
            guard let signer = try Backends.cdnSigner(settings, prefix: "") else { return nil }
            url = try signer.signedURL(
                forKey: "doctor-probe/" + Identifier.make(),
                request: SignedURLRequest(
                    expiresAt: now().addingTimeInterval(300), now: now(), contentType: "text/plain",
                    contentDisposition: "attachment"))
        } catch {
            return Check(
                "links.cloudfront", .fail, "the CloudFront key cannot sign: \(Self.describe(error))",
                fix:
                    "FERRY_CLOUDFRONT_PRIVATE_KEY_FILE must hold the key pair's RSA private key (PEM), mode 0600, owned by this user."
            )
        }
        let client = Self.httpClient()
        defer { _ = client.shutdown() }
        let response: HTTPClientResponse
        let text: String
        do {
            response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
            text = String(buffer: try await response.body.collect(upTo: 64 << 10))
        } catch {
            return Check(
                "links.cloudfront", .ok,
                "the key loads and signs; https://\(settings.domain) does not answer from this host, so the distribution was not asked (\(Self.describe(error)))"
            )
        }
        let status = Int(response.status.code)
        let fromCloudFront = !text.contains("<RequestId>")  // S3's errors carry one, CloudFront's do not
        if status == 404 || (status == 403 && !fromCloudFront) || status == 200 {
            return Check(
                "links.cloudfront", .ok,
                "\(settings.domain) accepted a signed URL (the origin answered \(status) for a missing object)")
        }
        let message = text.range(of: "<Message>").flatMap { start in
            text.range(of: "</Message>", range: start.upperBound..<text.endIndex).map {
                String(text[start.upperBound..<$0.lowerBound])
            }
        }
        let cause = message ?? "HTTP \(status)"
        let fix =
            cause.localizedCaseInsensitiveContains("key-pair")
            ? "Set FERRY_CLOUDFRONT_KEY_PAIR_ID to the id of a public key in the distribution's trusted key group."
            : cause.localizedCaseInsensitiveContains("expired")
                ? "Synchronise this host's clock: CloudFront judges Expires by its own."
                : "Check that the distribution's trusted key group holds the public key of FERRY_CLOUDFRONT_PRIVATE_KEY_FILE, and that it forwards the response-content-* query parameters."
        return Check("links.cloudfront", .fail, "\(settings.domain) refused a signed URL: \(cause)", fix: fix)
    }

    // MARK: PostgreSQL notifications

    /// A LISTEN/NOTIFY round trip (what a pooler in transaction mode breaks).
    func notifyCheck(_ postgres: PostgresCatalog) async -> Check {
        do {
            if try await bounded({ try await postgres.notificationRoundTrip() }) {
                return Check("catalog.notify", .ok, "a LISTEN/NOTIFY round trip arrives")
            }
        } catch {}
        return Check(
            "catalog.notify", .warn, "a notification sent with NOTIFY did not arrive at its listener",
            fix:
                "Connect nodes to PostgreSQL directly or through a pooler in session mode: transaction pooling breaks LISTEN."
        )
    }
}

/// Completes `done` when the TLS handshake has, or fails it with the handshake's error.
private final class HandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    /// Set in `handlerAdded`, on the channel's event loop (hence `@unchecked`).
    var done: EventLoopPromise<Void>!

    func handlerAdded(context: ChannelHandlerContext) { done = context.eventLoop.makePromise() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { done.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { done.fail(error) }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(DoctorFailure("the connection closed during the TLS handshake"))
        context.fireChannelInactive()
    }
}
