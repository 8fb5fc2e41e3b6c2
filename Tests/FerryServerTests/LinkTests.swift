import FerryAPIModels
import FerryCore
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import FerryServer

@Suite struct LinkTests {
    static let bytes = TestData.bytes(50_000, seed: 5)

    func issue(
        _ client: any TestClientProtocol, _ file: APIFile, token: String, _ body: String = "{}"
    ) async throws
        -> APIIssuedLink
    {
        let r = try await client.json("/v1/files/\(file.id)/links", method: .post, token: token, body: body)
        #expect(r.status == .created, "\(String(buffer: r.body))")
        return try JSONDecoder().decode(APIIssuedLink.self, from: Data(buffer: r.body))
    }

    func path(_ url: String) -> String { String(url[url.range(of: "/t/")!.lowerBound...]) }

    func fetch(
        _ client: any TestClientProtocol, _ link: APIIssuedLink, agent: String = "curl/8", range: String? = nil,
        method: HTTPRequest.Method = .get
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.userAgent: agent]
        if let range { headers[.range] = range }
        return try await client.execute(uri: path(link.url), method: method, headers: headers)
    }

    func auditCodes(_ server: TestServer, file: String?) async throws -> [String] {
        try await server.auditEvents(AuditFilter(fileID: file, event: "download.failed")).items
            .compactMap { if case .string(let code)? = $0.detail["code"] { code } else { nil } }
    }

    @Test func issuedLinkServesBytesRangesAndHidesTheURLAfterwards() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let link = try await issue(client, file, token: server.adminToken, #"{"ttl_seconds": 60}"#)
            #expect(link.url.hasPrefix("http://127.0.0.1:\(server.port)/t/"))
            #expect(link.strategy == "server" && link.etag == file.etag && link.maxDownloads == nil)
            let full = try await fetch(client, link)
            #expect(full.status == .ok)
            #expect(Array(full.body.readableBytesView) == Self.bytes)
            let cache = try #require(full.headers[.cacheControl])
            #expect(cache.hasPrefix("private, max-age=") && Int(cache.dropFirst(17))! <= 60)
            let part = try await fetch(client, link, range: "bytes=-10")
            #expect(part.status == .partialContent)
            #expect(Array(part.body.readableBytesView) == Array(Self.bytes.suffix(10)))
            let listing = String(
                buffer: try await client.get("/v1/files/\(file.id)/links", token: server.adminToken).body)
            #expect(
                listing.contains(link.id) && !listing.contains("/t/") && !listing.contains(path(link.url).dropFirst(3)))
            let events = try await server.auditEvents(
                AuditFilter(fileID: file.id, event: "download.completed"))
            #expect(events.items.first?.detail["link_id"] == .string(link.id))
            #expect(events.items.first?.detail["via"] == .string("link"))
        }
    }

    @Test func alteredLinkIsInvalidSignatureAndAudited() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let link = try await issue(client, file, token: server.adminToken)
            var tampered = link
            tampered.url = String(link.url.dropLast()) + (link.url.hasSuffix("A") ? "B" : "A")
            let r = try await fetch(client, tampered)
            #expect(r.status == .forbidden)
            #expect(ErrorInfo.code(r) == "invalid_signature")
            let garbage = try await client.execute(uri: "/t/not-a-token", method: .get)
            #expect(ErrorInfo.code(garbage) == "invalid_signature")
            #expect(try await auditCodes(server, file: nil).filter { $0 == "invalid_signature" }.count == 2)
        }
    }

    @Test func expiryIsCheckedWhenTheRequestArrives() async throws {
        let clock = TestClock()
        let server = try await TestServer.make(now: clock.now)
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let link = try await issue(client, file, token: server.adminToken, #"{"ttl_seconds": 30}"#)
            clock.advance(by: 29)
            #expect(try await fetch(client, link).status == .ok)
            clock.advance(by: 1)
            let r = try await fetch(client, link)
            #expect(r.status == .forbidden)
            #expect(ErrorInfo.code(r) == "link_expired")
            #expect(try await auditCodes(server, file: file.id) == ["link_expired"])
        }
    }

    @Test func ttlAboveTheMaximumIsRefused() async throws {
        let server = try await TestServer.make(["FERRY_LINK_TTL_MAX": "600"])
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let r = try await client.json(
                "/v1/files/\(file.id)/links", method: .post, token: server.adminToken, body: #"{"ttl_seconds": 601}"#)
            #expect(ErrorInfo.code(r) == "bad_request")
            let both = try await client.json(
                "/v1/files/\(file.id)/links", method: .post, token: server.adminToken,
                body: #"{"single_use": true, "max_downloads": 3}"#)
            #expect(ErrorInfo.code(both) == "bad_request")
        }
    }

    @Test func revokedLinkStopsAtOnceAndIsListedAsRevoked() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let link = try await issue(client, file, token: server.adminToken)
            #expect(
                try await client.get("/v1/links/\(link.id)", token: server.adminToken, method: .delete).status
                    == .noContent)
            let r = try await fetch(client, link)
            #expect(ErrorInfo.code(r) == "link_revoked")
            let listing = String(
                buffer: try await client.get("/v1/files/\(file.id)/links", token: server.adminToken).body)
            #expect(listing.contains("\"revoked_at\":\"20"))
            let revokedEvents = try await server.auditEvents(AuditFilter(event: "link.revoked"))
            #expect(revokedEvents.items.count == 1)
        }
    }

    @Test func replacedOrDeletedFileEndsTheLink() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let link = try await issue(client, file, token: server.adminToken)
            _ = try await client.execute(
                uri: "/v1/files/\(file.id)/content", method: .put,
                headers: [.authorization: "Bearer \(server.adminToken)"],
                body: ByteBuffer(bytes: TestData.bytes(10)))
            let changed = try await fetch(client, link)
            #expect(changed.status == .gone)
            #expect(ErrorInfo.code(changed) == "file_changed")
            let fresh = try await issue(client, file, token: server.adminToken)
            _ = try await client.get("/v1/files/\(file.id)", token: server.adminToken, method: .delete)
            let gone = try await fetch(client, fresh)
            #expect(gone.status == .gone)
            #expect(ErrorInfo.code(gone) == "file_gone")
        }
    }

    @Test func boundLinkRefusesOtherAddresses() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let link = try await issue(client, file, token: server.adminToken, #"{"bind_ip": "10.1.2.3"}"#)
            #expect(link.strategy == "server")
            #expect(ErrorInfo.code(try await fetch(client, link)) == "ip_mismatch")
        }
    }

    @Test func revokedGrantOrDisabledIssuerStopsTheirLinks() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let bob = try await server.user("bob")
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            _ = try await client.json(
                "/v1/files/\(file.id)/grants", method: .post, token: server.adminToken, body: #"{"username":"bob"}"#)
            let link = try await issue(client, file, token: bob)
            #expect(try await fetch(client, link).status == .ok)
            _ = try await client.get("/v1/files/\(file.id)/grants/bob", token: server.adminToken, method: .delete)
            let r = try await fetch(client, link)
            #expect(r.status == .forbidden)
            #expect(ErrorInfo.code(r) == "forbidden")
        }
    }

    @Test func checkOrderRevokedBeforeExpiredBeforeGone() async throws {
        let clock = TestClock()
        let server = try await TestServer.make(now: clock.now)
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let a = try await issue(client, file, token: server.adminToken, #"{"ttl_seconds": 10}"#)
            let b = try await issue(
                client, file, token: server.adminToken, #"{"ttl_seconds": 10, "bind_ip": "10.9.9.9"}"#)
            let c = try await issue(
                client, file, token: server.adminToken, #"{"ttl_seconds": 100, "bind_ip": "10.9.9.9"}"#)
            _ = try await client.get("/v1/links/\(a.id)", token: server.adminToken, method: .delete)
            _ = try await client.get("/v1/files/\(file.id)", token: server.adminToken, method: .delete)
            clock.advance(by: 11)
            #expect(ErrorInfo.code(try await fetch(client, a)) == "link_revoked")
            #expect(ErrorInfo.code(try await fetch(client, b)) == "link_expired")
            #expect(ErrorInfo.code(try await fetch(client, c)) == "ip_mismatch")
        }
    }

    @Test func singleUseLinkCountsDownloadsNotRequests() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let link = try await issue(client, file, token: server.adminToken, #"{"single_use": true}"#)
            #expect(link.maxDownloads == 1)
            // HEAD and a preview bot take nothing.
            #expect(try await fetch(client, link, agent: "curl/8", method: .head).status == .ok)
            let preview = try await fetch(client, link, agent: "Slackbot-LinkExpanding 1.0")
            #expect(preview.status == .forbidden && preview.body.readableBytes < 200)
            // The first client takes the download with a range; its further ranges are free.
            #expect(try await fetch(client, link, agent: "aria2/1.36", range: "bytes=0-999").status == .partialContent)
            #expect(try await fetch(client, link, agent: "aria2/1.36", range: "bytes=1000-").status == .partialContent)
            #expect(try await fetch(client, link, agent: "aria2/1.36").status == .ok)
            let other = try await fetch(client, link, agent: "Wget/1.21")
            #expect(other.status == .gone)
            #expect(ErrorInfo.code(other) == "link_used")
            let listing = String(
                buffer: try await client.get("/v1/files/\(file.id)/links", token: server.adminToken).body)
            #expect(listing.contains("\"downloads_used\":1"))
        }
    }

    @Test func racingClientsForTheLastDownloadExactlyOneWins() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(TestData.bytes(2000), token: server.adminToken)
            for round in 0..<50 {
                let link = try await issue(client, file, token: server.adminToken, #"{"max_downloads": 1}"#)
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for agent in 0..<20 {
                        group.addTask {
                            try await fetch(client, link, agent: "client-\(round)-\(agent)", range: "bytes=0-9").status
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == .partialContent }.count == 1)
                #expect(statuses.filter { $0 == .gone }.count == 19)
            }
        }
    }

    @Test func manifestCarriesAFreshLinkAndBlockHashes() async throws {
        let server = try await TestServer.make()
        let bytes = TestData.bytes(9 * 1024 * 1024)
        try await server.test { client in
            let file = try await client.uploadFile(bytes, token: server.adminToken)
            let r = try await client.get("/v1/files/\(file.id)/manifest", token: server.adminToken)
            let manifest = try JSONDecoder().decode(APIManifest.self, from: Data(buffer: r.body))
            #expect(manifest.file.id == file.id && manifest.blockSize == 8_388_608)
            #expect(
                manifest.blockSHA256 == [TestData.sha256(bytes[0..<8_388_608]), TestData.sha256(bytes[8_388_608...])])
            #expect(
                manifest.partSize >= 1 << 20 && manifest.partSize <= 64 << 20
                    && manifest.partSize.nonzeroBitCount == 1)
            #expect(manifest.refresh == "/v1/files/\(file.id)/manifest")
            let got = try await client.execute(
                uri: path(manifest.link.url), method: .get, headers: [.range: "bytes=0-3"])
            #expect(got.status == .partialContent)
        }
    }

    @Test func brokerServesSignedInUsersAndSendsBrowsersToLogin() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let r = try await client.get("/d/\(file.id)", token: server.adminToken, headers: [.range: "bytes=10-19"])
            #expect(r.status == .partialContent)
            #expect(Array(r.body.readableBytesView) == Array(Self.bytes[10...19]))
            let browser = try await client.get("/d/\(file.id)", token: nil, headers: [.accept: "text/html,*/*"])
            #expect(browser.status == .found)
            #expect(
                browser.headers[.location]
                    == "/login?next=%2Fd%2F\(file.id.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
            let program = try await client.get("/d/\(file.id)", token: nil)
            #expect(program.status == .unauthorized)
            let stranger = try await server.user("stranger")
            #expect(try await client.get("/d/\(file.id)", token: stranger).status == .notFound)
        }
    }

    @Test func rotatedKeysKeepOldLinksValidUntilRetired() throws {
        let old = FerryConfiguration.SigningKey(id: "k1", secret: Array(repeating: 1, count: 32))
        let new = FerryConfiguration.SigningKey(id: "k2", secret: Array(repeating: 2, count: 32))
        let token = LinkToken(
            linkID: "l", fileID: "f", fileVersion: 1, expiresAt: 1, keyID: "k1", disposition: .attachment, bindIP: nil,
            filename: "x"
        ).signed(with: old.secret)
        #expect(LinkToken.verify(token, keys: SigningKeyring(keys: [new, old]).verifying) != nil)
        #expect(LinkToken.verify(token, keys: SigningKeyring(keys: [new]).verifying) == nil)
    }

    @Test func aGeneratedSigningKeyIsPrivateCompleteAndKept() throws {
        let directory = NSTemporaryDirectory() + "ferry-keys-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = try FerryConfiguration(environment: ["FERRY_DATA_DIR": directory])
        let first = try SigningKeyring.load(configuration)
        let path = directory + "/signing-keys"
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1) & 0o777
        #expect(mode == 0o600)
        #expect(first.current.secret.count == 32)
        // Nothing beside it: the temporary file is gone.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["signing-keys"])
        #expect(try SigningKeyring.load(configuration).current.id == first.current.id)
        // A second node creating it at the same moment keeps the first node's key.
        try SigningKeyring.createSecretFile(path, contents: Array("kOther:AAAA\n".utf8))
        #expect(try SigningKeyring.load(configuration).current.secret == first.current.secret)
    }
}
