import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// tus on a cluster (two `ferry serve` on one PostgreSQL and one S3 server): an upload begun on
/// one node continues on the other, and two PATCHes racing at one offset on the two nodes never
/// make a corrupt file (one wins; the other gets 409 or 423).
@Suite(.serialized) struct ClusterUploadTests {
    static func upload(_ base: String, token: String, length: Int) async throws -> String {
        let r = try await ExternalTool.run(
            "curl",
            [
                "-sS", "-D", "-", "-o", "/dev/null", "-X", "POST", "-H", "Authorization: Bearer \(token)",
                "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Length: \(length)", "-H",
                "Upload-Metadata: filename \(Data("race.bin".utf8).base64EncodedString())", "\(base)/v1/uploads",
            ])
        let location = r.stdout.split(separator: "\r\n").first { $0.lowercased().hasPrefix("location:") }
        return String(try #require(location).dropFirst("location: ".count)).trimmingCharacters(in: .whitespaces)
    }

    /// A PATCH to `url` on `base` (the upload's path taken to that node); returns status and headers.
    static func patch(
        _ base: String, _ url: String, token: String, offset: Int, file: String
    ) async throws -> (status: Int, headers: String) {
        let path = String(url[try #require(url.range(of: "/v1/uploads/"))!.lowerBound...])
        let r = try await ExternalTool.run(
            "curl",
            [
                "-sS", "-D", "-", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PATCH", "-H",
                "Authorization: Bearer \(token)", "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Offset: \(offset)",
                "-H", "Content-Type: application/offset+octet-stream", "--data-binary", "@\(file)", "\(base)\(path)",
            ])
        return (Int(r.stdout.suffix(3)) ?? 0, r.stdout)
    }

    @Test func racingPatchesOnTwoNodesNeverCorruptAnUpload() async throws {
        try await ClusterTests.withCluster { a, b, token in
            let scratch = try TemporaryDirectory("ferry-cluster-tus")
            defer { scratch.remove() }
            let chunk = 256 * 1024
            for round in 0..<50 {
                let first = [
                    TestData.bytes(chunk, seed: UInt64(1000 + round)),
                    TestData.bytes(chunk, seed: UInt64(2000 + round)),
                ]
                let second = [
                    TestData.bytes(chunk, seed: UInt64(3000 + round)),
                    TestData.bytes(chunk, seed: UInt64(4000 + round)),
                ]
                var files: [String] = []
                for (index, bytes) in (first + second).enumerated() {
                    let path = scratch.appending("r\(round)-\(index)")
                    try Data(bytes).write(to: URL(fileURLWithPath: path))
                    files.append(path)
                }
                let url = try await Self.upload(a.base, token: token, length: 2 * chunk)
                // Two writers at offset 0, one on each node, at the same time.
                let (fileA, fileB) = (files[0], files[2])
                async let onA = Self.patch(a.base, url, token: token, offset: 0, file: fileA)
                async let onB = Self.patch(b.base, url, token: token, offset: 0, file: fileB)
                let (resultA, resultB) = try await (onA, onB)
                let statuses = [resultA.status, resultB.status].sorted()
                #expect(statuses[0] == 204 && [409, 423].contains(statuses[1]), "round \(round): \(statuses)")
                let winner = resultA.status == 204 ? first : second
                let winnerTail = resultA.status == 204 ? files[1] : files[3]
                // The rest goes to the other node than the one that began the upload.
                let last = try await Self.patch(b.base, url, token: token, offset: chunk, file: winnerTail)
                #expect(last.status == 204, "round \(round): \(last.headers)")
                let fileID = last.headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("ferry-file-id:") }
                    .map { String($0.dropFirst("ferry-file-id: ".count)).trimmingCharacters(in: .whitespaces) }
                let id = try #require(fileID, "round \(round)")
                let out = scratch.appending("out-\(round)")
                let got = try await ExternalTool.run(
                    "curl",
                    [
                        "-sS", "-f", "-H", "Authorization: Bearer \(token)", "-o", out,
                        "\(a.base)/v1/files/\(id)/content",
                    ])
                #expect(got.status == 0)
                #expect(try TestData.sha256(file: out) == TestData.sha256(winner[0] + winner[1]), "round \(round)")
            }
        }
    }
}
