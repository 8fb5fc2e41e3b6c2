import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

/// API.md "Password-protected links": Basic for programs, a page and a path-scoped cookie for
/// browsers, the slow hash once per client, failures limited and audited, changes end old proofs.
@Suite struct PasswordLinkTests {
    static let bytes = TestData.bytes(70_000, seed: 11)
    static let password = "correct horse battery"

    func issue(
        _ client: any TestClientProtocol, _ file: APIFile, token: String, _ body: String
    ) async throws
        -> APIIssuedLink
    {
        let r = try await client.json("/v1/files/\(file.id)/links", method: .post, token: token, body: body)
        #expect(r.status == .created, "\(String(buffer: r.body))")
        return try JSONDecoder().decode(APIIssuedLink.self, from: Data(buffer: r.body))
    }

    static func path(_ url: String) -> String { String(url[url.range(of: "/t/")!.lowerBound...]) }

    static func basic(_ password: String, user: String = "") -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    static func hashes(_ server: TestServer) -> Int {
        let text = String(decoding: server.services.metrics.render(), as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ferry_link_password_hashes_total ") })
        else { return 0 }
        return Int(line.split(separator: " ")[1]) ?? -1
    }

    @Test func programsUseBasicAndTheSlowHashRunsOncePerClient() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let tooShort = try await client.json(
                "/v1/files/\(file.id)/links", method: .post, token: server.adminToken, body: #"{"password": "short"}"#)
            #expect(tooShort.status == .badRequest && ErrorInfo.code(tooShort) == "bad_request")
            let link = try await issue(client, file, token: server.adminToken, #"{"password": "\#(Self.password)"}"#)
            #expect(link.strategy == "server")
            let path = Self.path(link.url)

            let none = try await client.execute(uri: path, method: .get, headers: [.userAgent: "curl/8"])
            #expect(none.status == .unauthorized && ErrorInfo.code(none) == "password_required")
            #expect(none.headers[.wwwAuthenticate] == #"Basic realm="Ferry link", charset="UTF-8""#)
            let wrong = try await client.execute(
                uri: path, method: .get, headers: [.authorization: Self.basic("not the password")])
            #expect(wrong.status == .unauthorized && ErrorInfo.code(wrong) == "wrong_password")
            #expect(wrong.headers[.wwwAuthenticate]?.hasPrefix("Basic ") == true)
            let hashesBefore = Self.hashes(server)

            // A segmented client: 16 ranges, some at once; any user name.
            var assembled = [UInt8](repeating: 0, count: Self.bytes.count)
            let part = Self.bytes.count / 16 + 1
            try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
                for index in 0..<16 {
                    group.addTask {
                        let start = index * part
                        let end = min(Self.bytes.count, start + part) - 1
                        let r = try await client.execute(
                            uri: path, method: .get,
                            headers: [
                                .authorization: Self.basic(Self.password, user: "x"), .range: "bytes=\(start)-\(end)",
                            ])
                        #expect(r.status == .partialContent, "\(String(buffer: r.body))")
                        return (start, Array(r.body.readableBytesView))
                    }
                }
                for try await (start, bytes) in group {
                    assembled.replaceSubrange(start..<start + bytes.count, with: bytes)
                }
            }
            #expect(assembled == Self.bytes)
            #expect(Self.hashes(server) == hashesBefore + 1)

            let listing = try JSONDecoder().decode(
                APILinkList.self,
                from: Data(buffer: try await client.get("/v1/files/\(file.id)/links", token: server.adminToken).body))
            #expect(listing.links.map(\.password) == [true])
            // The password is nowhere in the audit log.
            let events = try await server.auditEvents(AuditFilter(fileID: file.id))
            #expect(!events.items.isEmpty)
            for event in events.items { #expect(!"\(event.detail)".contains(Self.password)) }
            let codes = events.items.filter { $0.event == "download.failed" }.compactMap { $0.detail["code"] }
            #expect(codes.contains(.string("password_required")) && codes.contains(.string("wrong_password")))
        }
    }

    @Test func expiryAndRevocationComeFirstAndAWrongPasswordTakesNoDownload() async throws {
        let clock = Mutex(Date())
        let server = try await TestServer.make(now: { clock.withLock { $0 } })
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let limited = try await issue(
                client, file, token: server.adminToken,
                #"{"password": "\#(Self.password)", "max_downloads": 1, "ttl_seconds": 60}"#)
            let path = Self.path(limited.url)
            for agent in ["guesser-1", "guesser-2"] {
                let r = try await client.execute(
                    uri: path, method: .get, headers: [.userAgent: agent, .authorization: Self.basic("guess-guess")])
                #expect(ErrorInfo.code(r) == "wrong_password")
            }
            let owner = try await client.execute(
                uri: path, method: .get, headers: [.userAgent: "owner", .authorization: Self.basic(Self.password)])
            #expect(owner.status == .ok && Array(owner.body.readableBytesView) == Self.bytes)

            let revoked = try await issue(client, file, token: server.adminToken, #"{"password": "\#(Self.password)"}"#)
            #expect(
                try await client.get("/v1/links/\(revoked.id)", token: server.adminToken, method: .delete).status
                    == .noContent)
            let r1 = try await client.execute(uri: Self.path(revoked.url), method: .get)
            #expect(ErrorInfo.code(r1) == "link_revoked")

            clock.withLock { $0 = $0.addingTimeInterval(120) }
            let r2 = try await client.execute(uri: path, method: .get)
            #expect(ErrorInfo.code(r2) == "link_expired")
        }
    }

    @Test func guessingIsLimitedPerLinkAndAddressAndAudited() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let link = try await issue(client, file, token: server.adminToken, #"{"password": "\#(Self.password)"}"#)
            let path = Self.path(link.url)
            for attempt in 0..<5 {
                let r = try await client.execute(
                    uri: path, method: .get, headers: [.authorization: Self.basic("wrong-\(attempt)-guess")])
                #expect(ErrorInfo.code(r) == "wrong_password")
            }
            let hashes = Self.hashes(server)
            let blocked = try await client.execute(
                uri: path, method: .get, headers: [.authorization: Self.basic("wrong-5-guess")])
            #expect(blocked.status == .tooManyRequests && ErrorInfo.code(blocked) == "rate_limited")
            #expect(Int(blocked.headers[.retryAfter] ?? "") ?? 0 >= 1)
            // Counted before the slow hash: a blocked guess costs no bcrypt run.
            #expect(Self.hashes(server) == hashes)
            // Even the right password waits; another link is not affected.
            let right = try await client.execute(
                uri: path, method: .get, headers: [.authorization: Self.basic(Self.password)])
            #expect(right.status == .tooManyRequests)
            let other = try await issue(client, file, token: server.adminToken, #"{"password": "\#(Self.password)"}"#)
            let fine = try await client.execute(
                uri: Self.path(other.url), method: .get, headers: [.authorization: Self.basic(Self.password)])
            #expect(fine.status == .ok)
            let failures = try await server.auditEvents(AuditFilter(fileID: file.id, event: "download.failed")).items
            #expect(failures.filter { $0.detail["code"] == .string("wrong_password") }.count == 5)
        }
    }

    @Test func browsersGetAPageThenACookieScopedToTheLink() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let link = try await issue(
                client, file, token: server.adminToken, #"{"password": "\#(Self.password)", "ttl_seconds": 600}"#)
            let path = Self.path(link.url)
            let html: HTTPFields = [.accept: "text/html,application/xhtml+xml,*/*;q=0.8", .userAgent: "Mozilla/5.0"]
            let page = try await client.execute(uri: path, method: .get, headers: html)
            #expect(page.status == .unauthorized)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(page.headers[.wwwAuthenticate] == #"Form realm="Ferry link""#)
            #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            let text = String(buffer: page.body)
            #expect(text.contains("<form") && text.contains("name=\"password\"") && text.contains("action=\"\(path)\""))

            let origin = server.services.configuration.publicOrigin
            func submit(_ password: String, origin: String?) async throws -> TestResponse {
                var headers: HTTPFields = [
                    .contentType: "application/x-www-form-urlencoded", .userAgent: "Mozilla/5.0",
                ]
                if let origin { headers[.origin] = origin }
                let body = "password=" + password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                return try await client.execute(
                    uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
            }
            #expect(try await submit(Self.password, origin: nil).status == .forbidden)
            #expect(try await submit(Self.password, origin: "https://evil.example").status == .forbidden)
            let wrong = try await submit("not it at all", origin: origin)
            #expect(wrong.status == .unauthorized && String(buffer: wrong.body).contains("The password is wrong"))
            let right = try await submit(Self.password, origin: origin)
            #expect(right.status == .seeOther && right.headers[.location] == path)
            let setCookie = try #require(right.headers[.setCookie])
            #expect(
                setCookie.contains("Path=\(path);") && setCookie.contains("HttpOnly")
                    && setCookie.contains("SameSite=Lax"))
            let maxAge = Int(setCookie.components(separatedBy: "Max-Age=")[1].prefix { $0.isNumber }) ?? 0
            #expect(maxAge > 0 && maxAge <= 600)
            let cookie = String(setCookie.prefix { $0 != ";" })
            let hashes = Self.hashes(server)
            var withCookie = html
            withCookie[.cookie] = cookie
            let download = try await client.execute(uri: path, method: .get, headers: withCookie)
            #expect(download.status == .ok && Array(download.body.readableBytesView) == Self.bytes)
            withCookie[.range] = "bytes=100-"
            let resumed = try await client.execute(uri: path, method: .get, headers: withCookie)
            #expect(resumed.status == .partialContent)
            #expect(Self.hashes(server) == hashes)
            // A forged cookie proves nothing.
            let forged = try await client.execute(
                uri: path, method: .get, headers: [.cookie: "ferry_link=k.AAAA", .userAgent: "curl/8"])
            #expect(ErrorInfo.code(forged) == "password_required")
        }
    }

