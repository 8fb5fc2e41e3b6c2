import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct DownloadTests {
    static let size = 10_000
    static let bytes = TestData.bytes(size, seed: 9)

    /// Uploads the fixture and runs `body` with the file.
    func withFile(
        type: String = "application/octet-stream", name: String = "data.bin",
        _ body: @Sendable (any TestClientProtocol, TestServer, APIFile) async throws -> Void
    ) async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(Self.bytes, name: name, token: server.adminToken, type: type)
            try await body(client, server, file)
        }
    }

    func range(
        _ client: any TestClientProtocol, _ server: TestServer, _ file: APIFile, _ header: String
    ) async throws
        -> TestResponse
    {
        try await client.get("/v1/files/\(file.id)/content", token: server.adminToken, headers: [.range: header])
    }

    @Test func fullDownloadCarriesEveryHeader() async throws {
        try await withFile { client, server, file in
            let r = try await client.get("/v1/files/\(file.id)/content", token: server.adminToken)
            #expect(r.status == .ok)
            #expect(Array(r.body.readableBytesView) == Self.bytes)
            #expect(r.headers[.eTag] == file.etag)
            #expect(r.headers[.acceptRanges] == "bytes")
            #expect(r.headers[.contentLength] == "\(Self.size)")
            #expect(r.headers[.contentType] == "application/octet-stream")
            #expect(r.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(r.headers[.cacheControl] == "private, no-store")
            #expect(r.headers[.lastModified] != nil)
            #expect(r.headers[.contentDisposition] == "attachment; filename=\"data.bin\"; filename*=UTF-8''data.bin")
            // RFC 9530: the whole representation's SHA-256, for clients holding only a link.
            let digest = Data(Hex.decode(TestData.sha256(Self.bytes)) ?? []).base64EncodedString()
            #expect(r.headers[HTTPField.Name("Repr-Digest")!] == "sha-256=:\(digest):")
        }
    }

    @Test func singleRangeReturnsPartialContent() async throws {
        try await withFile { client, server, file in
            let r = try await range(client, server, file, "bytes=100-199")
            #expect(r.status == .partialContent)
            // Repr-Digest describes the whole file on a part too.
            let digest = Data(Hex.decode(TestData.sha256(Self.bytes)) ?? []).base64EncodedString()
            #expect(r.headers[HTTPField.Name("Repr-Digest")!] == "sha-256=:\(digest):")
            #expect(r.headers[.contentRange] == "bytes 100-199/\(Self.size)")
            #expect(Array(r.body.readableBytesView) == Array(Self.bytes[100...199]))
        }
    }

    @Test func suffixRangeReturnsLastBytes() async throws {
        try await withFile { client, server, file in
            let r = try await range(client, server, file, "bytes=-500")
            #expect(r.status == .partialContent)
            #expect(r.headers[.contentRange] == "bytes 9500-9999/\(Self.size)")
            #expect(Array(r.body.readableBytesView) == Array(Self.bytes[9500...]))
        }
    }

    @Test func openRangeAndClippingReachTheEnd() async throws {
        try await withFile { client, server, file in
            let open = try await range(client, server, file, "bytes=9000-")
            #expect(open.headers[.contentRange] == "bytes 9000-9999/\(Self.size)")
            let clipped = try await range(client, server, file, "bytes=9990-20000")
            #expect(clipped.status == .partialContent)
            #expect(clipped.headers[.contentRange] == "bytes 9990-9999/\(Self.size)")
            #expect(clipped.body.readableBytes == 10)
            let longSuffix = try await range(client, server, file, "bytes=-50000")
            #expect(longSuffix.headers[.contentRange] == "bytes 0-9999/\(Self.size)")
        }
    }

    @Test func unsatisfiableRangeIs416WithSize() async throws {
        try await withFile { client, server, file in
            let r = try await range(client, server, file, "bytes=10000-")
            #expect(r.status == .rangeNotSatisfiable)
            #expect(r.headers[.contentRange] == "bytes */\(Self.size)")
            #expect(ErrorInfo.code(r) == "range_not_satisfiable")
        }
    }

    @Test(arguments: ["bytes=5-1", "items=0-1", "bytes=abc", "bytes", "bytes=--1", "bytes=1-2-3"])
    func invalidRangeIsIgnored(header: String) async throws {
        try await withFile { client, server, file in
            let r = try await range(client, server, file, header)
            #expect(r.status == .ok)
            #expect(r.body.readableBytes == Self.size)
        }
    }

    @Test func severalRangesMakeMultipartByteranges() async throws {
        try await withFile { client, server, file in
            let r = try await range(client, server, file, "bytes=0-9, 5000-5009, -10")
            #expect(r.status == .partialContent)
            let type = try #require(r.headers[.contentType])
            #expect(type.hasPrefix("multipart/byteranges; boundary="))
            let boundary = String(type.dropFirst("multipart/byteranges; boundary=".count))
            let parts = try Multipart.parse(Array(r.body.readableBytesView), boundary: boundary)
            #expect(parts.map(\.contentRange) == ["bytes 0-9/10000", "bytes 5000-5009/10000", "bytes 9990-9999/10000"])
            #expect(parts[1].body == Array(Self.bytes[5000...5009]))
            #expect(parts[2].body == Array(Self.bytes[9990...]))
            #expect(r.headers[.contentLength] == "\(r.body.readableBytes)")
        }
    }

    @Test func overlappingRangesAreCoalesced() async throws {
        try await withFile { client, server, file in
            let r = try await range(client, server, file, "bytes=0-99,50-149")
            #expect(r.status == .partialContent)
            #expect(r.headers[.contentRange] == "bytes 0-149/\(Self.size)")
        }
    }

    @Test func ifRangeWithCurrentETagHonoursRangeAndOtherwiseSendsAll() async throws {
        try await withFile { client, server, file in
            let uri = "/v1/files/\(file.id)/content"
            let match = try await client.get(
                uri, token: server.adminToken, headers: [.range: "bytes=0-9", .ifRange: file.etag])
            #expect(match.status == .partialContent)
            let stale = try await client.get(
                uri, token: server.adminToken, headers: [.range: "bytes=0-9", .ifRange: "\"stale\""])
            #expect(stale.status == .ok)
            #expect(stale.body.readableBytes == Self.size)
            let weak = try await client.get(
                uri, token: server.adminToken, headers: [.range: "bytes=0-9", .ifRange: "W/\(file.etag)"])
            #expect(weak.status == .ok)
        }
    }

    @Test func ifRangeWithLastModifiedDate() async throws {
        try await withFile { client, server, file in
            let uri = "/v1/files/\(file.id)/content"
            let head = try await client.get(uri, token: server.adminToken, method: .head)
            let date = try #require(head.headers[.lastModified])
            let match = try await client.get(
                uri, token: server.adminToken, headers: [.range: "bytes=0-9", .ifRange: date])
            #expect(match.status == .partialContent)
            let old = try await client.get(
                uri, token: server.adminToken,
                headers: [.range: "bytes=0-9", .ifRange: "Sun, 06 Nov 1994 08:49:37 GMT"])
            #expect(old.status == .ok)
        }
    }

    @Test func conditionalRequests() async throws {
        try await withFile { client, server, file in
            let uri = "/v1/files/\(file.id)/content"
            let notModified = try await client.get(uri, token: server.adminToken, headers: [.ifNoneMatch: file.etag])
            #expect(notModified.status == .notModified)
            #expect(notModified.body.readableBytes == 0)
            #expect(notModified.headers[.eTag] == file.etag)
            let star = try await client.get(uri, token: server.adminToken, headers: [.ifNoneMatch: "*"])
            #expect(star.status == .notModified)
            let other = try await client.get(uri, token: server.adminToken, headers: [.ifNoneMatch: "\"x\", \"y\""])
            #expect(other.status == .ok)
            let failed = try await client.get(uri, token: server.adminToken, headers: [.ifMatch: "\"nope\""])
            #expect(failed.status == .preconditionFailed)
            #expect(ErrorInfo.code(failed) == "precondition_failed")
            let matched = try await client.get(uri, token: server.adminToken, headers: [.ifMatch: file.etag])
            #expect(matched.status == .ok)
            let unmodified = try await client.get(
                uri, token: server.adminToken, headers: [.ifUnmodifiedSince: "Sun, 06 Nov 1994 08:49:37 GMT"])
            #expect(unmodified.status == .preconditionFailed)
        }
    }

    @Test func headMatchesGetWithoutBody() async throws {
        try await withFile { client, server, file in
            let uri = "/v1/files/\(file.id)/content"
            let get = try await client.get(uri, token: server.adminToken, headers: [.range: "bytes=0-9"])
            let head = try await client.get(
                uri, token: server.adminToken, headers: [.range: "bytes=0-9"], method: .head)
            #expect(head.status == get.status)
            #expect(head.body.readableBytes == 0)
            for name in [
                HTTPField.Name.eTag, .contentLength, .contentRange, .contentType, .acceptRanges, .contentDisposition,
            ] {
                #expect(head.headers[name] == get.headers[name], "\(name)")
            }
            let missing = try await client.get(
                "/v1/files/AAAAAAAAAAAAAAAAAAAAAA/content", token: server.adminToken, method: .head)
            #expect(missing.status == .notFound)
            #expect(missing.body.readableBytes == 0)
        }
    }

    @Test func inlineOnlyForTypesThatCannotRunScript() async throws {
        try await withFile(type: "text/html", name: "page.html") { client, server, file in
            let r = try await client.get("/v1/files/\(file.id)/content?disposition=inline", token: server.adminToken)
            #expect(r.headers[.contentDisposition]?.hasPrefix("attachment;") == true)
        }
        try await withFile(type: "application/pdf", name: "doc.pdf") { client, server, file in
            let r = try await client.get(
                "/v1/files/\(file.id)/content?disposition=inline&filename=%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf",
                token: server.adminToken)
            #expect(
                r.headers[.contentDisposition]
                    == "inline; filename=\"_____.pdf\"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf")
            let bad = try await client.get(
                "/v1/files/\(file.id)/content?disposition=sideways", token: server.adminToken)
            #expect(bad.status == .badRequest)
        }
    }
}

/// A minimal `multipart/byteranges` reader for tests.
enum Multipart {
    struct Part {
        var contentRange: String
        var body: [UInt8]
    }

    static func parse(_ bytes: [UInt8], boundary: String) throws -> [Part] {
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("--\(boundary)\r\n"))
        #expect(text.hasSuffix("\r\n--\(boundary)--\r\n"))
        var parts: [Part] = []
        let delimiter = Array("--\(boundary)".utf8)
        var index = 0
        var starts: [Int] = []
        while index + delimiter.count <= bytes.count {
            if Array(bytes[index..<index + delimiter.count]) == delimiter { starts.append(index) }
            index += 1
        }
        for (i, start) in starts.dropLast().enumerated() {
            let segment = Array(bytes[(start + delimiter.count + 2)..<(starts[i + 1] - 2)])
            let separator = Array("\r\n\r\n".utf8)
            var split = 0
            while Array(segment[split..<split + 4]) != separator { split += 1 }
            let head = String(decoding: segment[..<split], as: UTF8.self)
            let range = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-range:") }
            parts.append(
                Part(
                    contentRange: range.map { String($0.dropFirst("content-range: ".count)) } ?? "",
                    body: Array(segment[(split + 4)...])))
        }
        return parts
    }
}
