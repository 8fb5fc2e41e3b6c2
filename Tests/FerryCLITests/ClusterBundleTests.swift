import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Bundles on a two-node PostgreSQL + S3 cluster: the same bundle yields the same bytes, size and
/// ETag on both nodes (members read from S3 with ranged GETs), and a password bundle link made on
/// one node works on the other.
extension ClusterTests {
    @Test func bothNodesServeTheSameBundleBytes() async throws {
        try await Self.withCluster { a, b, token in
            let auth = "Authorization: Bearer \(token)"
            let scratch = try TemporaryDirectory("ferry-cluster-bundle")
            defer { scratch.remove() }
            var ids: [String] = []
            var expected: [String: String] = [:]
            for (index, size) in [9 * 1024 * 1024 + 5, 700_000, 0].enumerated() {
                let bytes = TestData.bytes(size, seed: UInt64(70 + index))
                let source = scratch.appending("m\(index)")
                try Data(bytes).write(to: URL(fileURLWithPath: source))
                let node = index.isMultiple(of: 2) ? a : b
                let uploaded = try await Self.curl(
                    ["-H", auth, "--data-binary", "@\(source)", "\(node.base)/v1/files?name=member-\(index).bin"])
                #expect(uploaded.status == 201, "\(uploaded.body)")
                ids.append(try #require(Self.json(uploaded.body)["id"] as? String))
                expected["member-\(index).bin"] = TestData.sha256(bytes)
            }
            let body = #"{"file_ids": [\#(ids.map { "\"\($0)\"" }.joined(separator: ","))], "name": "both.zip"}"#
            let created = try await Self.curl(
                ["-H", auth, "-H", "Content-Type: application/json", "-d", body, "\(a.base)/v1/bundles"])
            #expect(created.status == 201, "\(created.body)")
            let bundle = Self.json(created.body)
            let id = try #require(bundle["id"] as? String)
            let size = try #require(bundle["size"] as? Int)
            var digests: [String] = []
            for node in [a, b] {
                let out = scratch.appending("from-\(node.port).zip")
                let r = try await Self.curl(
                    [
                        "-H", auth, "-D", scratch.appending("headers"), "-o", out,
                        "\(node.base)/v1/bundles/\(id)/content",
                    ])
                #expect(r.status == 200)
                let headers = try String(contentsOfFile: scratch.appending("headers"), encoding: .utf8).lowercased()
                #expect(headers.contains("etag: \((bundle["etag"] as? String ?? "").lowercased())"))
                #expect(headers.contains("content-length: \(size)"))
                digests.append(try TestData.sha256(file: out))
            }
            #expect(digests[0] == digests[1])
            try await ZipChecks.check(scratch.appending("from-\(a.port).zip"), expected: expected)
            let whole = try Array(Data(contentsOf: URL(fileURLWithPath: scratch.appending("from-\(a.port).zip"))))
            var generator = SystemRandomNumberGenerator()
            for round in 0..<24 {
                let start = Int.random(in: 0..<size, using: &generator)
                let end = Int.random(in: start..<min(size, start + 4 * 1024 * 1024), using: &generator)
                let node = round.isMultiple(of: 2) ? a : b
                let part = scratch.appending("part")
                let r = try await Self.curl(
                    ["-H", auth, "-r", "\(start)-\(end)", "-o", part, "\(node.base)/v1/bundles/\(id)/content"])
                #expect(r.status == 206)
                #expect(try Array(Data(contentsOf: URL(fileURLWithPath: part))) == Array(whole[start...end]))
            }

            // A password bundle link issued on A: Basic on B; the browser's cookie from A works on B.
            let linkBody = #"{"password": "cluster zip password"}"#
            let issued = try await Self.curl(
                [
                    "-H", auth, "-H", "Content-Type: application/json", "-d", linkBody,
                    "\(a.base)/v1/bundles/\(id)/links",
                ])
            #expect(issued.status == 201, "\(issued.body)")
            let url = try #require(Self.json(issued.body)["url"] as? String)
            let path = String(url[try #require(url.range(of: "/t/")).lowerBound...])
            let viaB = scratch.appending("via-b.zip")
            let basic = try await Self.curl(["-u", ":cluster zip password", "-o", viaB, b.base + path])
            #expect(basic.status == 200)
            #expect(try TestData.sha256(file: viaB) == digests[0])
            let jar = scratch.appending("jar")
            let form = try await Self.curl(
                [
                    "-c", jar, "-H", "Origin: \(a.base)", "--data-urlencode", "password=cluster zip password",
                    "-o", "/dev/null", a.base + path,
                ])
            #expect(form.status == 303)
            let cookie = try String(contentsOfFile: jar, encoding: .utf8)
                .split(separator: "\n").first { $0.contains("ferry_link") }
                .map { $0.split(separator: "\t").suffix(2).joined(separator: "=") }
            let withCookie = try await Self.curl(
                ["-H", "Cookie: \(try #require(cookie))", "-r", "0-99", "-o", "/dev/null", b.base + path])
            #expect(withCookie.status == 206)

            // Wrong passwords are counted on the whole cluster: 5 spread over A and B, then 429 on either.
            for attempt in 0..<5 {
                let node = attempt.isMultiple(of: 2) ? a : b
                let wrong = try await Self.curl(["-u", ":wrong guess \(attempt)", "-o", "/dev/null", node.base + path])
                #expect(wrong.status == 401)
            }
            let limited = try await Self.curl(["-u", ":wrong guess 5", b.base + path])
            #expect(limited.status == 429 && limited.body.contains("rate_limited"), "\(limited.body)")
        }
    }
}