    @Test func changingOrRemovingThePasswordEndsOldCookiesAndChecks() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, token: server.adminToken)
            let link = try await issue(client, file, token: server.adminToken, #"{"password": "\#(Self.password)"}"#)
            let path = Self.path(link.url)
            let origin = server.services.configuration.publicOrigin
            let login = try await client.execute(
                uri: path, method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", .origin: origin],
                body: ByteBuffer(string: "password=" + Self.password.replacingOccurrences(of: " ", with: "+")))
            let cookie = String(try #require(login.headers[.setCookie]).prefix { $0 != ";" })
            #expect(try await client.execute(uri: path, method: .get, headers: [.cookie: cookie]).status == .ok)
            #expect(
                try await client.execute(uri: path, method: .get, headers: [.authorization: Self.basic(Self.password)])
                    .status == .ok)

            let stranger = try await server.user("stranger")
            let hidden = try await client.json(
                "/v1/links/\(link.id)", method: .patch, token: stranger, body: #"{"password": "another password"}"#)
            #expect(hidden.status == .notFound)
            let empty = try await client.json(
                "/v1/links/\(link.id)", method: .patch, token: server.adminToken, body: "{}")
            #expect(empty.status == .badRequest)
            let changed = try await client.json(
                "/v1/links/\(link.id)", method: .patch, token: server.adminToken,
                body: #"{"password": "another password"}"#)
            #expect(changed.status == .ok)
            #expect(try JSONDecoder().decode(APILink.self, from: Data(buffer: changed.body)).password)
            let oldCookie = try await client.execute(uri: path, method: .get, headers: [.cookie: cookie])
            #expect(ErrorInfo.code(oldCookie) == "password_required")
            let oldBasic = try await client.execute(
                uri: path, method: .get, headers: [.authorization: Self.basic(Self.password)])
            #expect(ErrorInfo.code(oldBasic) == "wrong_password")
            #expect(
                try await client.execute(
                    uri: path, method: .get, headers: [.authorization: Self.basic("another password")]
                )
                .status == .ok)

            let removed = try await client.json(
                "/v1/links/\(link.id)", method: .patch, token: server.adminToken, body: #"{"password": null}"#)
            #expect(removed.status == .ok)
            #expect(try await client.execute(uri: path, method: .get).status == .ok)
            let updates = try await server.auditEvents(AuditFilter(fileID: file.id, event: "link.updated")).items
            #expect(updates.count == 2)
        }
    }
}
