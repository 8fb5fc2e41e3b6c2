import FerryAPIModels
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Fuzzed link tokens, ids, filenames, JSON bodies and conditional headers (issue 24, item 4):
/// never a 500, always API.md's error shape, never a secret in the answer, and a filename never
/// becomes a path. Short form in every run; `FERRY_RELIABILITY_LONG=1` runs ten times as many.
@Suite struct HostileInputTests {
    static var rounds: Int { ProcessInfo.processInfo.environment["FERRY_RELIABILITY_LONG"] == "1" ? 10 : 1 }

    /// Strings that break parsers: separators, encodings, control bytes, lengths.
    static func nasty(_ generator: inout RangeModelTests.Generator) -> String {
        let pieces = [
            "..", "/", "%2e%2e", "%2F", "%00", "\\", "~", "$", "{", "}", "'", "\"", "<script>", "%", "%zz", "é",
            "\u{202E}",
            "😀", " ", "+", "?", "#", "&", "=", ";", ",", "*", "A", "0", "-", "_", ".", "\t",
            String(repeating: "a", count: 300), String(repeating: "%41", count: 100), "null", "-1",
            "9999999999999999999999",
        ]
        return (0..<generator.pick([1, 2, 3, 5, 8])).map { _ in generator.pick(pieces) }.joined()
    }

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "%-._~"))) ?? "x"
    }

    /// The answer is a well-formed refusal or a success: never 5xx, an error in API.md's shape,
    /// and no secret of the server in it.
    static func checkAnswer(_ response: TestResponse, _ what: String, secrets: [String], head: Bool = false) {
        let status = Int(response.status.code)
        #expect(status < 500, "\(what): \(status) \(String(buffer: response.body).prefix(200))")
        let text = String(buffer: response.body)
        if status >= 400, status != 416, !head {  // HEAD: the same status, no body
            #expect(
                ErrorInfo.code(response) != nil, "\(what): \(status) without API.md's error shape: \(text.prefix(200))")
        }
        for secret in secrets where text.contains(secret) {
            Issue.record("\(what): the answer holds a secret")
        }
    }

    @Test func fuzzedTokensIdsFilenamesAndBodiesAreRefusedCleanly() async throws {
        let server = try await TestServer.make()
        let secrets = [server.adminToken, Data(server.services.keyring.current.secret).base64EncodedString()]
        let seed = UInt64.random(in: 1...1 << 40)
        try await server.test { client in
            var generator = RangeModelTests.Generator(state: seed)
            let file = try await client.uploadFile(TestData.bytes(2048), token: server.adminToken)
            let link = try await client.json(
                "/v1/files/\(file.id)/links", method: .post, token: server.adminToken, body: "{}")
            let url = try JSONDecoder().decode(APIIssuedLink.self, from: Data(buffer: link.body)).url
            let token = String(url[url.range(of: "/t/")!.upperBound...])
            for _ in 0..<(100 * Self.rounds) {
                let junk = Self.percentEncoded(Self.nasty(&generator))
                // A token: random, or the real one cut, extended or with one character changed.
                let tampered: String
                switch generator.next() % 4 {
                case 0: tampered = junk
                case 1: tampered = String(token.prefix(Int(generator.next() % UInt64(token.count))))
                case 2: tampered = token + junk
                default:
                    var chars = Array(token)
                    let at = Int(generator.next() % UInt64(chars.count))
                    chars[at] = chars[at] == "A" ? "B" : "A"
                    tampered = String(chars)
                }
                for (method, uri) in [
                    (HTTPRequest.Method.get, "/t/\(tampered)"), (.head, "/t/\(tampered)"), (.get, "/d/\(junk)"),
                    (.get, "/v1/files/\(junk)"), (.get, "/v1/files/\(junk)/content"), (.delete, "/v1/files/\(junk)"),
                    (.get, "/v1/files/\(file.id)/content?filename=\(junk)&disposition=\(junk)"),
                    (.get, "/v1/links/\(junk)"), (.delete, "/v1/links/\(junk)"), (.get, "/v1/bundles/\(junk)"),
                    (.get, "/v1/uploads/\(junk)"), (.get, "/v1/files?limit=\(junk)&cursor=\(junk)"),
                    (.get, "/v1/audit?since=\(junk)&event=\(junk)"),
                ] {
                    let response = try await client.get(uri, token: server.adminToken, method: method)
                    Self.checkAnswer(response, "\(method) \(uri)", secrets: secrets, head: method == .head)
                }
            }

            // Filenames: stored or refused, never a path; Content-Disposition never carries a line break.
            for _ in 0..<(60 * Self.rounds) {
                let name = Self.nasty(&generator)
                let response = try await client.upload(TestData.bytes(16), name: name, token: server.adminToken)
                Self.checkAnswer(response, "upload named \(name.debugDescription)", secrets: secrets)
                guard response.status == .created else { continue }
                let stored = try JSONDecoder().decode(APIFile.self, from: Data(buffer: response.body))
                let content = try await client.get("/v1/files/\(stored.id)/content", token: server.adminToken)
                let disposition = content.headers[.contentDisposition] ?? ""
                #expect(!disposition.contains("\r") && !disposition.contains("\n"), "\(disposition.debugDescription)")
            }
            let stray =
                (FileManager.default.enumerator(atPath: server.directory.path)?.compactMap { $0 as? String } ?? [])
                .filter { $0.contains("..") || $0.contains("script") || $0.contains("é") }
            #expect(stray.isEmpty, "a filename became a path: \(stray)")

            // JSON bodies: random bytes, cut documents, deep nesting, wrong types, huge numbers.
            let valid = #"{"ttl_seconds": 60, "max_downloads": 2, "bind_ip": "127.0.0.1"}"#
            var bodies = [
                String(repeating: "[", count: 100_000), String(repeating: "{\"a\":", count: 10_000), "",
                "null", "[]", "\"x\"", #"{"ttl_seconds": 1e999}"#, #"{"ttl_seconds": -1}"#, #"{"ttl_seconds": "60"}"#,
                #"{"max_downloads": 99999999999999999999}"#, #"{"bind_ip": "999.1.1.1"}"#, "{\"ttl_seconds\": 60,}",
                String(decoding: (0..<64).map { _ in UInt8.random(in: 0...255) }, as: UTF8.self),
            ]
            for _ in 0..<(25 * Self.rounds) {
                let cut = Int(generator.next() % UInt64(valid.count))
                bodies.append(String(valid.prefix(cut)) + Self.nasty(&generator))
            }
            for body in bodies {
                for uri in ["/v1/files/\(file.id)/links", "/v1/bundles", "/v1/users", "/v1/tokens", "/v1/session"] {
                    let response = try await client.json(uri, method: .post, token: server.adminToken, body: body)
                    Self.checkAnswer(response, "POST \(uri) \(body.prefix(60).debugDescription)", secrets: secrets)
                }
            }

            // Conditional headers that are not valid field values.
            for _ in 0..<(100 * Self.rounds) {
                var headers: HTTPFields = [:]
                let junk = Self.nasty(&generator).replacingOccurrences(of: "\t", with: " ")
                    .filter { $0.isASCII && !$0.isNewline }
                headers[generator.pick([.ifMatch, .ifNoneMatch, .ifRange, .range, .ifModifiedSince])] = junk
                headers[.range] = headers[.range] ?? "bytes=0-10"
                let response = try await client.get(
                    "/v1/files/\(file.id)/content", token: server.adminToken, headers: headers)
                Self.checkAnswer(response, "conditional \(headers)", secrets: secrets)
            }
        }
    }

    /// Request smuggling shapes and header abuse, sent raw: each is refused with 400 (431 for too
    /// many fields) and API.md's error shape, and the connection is closed so nothing after it
    /// on the same connection is read as a request; the server serves the next client.
    @Test func smugglingShapesAreRefusedAndTheConnectionClosed() async throws {
        let server = try await TestServer.make()
        try await server.live {
            let many = (0..<150).map { "X-F\($0): v\\r\\n" }.joined()
            let cases: [(String, String, Set<String>)] = [
                (
                    "Content-Length with Transfer-Encoding",
                    "POST /v1/files?name=a HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 4\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\nGET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n",
                    ["400"]
                ),
                (
                    "two different Content-Lengths",
                    "POST /v1/files?name=a HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 3\\r\\nContent-Length: 30\\r\\n\\r\\nabc",
                    ["400"]
                ),
                (
                    "an unknown transfer coding",
                    "POST /v1/files?name=a HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: xchunked\\r\\n\\r\\n",
                    ["400", "501"]
                ),
                (
                    "a bad chunk size",
                    "POST /v1/files?name=a HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\nabc\\r\\n0\\r\\n\\r\\n",
                    ["400", "401"]
                ),
                (
                    "an obsolete folded header",
                    "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-A: 1\\r\\n folded\\r\\n\\r\\n", ["400"]
                ),
                (
                    "a space before the colon",
                    "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nContent-Length : 5\\r\\n\\r\\nhello", ["400"]
                ),
                ("too many header fields", "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\(many)\\r\\n", ["431"]),
            ]
            for (name, raw, statuses) in cases {
                let script = """
                    import re, socket
                    s = socket.create_connection(("127.0.0.1", \(server.port)))
                    s.settimeout(10)
                    s.sendall(b"\(raw)")
                    data = b""
                    closed = False
                    try:
                        while True:
                            chunk = s.recv(65536)
                            if not chunk:
                                closed = True
                                break
                            data += chunk
                    except ConnectionResetError:
                        closed = True
                    except socket.timeout:
                        pass
                    status = data.split(b" ")[1].decode() if data.startswith(b"HTTP/1.1 ") else "none"
                    print(status, "closed" if closed else "open", len(re.findall(rb"(?:^|\\r\\n)HTTP/1\\.1 [0-9]{3} ", data)), data.split(b"\\r\\n\\r\\n", 1)[-1][:200].decode("utf-8", "replace"))
                    """
                let r = try await ExternalTool.run("python3", ["-c", script], timeout: 30)
                let words = r.stdout.split(separator: " ", maxSplits: 3).map(String.init)
                #expect(words.count >= 3, "\(name): \(r.stdout) \(r.stderr)")
                guard words.count >= 3 else { continue }
                #expect(statuses.contains(words[0]), "\(name): answered \(words[0]), expected \(statuses.sorted())")
                #expect(words[1] == "closed", "\(name): the connection stayed open")
                #expect(words[2] == "1", "\(name): \(words[2]) answers on one connection (a smuggled request was read)")
                if words[0] != "401" {
                    #expect(words.count > 3 && words[3].contains("\"error\""), "\(name): \(r.stdout)")
                }
            }
            let normal = try await ExternalTool.run("curl", ["-sf", "http://127.0.0.1:\(server.port)/healthz"])
            #expect(normal.status == 0)
        }
    }
}
