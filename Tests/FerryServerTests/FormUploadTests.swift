import FerryAPIModels
import FerryCore
import FerryTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import FerryServer

/// Uploads sent as a form: `curl -F`, Python requests' `files=`, an HTML form. Before, the form
/// itself (boundaries, part headers) was stored as a file of type `multipart/form-data`.
@Suite struct FormUploadTests {
    static let boundary = "ferry-test-boundary-7d1"

    /// A `multipart/form-data` body of `parts` (headers, then content), closed unless `closed` is false.
    static func form(_ parts: [(headers: String, content: [UInt8])], closed: Bool = true) -> [UInt8] {
        var body: [UInt8] = []
        for part in parts {
            body += Array("--\(boundary)\r\n\(part.headers)\r\n\r\n".utf8) + part.content + Array("\r\n".utf8)
        }
        if closed { body += Array("--\(boundary)--\r\n".utf8) }
        return body
    }

    static func filePart(_ filename: String, _ content: [UInt8], type: String? = nil) -> (String, [UInt8]) {
        let typeLine = type.map { "\r\nContent-Type: \($0)" } ?? ""
        return ("Content-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\(typeLine)", content)
    }

    static func field(_ name: String, _ value: String) -> (String, [UInt8]) {
        ("Content-Disposition: form-data; name=\"\(name)\"", Array(value.utf8))
    }

    /// Bytes full of near-boundaries: CR, LF, `--`, the boundary without its CRLF, cut short.
    static let awkward: [UInt8] = {
        var bytes: [UInt8] = []
        let pieces = ["\r", "\n", "\r\n", "\r\n-", "\r\n--", "--\(boundary)", "\r\n--\(boundary.dropLast())", "x"]
        let noise = TestData.bytes(20_000, seed: 9)
        for (index, byte) in noise.enumerated() {
            bytes.append(byte)
            if index % 97 == 0 { bytes += Array(pieces[index % pieces.count].utf8) }
        }
        return bytes
    }()

    /// What the reader takes from `body` fed in chunks of `chunk` bytes.
    static func read(_ body: [UInt8], chunk: Int) async throws -> (FormFileReader.FilePart, [UInt8]) {
        let chunks = stride(from: 0, to: body.count, by: chunk).map {
            ByteBuffer(bytes: body[$0..<min($0 + chunk, body.count)])
        }
        let requestBody = RequestBody(
            asyncSequence: AsyncStream { continuation in
                for chunk in chunks { continuation.yield(chunk) }
                continuation.finish()
            })
        guard
            var reader = try FormFileReader(contentType: "multipart/form-data; boundary=\(boundary)", body: requestBody)
        else { throw FerryError(.badRequest, "not a form") }
        reader.hashesBody = true
        let part = try await reader.filePart()
        var content: [UInt8] = []
        while let buffer = try await reader.next() { content += buffer.readableBytesView }
        #expect(reader.bodyBytes == Int64(body.count))
        #expect(reader.bodySHA256 == Hex.decode(TestData.sha256(body)))
        return (part, content)
    }

    /// Whatever the chunks, the file is its bytes exactly, fields around it passed over.
    @Test(arguments: [1, 2, 7, 64, 4096, 1 << 20])
    func theFileIsItsBytesWhereverTheChunksEnd(chunk: Int) async throws {
        let body = Self.form([
            Self.field("note", "before\r\n--not-a-boundary"), Self.filePart("data.bin", Self.awkward),
            Self.field("after", "x"),
        ])
        let (part, content) = try await Self.read(body, chunk: chunk)
        #expect(part == .init(fileName: "data.bin", contentType: nil))
        #expect(content == Self.awkward)
    }

    /// A body of junk (no boundary ever comes) is not read to its end: past twice the fields'
    /// allowance it is refused, as the fields themselves are past theirs.
    @Test func junkIsNotReadToItsEnd() async throws {
        let junk = [UInt8](repeating: UInt8(ascii: "j"), count: 3 * FormFileReader.otherBytesLimit)
        let error = await #expect(throws: FerryError.self) { _ = try await Self.read(junk, chunk: 64 * 1024) }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("besides its file") == true)
    }

