import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The web app's pages and assets over a real HTTP connection: security headers, validators,
/// and HEAD answering with the length a GET would send.
@Suite struct WebPageTests {
    @Test func pagesCarryStrictHeadersETagsAndTheirLengthOnHead() async throws {
        let server = try await TestServer.make()
        try await server.test(.live) { client in
            for path in [
                "/", "/login", "/files/abc", "/admin/audit", "/assets/js/main.js", "/favicon.ico", "/robots.txt",
            ] {
                let get = try await client.execute(uri: path, method: .get)
                #expect(get.status == .ok, "\(path)")
                let length = try #require(get.headers[.contentLength].flatMap(Int.init), "\(path)")
                #expect(length == get.body.readableBytes && length > 0, "\(path)")
                let policy = try #require(get.headers[.contentSecurityPolicy], "\(path)")
                #expect(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"))
                #expect(!policy.contains("unsafe-inline"))
                #expect(get.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
                let etag = try #require(get.headers[.eTag], "\(path)")
                #expect(etag.hasPrefix("\"") && !etag.hasPrefix("W/"), "a strong ETag on \(path)")

                let head = try await client.execute(uri: path, method: .head)
                #expect(head.status == .ok)
                #expect(head.headers[.contentLength] == String(length), "HEAD \(path) announces the GET's length")
                #expect(head.body.readableBytes == 0)

                let again = try await client.execute(uri: path, method: .get, headers: [.ifNoneMatch: etag])
                #expect(again.status == .notModified, "\(path)")
                #expect(again.body.readableBytes == 0)
            }
            let script = try await client.execute(uri: "/assets/js/main.js", method: .get)
            #expect(script.headers[.contentType]?.hasPrefix("text/javascript") == true)
            // Crawlers are kept out (a crawler following a limited link would take a download).
            let robots = try await client.execute(uri: "/robots.txt", method: .get)
            #expect(robots.headers[.contentType] == "text/plain; charset=utf-8")
            #expect(String(buffer: robots.body).contains("User-agent: *\nDisallow: /\n"))
            let missing = try await client.execute(uri: "/assets/nope.js", method: .get)
            #expect(missing.status == .notFound)
            #expect(String(buffer: missing.body).contains(#""code":"not_found""#))
        }
    }
}
