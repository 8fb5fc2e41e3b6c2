import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Ferry driven as a newcomer drives it: curl and Python's `requests` with their defaults, hand
/// typed JSON, oversized headers (issue 19). Each test failed before its fix.
@Suite struct NewcomerTests {
    static let name = "Q3 report + notes.pdf"

    /// `curl -G --data-urlencode` and `requests.post(params=...)` write a space as `+` (and a plus
    /// as `%2B`): the name round-trips exactly, also through `Content-Disposition`.
    @Test func formEncodedNamesFromCurlAndRequestsRoundTrip() async throws {
        let server = try await TestServer.make()
        let work = try TemporaryDirectory("ferry-newcomer")
        defer { work.remove() }
        try await server.live {
            let base = "http://127.0.0.1:\(server.port)"
            let payload = work.appending("report.pdf")
            try Data("%PDF-1.7 newcomer".utf8).write(to: URL(fileURLWithPath: payload))
            // The query as HTML forms and urlencode() write it: `name=Q3+report+%2B+notes.pdf`.
            let formName = "Q3+report+%2B+notes.pdf"
            let curl = try await ExternalTool.run(
                "curl",
                [
                    "-sS", "-f", "-H", "Authorization: Bearer \(server.adminToken)", "-T", payload, "-X", "POST",
                    "\(base)/v1/files?name=\(formName)",
                ])
            #expect(curl.status == 0, "\(curl.stderr)")
            let viaCurl = try JSONDecoder().decode(APIFile.self, from: Data(curl.stdout.utf8))
            #expect(viaCurl.name == Self.name)
            #expect(viaCurl.contentType == "application/pdf")
            // curl -G --data-urlencode on a download's filename= override.
            let renamed = try await ExternalTool.run(
                "curl",
                [
                    "-sS", "-f", "-o", "/dev/null", "-D", "-", "-H", "Authorization: Bearer \(server.adminToken)", "-G",
                    "--data-urlencode", "filename=\(Self.name)", "\(base)/v1/files/\(viaCurl.id)/content",
                ])
            let disposition = renamed.stdout.split(separator: "\r\n").first {
                $0.lowercased().hasPrefix("content-disposition:")
            }
            #expect(ContentDisposition.parse(String(disposition?.dropFirst(20) ?? ""))?.filename == Self.name)
            // curl -OJ reads only filename=: an accented name is saved with plain letters ("Caf_" before).
            let saved = try await ExternalTool.run(
                "curl",
                [
                    "-sS", "-f", "-O", "-J", "--output-dir", work.path, "-H",
                    "Authorization: Bearer \(server.adminToken)",
                    "\(base)/v1/files/\(viaCurl.id)/content?filename=Caf%C3%A9%20%EF%BC%B13.pdf",
                ])
            #expect(saved.status == 0, "\(saved.stderr)")
            #expect(FileManager.default.fileExists(atPath: work.appending("Cafe Q3.pdf")))
            // curl's default upload: --data-binary sends application/x-www-form-urlencoded.
            let plain = try await ExternalTool.run(
                "curl",
                [
                    "-sS", "-f", "-H", "Authorization: Bearer \(server.adminToken)", "--data-binary", "@\(payload)",
                    "\(base)/v1/files?name=a.pdf",
                ])
            #expect(
                try JSONDecoder().decode(APIFile.self, from: Data(plain.stdout.utf8)).contentType == "application/pdf"
            )

            let script = """
                import json, sys, requests
                r = requests.post(sys.argv[1] + "/v1/files", params={"name": sys.argv[3]},
                                  data=open(sys.argv[4], "rb").read(),
                                  headers={"Authorization": "Bearer " + sys.argv[2]})
                r.raise_for_status()
                f = r.json()
                d = requests.get(sys.argv[1] + "/v1/files/" + f["id"] + "/content",
                                 headers={"Authorization": "Bearer " + sys.argv[2]})
                print(json.dumps({"name": f["name"], "type": f["content_type"],
                                  "disposition": d.headers["Content-Disposition"]}))
                """
            let python = try await ExternalTool.run(
                "python3", ["-c", script, base, server.adminToken, Self.name, payload])
            #expect(python.status == 0, "\(python.stderr)")
            let answer = try JSONDecoder().decode([String: String].self, from: Data(python.stdout.utf8))
            #expect(answer["name"] == Self.name)
            #expect(answer["type"] == "application/pdf")
            #expect(
                answer["disposition"]
                    == ContentDisposition(kind: .attachment, filename: Self.name).headerValue)
            #expect(ContentDisposition.parse(answer["disposition"] ?? "")?.filename == Self.name)
        }
    }

    /// `filename=` and the audit filters are form-decoded too: `+` is a space, `%2B` a plus.
    @Test func everyQueryParameterReadsPlusAsSpace() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(TestData.bytes(10), name: "a.bin", token: server.adminToken)
            let renamed = try await client.get(
                "/v1/files/\(file.id)/content?filename=my+copy%2B1.bin", token: server.adminToken)
            #expect(ContentDisposition.parse(renamed.headers[.contentDisposition] ?? "")?.filename == "my copy+1.bin")
            let audit = try await client.get("/v1/audit?event=upload.completed&limit=5", token: server.adminToken)
            #expect(audit.status == .ok)
        }
    }

    /// curl `--data-binary` sends `application/x-www-form-urlencoded`; no type at all is possible
    /// too. Either way the name's extension decides (Debian's media-types), else octet-stream;
    /// `FERRY_ALLOWED_TYPES` judges the resolved type.
    @Test func curlsDefaultTypeIsReplacedByTheNamesType() async throws {
        let server = try await TestServer.make(["FERRY_ALLOWED_TYPES": "application/pdf,image/*"])
        try await server.test { client in
            let pdf = try await client.uploadFile(
                TestData.bytes(10), name: "a.pdf", token: server.adminToken, type: "application/x-www-form-urlencoded")
            #expect(pdf.contentType == "application/pdf")
            let png = try await client.execute(
                uri: "/v1/files?name=photo.PNG", method: .post,
                headers: [.authorization: "Bearer \(server.adminToken)"], body: ByteBuffer(bytes: [1, 2, 3]))
            #expect(png.status == .created)
            #expect(try JSONDecoder().decode(APIFile.self, from: Data(buffer: png.body)).contentType == "image/png")
            // Resolved to application/octet-stream, which the list does not allow.
            let unknown = try await client.upload(
                TestData.bytes(10), name: "data.unknownext", token: server.adminToken,
                type: "application/x-www-form-urlencoded")
            #expect(unknown.status == .unsupportedMediaType)
            // A type the client chose is kept.
            let chosen = try await client.uploadFile(
                TestData.bytes(10), name: "notes.pdf", token: server.adminToken, type: "image/webp")
            #expect(chosen.contentType == "image/webp")
        }
        #expect(MediaType.implied(byFileName: "archive.tar.gz") == "application/gzip")
        #expect(MediaType.implied(byFileName: "README") == nil)
        #expect(MediaType.implied(byFileName: ".pdf") == nil)
    }

    /// Answers read as written with curl: URLs and media types with plain `/` (not `\/`), and keys
    /// in one order (sorted), the same on every node and after every restart.
    @Test func answersShowURLsAsTheyAreWithKeysInOneOrder() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(
                TestData.bytes(10), name: "a/b.pdf", token: server.adminToken, type: "application/pdf")
            let shown = String(
                buffer: try await client.json("/v1/files/\(file.id)", method: .get, token: server.adminToken).body)
            #expect(shown.contains(#""content_type":"application/pdf""#), "\(shown)")
            #expect(shown.contains(#""name":"a/b.pdf""#), "\(shown)")
            #expect(!shown.contains(#"\/"#), "\(shown)")
            let keys = ["content_type", "created_at", "etag", "id", "name", "owner", "sha256", "size", "updated_at"]
            let positions = keys.compactMap { shown.range(of: "\"\($0)\":")?.lowerBound }
            #expect(positions.count == keys.count && positions == positions.sorted(), "\(shown)")
            let issued = try await client.json(
                "/v1/files/\(file.id)/links", method: .post, token: server.adminToken, body: "{}")
            #expect(String(buffer: issued.body).contains(#""url":"http://"#), "\(String(buffer: issued.body))")
        }
    }

    /// Bodies that are not RFC 8259 JSON are refused, and a value of the wrong type names its field.
    @Test(arguments: [
        (#"{"ttl_seconds": 60,}"#, "trailing comma"),
        (#"{"ttl_seconds": 060}"#, "leading zero"),
        ("{\"filename\": \"a\u{01}b\"}", "control character"),
        (#"{"ttl_seconds": 60}{"ttl_seconds": 61}"#, "more text follows"),
        (#"{"ttl_seconds": 60} []"#, "more text follows"),
        (#"{"max_downloads": 2.5}"#, "max_downloads"),
        (#"{"max_downloads": "2"}"#, "max_downloads"),
        (#"[1, 2]"#, "JSON object"),
    ])
    func malformedJSONIsRefusedNamingTheProblem(body: String, expected: String) async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(TestData.bytes(10), token: server.adminToken)
            let response = try await client.json(
                "/v1/files/\(file.id)/links", method: .post, token: server.adminToken, body: body)
            #expect(response.status == .badRequest, "\(body)")
            let message = try JSONDecoder().decode(APIError.self, from: Data(buffer: response.body)).error.message
            #expect(message.contains(expected), "\(body): \(message)")
        }
    }

    /// `curl -d username=bob` and `requests.post(data={...})` send form fields where JSON is
    /// expected: the message says so and how to send JSON (it read "a value cannot start here at
    /// byte 0").
    @Test func formFieldsWhereJSONIsExpectedAreNamedAsSuch() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            for type in ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                let response = try await client.execute(
                    uri: "/v1/users", method: .post,
                    headers: [.authorization: "Bearer \(server.adminToken)", .contentType: type],
                    body: ByteBuffer(string: "username=bob&role=member"))
                #expect(response.status == .badRequest)
                let message = try JSONDecoder().decode(APIError.self, from: Data(buffer: response.body)).error.message
                #expect(message.contains("is form fields"), "\(message)")
                #expect(message.contains("Content-Type: application/json"), "\(message)")
            }
            // curl -d with a JSON body (curl's default type is the form one) still works.
            let created = try await client.execute(
                uri: "/v1/users", method: .post,
                headers: [
                    .authorization: "Bearer \(server.adminToken)", .contentType: "application/x-www-form-urlencoded",
                ],
                body: ByteBuffer(string: #"{"username":"bob","role":"member"}"#))
            #expect(created.status == .created)
        }
    }

    @Test func invalidUTF8InABodyIsRefused() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(TestData.bytes(10), token: server.adminToken)
            var body = ByteBuffer(string: #"{"filename": "a"#)
            body.writeBytes([0xC3, 0x28])
            body.writeString(#"b"}"#)
            let response = try await client.execute(
                uri: "/v1/files/\(file.id)/links", method: .post,
                headers: [.authorization: "Bearer \(server.adminToken)", .contentType: "application/json"], body: body)
            #expect(response.status == .badRequest)
            #expect(String(buffer: response.body).contains("UTF-8"))
        }
    }

    /// A 64 KiB header is answered with 431 and the JSON error, the connection is closed, and the
    /// server answers the next connection.
    @Test func oversizedHeadersAre431AndTheServerCarriesOn() async throws {
        let server = try await TestServer.make()
        try await server.live {
            let base = "http://127.0.0.1:\(server.port)"
            let big = "X-Big: " + String(repeating: "a", count: 64 * 1024)
            let refused = try await ExternalTool.run(
                "curl", ["-sS", "-o", "-", "-w", "\n%{http_code}", "-H", big, "\(base)/healthz"])
            let lines = refused.stdout.split(separator: "\n")
            #expect(lines.last == "431", "\(refused.stdout) \(refused.stderr)")
            #expect(refused.stdout.contains(#""code":"request_header_too_large""#))
            // Many fields each under the field limit but over the total.
            var many: [String] = []
            for index in 0..<8 { many += ["-H", "X-Part-\(index): " + String(repeating: "b", count: 10_000)] }
            let total = try await ExternalTool.run(
                "curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}"] + many + ["\(base)/healthz"])
            #expect(total.stdout == "431")
            let next = try await ExternalTool.run(
                "curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "\(base)/healthz"])
            #expect(next.stdout == "200")
        }
    }

    /// `curl -X DELETE /v1/files` or a POST to a file's address: 405 with `Allow` naming the
    /// methods the address takes (RFC 9110 15.5.6), not 404 "There is nothing at this address."
    @Test func aMethodAnAddressDoesNotTakeIs405NamingTheOnesItTakes() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let file = try await client.uploadFile(TestData.bytes(10), token: server.adminToken)
            // OPTIONS is in every Allow since it answers too (it was 404, below).
            let cases: [(String, HTTPRequest.Method, String)] = [
                ("/v1/files", .delete, "GET, HEAD, POST, OPTIONS"),
                ("/v1/files/\(file.id)", .post, "GET, HEAD, DELETE, OPTIONS"),
                ("/v1/files/\(file.id)/content", .patch, "GET, HEAD, PUT, OPTIONS"),
                ("/v1/tokens/abc", .head, "DELETE, OPTIONS"),
                ("/", .post, "GET, HEAD, OPTIONS"),
            ]
            for (path, method, allow) in cases {
                let response = try await client.execute(
                    uri: path, method: method, headers: [.authorization: "Bearer \(server.adminToken)"])
                #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                #expect(response.headers[.allow] == allow, "\(method) \(path)")
                if method != .head {
                    #expect(ErrorInfo.code(response) == "method_not_allowed", "\(method) \(path)")
                }
            }
            // OPTIONS (RFC 9110 9.3.7) names them, with no credentials and no body; it was 404
            // "There is nothing at this address." Where tus answers it, tus's answer stands.
            for (path, _, allow) in cases {
                let options = try await client.execute(uri: path, method: .options)
                #expect(options.status == .noContent, "OPTIONS \(path)")
                #expect(options.headers[.allow] == allow, "OPTIONS \(path)")
            }
            let tus = try await client.execute(uri: "/v1/uploads", method: .options)
            #expect(tus.status == .noContent && tus.headers[HTTPField.Name("Tus-Version")!] == "1.0.0")
            // The methods it takes still answer; an unknown address is still 404.
            let head = try await client.execute(
                uri: "/v1/files/\(file.id)", method: .head, headers: [.authorization: "Bearer \(server.adminToken)"])
            #expect(head.status == .ok)
            let unknown = try await client.execute(uri: "/v1/nothing-here", method: .post)
            #expect(unknown.status == .notFound)
        }
    }
}