    /// What a part's headers say: directories dropped (RFC 7578 4.2), browsers' %22 read back,
    /// `filename*` preferred, a file input left empty (`filename=""`) is not a file.
    @Test func thePartsHeadersNameTheFile() {
        func file(_ disposition: String, type: String? = nil) -> FormFileReader.FilePart? {
            FormFileReader.file(
                [("content-disposition", disposition)] + (type.map { [("content-type", $0)] } ?? []))
        }
        #expect(file("form-data; name=\"f\"; filename=\"C:\\\\Users\\\\me\\\\Q3.pdf\"")?.fileName == "Q3.pdf")
        #expect(file("form-data; name=\"f\"; filename=\"../../etc/passwd\"")?.fileName == "passwd")
        #expect(file("form-data; name=\"f\"; filename=\"say %22hi%22; ok.txt\"")?.fileName == "say \"hi\"; ok.txt")
        #expect(file("form-data; name=\"f\"; filename=\"a.txt\"; filename*=UTF-8''%C3%BC.txt")?.fileName == "ü.txt")
        #expect(file("form-data; name=\"f\"; filename=\"a.txt\"", type: "text/plain")?.contentType == "text/plain")
        #expect(file("form-data; name=\"f\"; filename=\"\"") == nil)
        #expect(file("form-data; name=\"filename\"") == nil)
        #expect(FormFileReader.boundary(of: "multipart/form-data; charset=utf-8; boundary=\"a b\"") == "a b")
        #expect(FormFileReader.boundary(of: "multipart/form-data; boundary=") == nil)
        #expect(
            FormFileReader.boundary(of: "multipart/form-data; boundary=\(String(repeating: "b", count: 71))") == nil)
    }

    /// curl `-F file=@PATH` and Python requests `files=` store the file itself: its bytes, its
    /// name (or `?name=`), the type its part or its name gives; a form replaces content too.
    @Test func curlAndRequestsUploadAFileAsAForm() async throws {
        let server = try await TestServer.make()
        let work = try TemporaryDirectory("ferry-form")
        defer { work.remove() }
        try await server.live {
            let base = "http://127.0.0.1:\(server.port)"
            let path = work.appending("Q3 report.pdf")
            try Data(Self.awkward).write(to: URL(fileURLWithPath: path))
            let curl = try await ExternalTool.run(
                "curl",
                [
                    "-sS", "-f", "-H", "Authorization: Bearer \(server.adminToken)", "-F", "file=@\(path)",
                    "\(base)/v1/files",
                ])
            #expect(curl.status == 0, "\(curl.stderr)")
            let viaCurl = try JSONDecoder().decode(APIFile.self, from: Data(curl.stdout.utf8))
            #expect(viaCurl.name == "Q3 report.pdf")
            #expect(viaCurl.contentType == "application/pdf")
            #expect(viaCurl.size == Int64(Self.awkward.count))
            #expect(viaCurl.sha256 == TestData.sha256(Self.awkward))

            let script = """
                import hashlib, json, sys, requests
                base, token, path = sys.argv[1:4]
                auth = {"Authorization": "Bearer " + token}
                data = open(path, "rb").read()
                a = requests.post(base + "/v1/files", files={"file": open(path, "rb")}, headers=auth)
                b = requests.post(base + "/v1/files", params={"name": "notes.txt"}, data={"comment": "hi"},
                                  files={"upload": ("ignored.bin", data, "text/plain")},
                                  headers={**auth, "X-Ferry-SHA256": hashlib.sha256(data).hexdigest()})
                c = requests.put(base + "/v1/files/" + b.json()["id"] + "/content",
                                 files={"file": ("other.txt", b"version two")}, headers=auth)
                got = requests.get(base + "/v1/files/" + b.json()["id"] + "/content", headers=auth).content
                print(json.dumps({"a": a.json(), "b": b.json(), "c": c.json(), "got": got.decode()}))
                """
            let python = try await ExternalTool.run("python3", ["-c", script, base, server.adminToken, path])
            #expect(python.status == 0, "\(python.stderr)")
            struct Answers: Decodable {
                var a: APIFile
                var b: APIFile
                var c: APIFile
                var got: String
            }
            let answers = try JSONDecoder().decode(Answers.self, from: Data(python.stdout.utf8))
            #expect(answers.a.name == "Q3 report.pdf")
            #expect(answers.a.sha256 == TestData.sha256(Self.awkward))
            #expect(answers.b.name == "notes.txt")
            #expect(answers.b.contentType == "text/plain")
            #expect(answers.b.sha256 == TestData.sha256(Self.awkward))
            #expect(answers.c.name == "notes.txt")
            #expect(answers.c.version == 2)
            #expect(answers.got == "version two")
        }
    }

    /// Forms that cannot be read as one whole file are refused, and nothing is stored.
    @Test func aFormThatIsNotOneWholeFileStoresNothing() async throws {
        let server = try await TestServer.make(["FERRY_MAX_UPLOAD_BYTES": "30000"])
        let content = Array(Self.awkward.prefix(1000))
        let ok = Self.form([Self.filePart("a.bin", content)])
        let cases: [(String, [UInt8], HTTPFields, HTTPResponse.Status, String, String)] = [
            (
                "two files", Self.form([Self.filePart("a.bin", content), Self.filePart("b.bin", content)]), [:],
                .badRequest, "bad_request", "more than one file"
            ),
            ("no file", Self.form([Self.field("a", "b")]), [:], .badRequest, "bad_request", "holds no file"),
            (
                "an empty file input only", Self.form([Self.filePart("", [])]), [:], .badRequest, "bad_request",
                "holds no file"
            ),
            (
                "cut before its closing boundary", Array(ok.dropLast(20)), [:], .badRequest, "bad_request",
                "closing boundary"
            ),
            (
                "the file's digest wrong", ok, [.xFerrySHA256: String(repeating: "0", count: 64)], .badRequest,
                "checksum_mismatch", "not the 0000"
            ),
            (
                "the form's digest wrong", ok, [.contentDigest: "sha-256=:\(Data(count: 32).base64EncodedString()):"],
                .badRequest, "checksum_mismatch", "Content-Digest"
            ),
            (
                "a file over the limit", Self.form([Self.filePart("big.bin", TestData.bytes(30001))]), [:],
                .contentTooLarge, "too_large", "30000 bytes"
            ),
            (
                "over a MiB of fields", Self.form([Self.field("junk", String(repeating: "j", count: 1 << 20))]), [:],
                .contentTooLarge, "too_large", "besides its file"
            ),
            ("not a form at all", Array("junk".utf8), [:], .badRequest, "bad_request", "holds no file"),
        ]
        try await server.test { client in
            for (label, body, extra, status, code, words) in cases {
                var headers: HTTPFields = [
                    .authorization: "Bearer \(server.adminToken)",
                    .contentType: "multipart/form-data; boundary=\(Self.boundary)",
                ]
                headers.append(contentsOf: extra)
                let response = try await client.execute(
                    uri: "/v1/files", method: .post, headers: headers, body: ByteBuffer(bytes: body))
                #expect(response.status == status, "\(label)")
                #expect(ErrorInfo.code(response) == code, "\(label)")
                #expect(String(buffer: response.body).contains(words), "\(label): \(String(buffer: response.body))")
            }
            let missing = try await client.execute(
                uri: "/v1/files", method: .post,
                headers: [.authorization: "Bearer \(server.adminToken)", .contentType: "multipart/form-data"],
                body: ByteBuffer(bytes: ok))
            #expect(missing.status == .badRequest)
            #expect(String(buffer: missing.body).contains("boundary"))
            #expect(server.blobFiles().isEmpty)
            let list = try await client.get("/v1/files", token: server.adminToken)
            #expect(String(buffer: list.body).contains("\"files\":[]"))

            // The same form, whole and with both digests right, is stored; so is an empty file.
            let digest = Data(Hex.decode(TestData.sha256(ok))!).base64EncodedString()
            let stored = try await client.execute(
                uri: "/v1/files", method: .post,
                headers: [
                    .authorization: "Bearer \(server.adminToken)",
                    .contentType: "multipart/form-data; boundary=\(Self.boundary)",
                    .contentDigest: "sha-256=:\(digest):", .xFerrySHA256: TestData.sha256(content),
                ], body: ByteBuffer(bytes: ok))
            #expect(stored.status == .created, "\(String(buffer: stored.body))")
            let empty = try await client.execute(
                uri: "/v1/files", method: .post,
                headers: [
                    .authorization: "Bearer \(server.adminToken)",
                    .contentType: "multipart/form-data; boundary=\(Self.boundary)",
                ], body: ByteBuffer(bytes: Self.form([Self.filePart("", []), Self.filePart("empty.txt", [])])))
            #expect(empty.status == .created, "\(String(buffer: empty.body))")
            #expect(try JSONDecoder().decode(APIFile.self, from: Data(buffer: empty.body)).size == 0)
        }
    }
}
