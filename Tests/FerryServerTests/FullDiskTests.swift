import FerryAPIModels
import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// The blob store on a real small file system (a 4 MiB tmpfs): an upload that does not fit is
/// API.md's 507 `insufficient_storage`, nothing is stored or left behind, and downloads and link
/// issuance keep working.
@Suite struct FullDiskTests {
    /// Mounts a tmpfs of `size` on a fresh directory (the tests run as root on this machine kind;
    /// anything else fails loudly).
    static func smallFileSystem(_ size: String) async throws -> TemporaryDirectory {
        let mount = try TemporaryDirectory("ferry-small-fs")
        let r = try await ExternalTool.run(
            "mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0700", "tmpfs", mount.path])
        guard r.status == 0 else {
            mount.remove()
            throw TestFailure("cannot mount a tmpfs for the full-disk test (needs root): \(r.stderr)")
        }
        return mount
    }

    static func unmount(_ mount: TemporaryDirectory) async {
        _ = try? await ExternalTool.run("umount", [mount.path])
        mount.remove()
    }

    /// Regular files under `root`, temporaries included.
    static func files(under root: String) -> [String] {
        (FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []).filter { path in
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory)
            return !isDirectory.boolValue
        }
    }

    @Test func anUploadThatDoesNotFitIs507AndLeavesNothing() async throws {
        let mount = try await Self.smallFileSystem("4m")
        let scratch = try TemporaryDirectory("ferry-full-disk")
        defer { scratch.remove() }
        do {
            let server = try await TestServer.make(["FERRY_STORAGE": "file://\(mount.path)/blobs"])
            try await server.live {
                let base = "http://127.0.0.1:\(server.port)"
                let small = TestData.bytes(100 * 1024, seed: 61)
                let kept = try await server.uploadWithCurl(small, name: "kept.bin", scratch: scratch)
                let blobsBefore = Self.files(under: mount.path)
                #expect(blobsBefore.count == 1, "\(blobsBefore)")

                let big = scratch.appending("big.bin")
                try Data(TestData.bytes(8 * 1024 * 1024, seed: 62)).write(to: URL(fileURLWithPath: big))
                func post(_ extra: [String]) async throws -> CurlResponse {
                    try await CurlResponse.run(
                        ["-H", "Authorization: Bearer \(server.adminToken)", "--data-binary", "@\(big)"] + extra
                            + ["\(base)/v1/files?name=big.bin"])
                }
                // With its length declared: refused before a byte is stored.
                let declared = try await post([])
                #expect(declared.status == 507, "\(declared.body)")
                #expect(declared.body.contains("\"insufficient_storage\""), "\(declared.body)")
                #expect(declared.body.contains("no room"))
                // Chunked (no length): the file system's ENOSPC, mid-body, ends the same way.
                let chunked = try await post(["-H", "Transfer-Encoding: chunked"])
                #expect(chunked.status == 507, "\(chunked.body)")
                #expect(chunked.body.contains("\"insufficient_storage\""), "\(chunked.body)")
                // A resumable upload that cannot fit is refused at creation.
                let tus = try await ExternalTool.run(
                    "curl",
                    [
                        "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H",
                        "Authorization: Bearer \(server.adminToken)", "-H", "Tus-Resumable: 1.0.0", "-H",
                        "Upload-Length: \(8 * 1024 * 1024)", "-H",
                        "Upload-Metadata: filename \(Data("big.bin".utf8).base64EncodedString())", "\(base)/v1/uploads",
                    ])
                #expect(tus.stdout == "507")

                // Nothing stored, nothing left behind: the one blob, and the listing's one file.
                #expect(Self.files(under: mount.path) == blobsBefore)
                let listing = try await ExternalTool.run(
                    "curl", ["-sf", "-H", "Authorization: Bearer \(server.adminToken)", "\(base)/v1/files"])
                #expect(listing.stdout.contains(kept.id))
                #expect(!listing.stdout.contains("big.bin"))

                // Downloads and link issuance keep working.
                let download = try await ExternalTool.run(
                    "curl",
                    [
                        "-sf", "-o", scratch.appending("back.bin"), "-H", "Authorization: Bearer \(server.adminToken)",
                        "\(base)/v1/files/\(kept.id)/content",
                    ])
                #expect(download.status == 0)
                #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.appending("back.bin"))) == Data(small))
                let link = try await ExternalTool.run(
                    "curl",
                    [
                        "-sf", "-X", "POST", "-H", "Authorization: Bearer \(server.adminToken)", "-H",
                        "Content-Type: application/json", "--data", "{}", "\(base)/v1/files/\(kept.id)/links",
                    ])
                #expect(link.status == 0 && link.stdout.contains("\"url\""), "\(link.stdout)")
            }
        } catch {
            await Self.unmount(mount)
            throw error
        }
        await Self.unmount(mount)
    }
}

/// A status and body as curl saw them.
struct CurlResponse {
    var status: Int
    var body: String

    /// Runs curl with `arguments` and reads the status it prints last.
    static func run(_ arguments: [String]) async throws -> CurlResponse {
        let r = try await ExternalTool.run("curl", ["-sS", "-w", "\n%{http_code}"] + arguments, timeout: 120)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return CurlResponse(status: Int(lines.last ?? "") ?? 0, body: lines.dropLast().joined(separator: "\n"))
    }
}
