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

@Suite struct AccessTests {
    static let fixedNow = Date()

    @Test func missingOrUnknownCredentialsAre401() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let none = try await client.get("/v1/files", token: nil)
            #expect(none.status == .unauthorized)
            #expect(ErrorInfo.code(none) == "unauthenticated")
            let unknown = try await client.get("/v1/files", token: "not-a-token")
            #expect(unknown.status == .unauthorized)
            let basic = try await client.get("/v1/files", token: nil, headers: [.authorization: "Basic YTpi"])
            #expect(basic.status == .unauthorized)
        }
    }

    @Test func strangersGet404GranteesReadButCannotManage() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let alice = try await server.user("alice")
            let bob = try await server.user("bob")
            let file = try await client.uploadFile(TestData.bytes(100), token: alice)
            let hidden = try await client.get("/v1/files/\(file.id)", token: bob)
            #expect(hidden.status == .notFound)
            #expect(ErrorInfo.code(hidden) == "not_found")
            #expect(!String(buffer: try await client.get("/v1/files", token: bob).body).contains(file.id))

            let grant = try await client.json(
                "/v1/files/\(file.id)/grants", method: .post, token: alice, body: #"{"username":"bob"}"#)
            #expect(grant.status == .created)
            #expect(try await client.get("/v1/files/\(file.id)/content", token: bob).status == .ok)
            #expect(String(buffer: try await client.get("/v1/files", token: bob).body).contains(file.id))
            let delete = try await client.get("/v1/files/\(file.id)", token: bob, method: .delete)
            #expect(delete.status == .forbidden)
            #expect(ErrorInfo.code(delete) == "forbidden")

            let revoke = try await client.get("/v1/files/\(file.id)/grants/bob", token: alice, method: .delete)
            #expect(revoke.status == .noContent)
            #expect(try await client.get("/v1/files/\(file.id)/content", token: bob).status == .notFound)
            // The admin sees everything.
            #expect(try await client.get("/v1/files/\(file.id)", token: server.adminToken).status == .ok)
        }
    }

    @Test func expiredGrantStopsAccess() async throws {
        let clock = TestClock()
        let server = try await TestServer.make(now: clock.now)
        try await server.test { client in
            let alice = try await server.user("alice")
            let bob = try await server.user("bob")
            let file = try await client.uploadFile(TestData.bytes(100), token: alice)
            let until = HTTPDate.rfc3339(clock.now().addingTimeInterval(60))
            let grant = try await client.json(
                "/v1/files/\(file.id)/grants", method: .post, token: alice,
                body: #"{"username":"bob","expires_at":"\#(until)"}"#)
            #expect(grant.status == .created)
            #expect(try await client.get("/v1/files/\(file.id)/content", token: bob).status == .ok)
            clock.advance(by: 61)
            #expect(try await client.get("/v1/files/\(file.id)/content", token: bob).status == .notFound)
        }
    }

    @Test func adminOnlyRoutesRefuseMembers() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let member = try await server.user("member")
            for (uri, method) in [("/v1/users", HTTPRequest.Method.get), ("/v1/audit", .get)] {
                let r = try await client.get(uri, token: member, method: method)
                #expect(r.status == .forbidden)
            }
            let create = try await client.json(
                "/v1/users", method: .post, token: member, body: #"{"username":"x","role":"admin"}"#)
            #expect(create.status == .forbidden)
        }
    }

    @Test func tokensAreShownOnceAndRevokedAtOnce() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let r = try await client.json(
                "/v1/tokens", method: .post, token: server.adminToken, body: #"{"name":"ci"}"#)
            #expect(r.status == .created)
            let created = try JSONDecoder().decode(APIToken.self, from: Data(buffer: r.body))
            #expect((created.token ?? "").count >= 43)
            #expect(try await client.get("/v1/files", token: (created.token ?? "")).status == .ok)
            let listing = String(buffer: try await client.get("/v1/tokens", token: server.adminToken).body)
            #expect(listing.contains(created.id) && !listing.contains((created.token ?? "")))
            #expect(
                try await client.get("/v1/tokens/\(created.id)", token: server.adminToken, method: .delete).status
                    == .noContent)
            #expect(try await client.get("/v1/files", token: (created.token ?? "")).status == .unauthorized)
        }
    }

    @Test func disabledUserIsLockedOut() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let carol = try await server.user("carol")
            #expect(try await client.get("/v1/files", token: carol).status == .ok)
            let r = try await client.json(
                "/v1/users/carol", method: .patch, token: server.adminToken, body: #"{"disabled":true}"#)
            #expect(r.status == .ok)
            #expect(try await client.get("/v1/files", token: carol).status == .unauthorized)
        }
    }

    @Test func anAdministratorCannotDisableTheirOwnAccount() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let r = try await client.json(
                "/v1/users/admin", method: .patch, token: server.adminToken, body: #"{"disabled":true}"#)
            #expect(r.status == .conflict)
            #expect(ErrorInfo.code(r) == "conflict")
            #expect(String(buffer: r.body).contains("another administrator"))
            #expect(try await client.get("/v1/files", token: server.adminToken).status == .ok)
        }
    }

    @Test func sessionCookieNeedsOurOriginForWrites() async throws {
        let server = try await TestServer.make(["FERRY_PUBLIC_URL": "https://files.example.com"])
        try await server.test { client in
            let created = try await client.json(
                "/v1/users", method: .post, token: server.adminToken,
                body: #"{"username":"dana","password":"dana-password","role":"member"}"#)
            #expect(created.status == .created)
            let login = try await client.json(
                "/v1/session", method: .post, token: nil, body: #"{"username":"dana","password":"dana-password"}"#)
            #expect(login.status == .noContent)
            let setCookie = try #require(login.headers[.setCookie])
            #expect(
                setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Lax") && setCookie.contains("Secure"))
            let cookie = String(setCookie.split(separator: ";")[0])
            #expect(try await client.get("/v1/files", token: nil, headers: [.cookie: cookie]).status == .ok)
            let noOrigin = try await client.execute(
                uri: "/v1/tokens", method: .post, headers: [.cookie: cookie, .contentType: "application/json"],
                body: ByteBuffer(string: "{}"))
            #expect(noOrigin.status == .forbidden)
            let foreign = try await client.execute(
                uri: "/v1/tokens", method: .post,
                headers: [.cookie: cookie, .origin: "https://evil.example", .contentType: "application/json"],
                body: ByteBuffer(string: "{}"))
            #expect(foreign.status == .forbidden)
            // Says where the web app is (a node opened at another address than FERRY_PUBLIC_URL).
            #expect(
                ErrorInfo.message(foreign).contains("web app is at https://files.example.com (FERRY_PUBLIC_URL)"),
                "\(ErrorInfo.message(foreign))")
            let ours = try await client.execute(
                uri: "/v1/tokens", method: .post,
                headers: [.cookie: cookie, .origin: "https://files.example.com", .contentType: "application/json"],
                body: ByteBuffer(string: "{}"))
            #expect(ours.status == .created)
            let logout = try await client.execute(
                uri: "/v1/session", method: .delete, headers: [.cookie: cookie, .origin: "https://files.example.com"])
            #expect(logout.status == .noContent)
            #expect(try await client.get("/v1/files", token: nil, headers: [.cookie: cookie]).status == .unauthorized)
        }
    }

    @Test func repeatedFailedLoginsAreRateLimited() async throws {
        // A fixed clock: the one-minute window cannot pass while the checks queue on a busy machine.
        let server = try await TestServer.make(TestServer.adminPassword, now: { Self.fixedNow })
        try await server.test { client in
            for _ in 0..<5 {
                let r = try await client.json(
                    "/v1/session", method: .post, token: nil, body: #"{"username":"admin","password":"wrong-password"}"#
                )
                #expect(r.status == .unauthorized)
            }
            let limited = try await client.json(
                "/v1/session", method: .post, token: nil, body: #"{"username":"admin","password":"admin-password-1"}"#)
            #expect(limited.status == .tooManyRequests)
            #expect(ErrorInfo.code(limited) == "rate_limited")
            #expect(limited.headers[.retryAfter] != nil)
        }
    }

    /// Guesses sent in parallel are counted before their passwords are checked: no more than the
    /// limit reach the check; a successful sign-in clears the count.
    @Test func parallelGuessesCannotSlipPastTheLimitAndASuccessClearsIt() async throws {
        // A fixed clock: the one-minute window cannot pass while the checks queue on a busy machine.
        let server = try await TestServer.make(TestServer.adminPassword, now: { Self.fixedNow })
        try await server.test { client in
            func attempt(_ password: String) async throws -> HTTPResponse.Status {
                try await client.json(
                    "/v1/session", method: .post, token: nil,
                    body: #"{"username":"admin","password":"\#(password)"}"#
                ).status
            }
            for _ in 0..<4 { #expect(try await attempt("wrong-password") == .unauthorized) }
            #expect(try await attempt("admin-password-1") == .noContent)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<12 { group.addTask { try await attempt("wrong-password") } }
                var all: [HTTPResponse.Status] = []
                for try await status in group { all.append(status) }
                return all
            }
            #expect(statuses.filter { $0 == .unauthorized }.count == 5, "\(statuses)")
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 7, "\(statuses)")
        }
    }

    @Test func malformedJSONNamesTheProblem() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let r = try await client.json(
                "/v1/users", method: .post, token: server.adminToken, body: #"{"role":"member"}"#)
            #expect(r.status == .badRequest)
            let message = try JSONDecoder().decode(APIError.self, from: Data(buffer: r.body)).error.message
            #expect(message.contains("username"))
            let garbage = try await client.json("/v1/users", method: .post, token: server.adminToken, body: "{nope")
            #expect(ErrorInfo.code(garbage) == "bad_request")
            let unknownRoute = try await client.get("/v1/nothing", token: server.adminToken)
            #expect(unknownRoute.status == .notFound)
            #expect(ErrorInfo.code(unknownRoute) == "not_found")
        }
    }
}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))

    var now: @Sendable () -> Date { { self.current.withLock { $0 } } }

    func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}
