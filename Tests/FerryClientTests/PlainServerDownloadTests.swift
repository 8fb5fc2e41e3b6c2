import AsyncHTTPClient
import FerryClient
import FerryTestSupport
import Foundation
import Synchronization
import Testing

/// The downloader as a generic segmented downloader (no manifest) against a real nginx serving a
/// static file, as `aria2c -x4` would use it: parallel ranges, `If-Range` with nginx's ETag,
/// resume after a kill, and a file replaced on disk mid-download.
@Suite struct PlainServerDownloadTests {
    /// nginx serving `www/` of a fresh directory on a free loopback port, logging the status,
    /// range and If-Range of every request.
    struct StaticServer {
        let work: TemporaryDirectory
        let base: String
        var www: String { work.appending("www") }

        static func run<T: Sendable>(_ body: @Sendable (StaticServer) async throws -> T) async throws -> T {
            let work = try TemporaryDirectory("ferry-plain")
            defer { work.remove() }
            // nginx's workers run as `nobody` when started by root: the files must be readable to all.
            try FileManager.default.createDirectory(atPath: work.appending("www"), withIntermediateDirectories: true)
            for path in [work.path, work.appending("www")] {
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            }
            let port = try FreePort.pick()
            let config = """
                worker_processes 1;
                pid \(work.appending("nginx.pid"));
                events { worker_connections 64; }
                http {
                    log_format ranges escape=none '$status $uri "$http_range" "$http_if_range"';
                    access_log \(work.appending("access.log")) ranges;
                    client_body_temp_path \(work.path);
                    proxy_temp_path \(work.path);
                    fastcgi_temp_path \(work.path);
                    uwsgi_temp_path \(work.path);
                    scgi_temp_path \(work.path);
                    server {
                        listen 127.0.0.1:\(port);
                        root \(work.appending("www"));
                        # A server naming its download, as many do: a plain quoted filename with a ';'.
                        location /named/ {
                            add_header Content-Disposition 'attachment; filename="Q3; final \\"v2\\".bin"';
                        }
                    }
                }
                """
            try config.write(toFile: work.appending("nginx.conf"), atomically: true, encoding: .utf8)
            // In the foreground, as a child of the test (a daemonising start escapes process monitoring).
            let nginx = try ExternalTool.start(
                "nginx",
                [
                    "-p", work.path, "-c", work.appending("nginx.conf"), "-e", work.appending("error.log"), "-g",
                    "daemon off;",
                ]
            )
            defer { nginx.terminate() }
            let server = StaticServer(work: work, base: "http://127.0.0.1:\(port)")
            try Data("ok".utf8).write(to: URL(fileURLWithPath: server.www + "/ready"))
            try await Eventually.check(timeout: 20) {
                (try? await ExternalTool.run("curl", ["-sf", "\(server.base)/ready"], timeout: 5))?.status == 0
            }
            return try await body(server)
        }

        /// Writes a file into `www/`, readable by nginx's workers, with the given modification time
        /// (nginx's ETag is the modification time and the size).
        func publish(_ bytes: [UInt8], as name: String, modified: Date) throws {
            let path = www + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: path + ".new"))
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o644, .modificationDate: modified], ofItemAtPath: path + ".new")
            // Replaced in one step, as a deploy would: a request sees the old file or the new one.
            guard rename(path + ".new", path) == 0 else { throw TestFailure("rename failed: errno \(errno)") }
        }

        /// The access log's lines: status, path, Range and If-Range of each request.
        func requests() throws -> [String] {
            try String(contentsOfFile: work.appending("access.log"), encoding: .utf8).split(separator: "\n")
                .map(String.init)
        }
    }

    static func withHTTP<T: Sendable>(_ body: @Sendable (HTTPClient) async throws -> T) async throws -> T {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let result = try await body(http)
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    static func downloader(_ http: HTTPClient) -> Downloader {
        Downloader(http: http, userAgent: "ferry-test") { _ in nil }
    }

    @Test func aStaticFileIsFetchedInParallelRangesWithIfRangeAndVerified() async throws {
        try await StaticServer.run { nginx in
            try await Self.withHTTP { http in
                let bytes = TestData.bytes(12 * 1024 * 1024 + 321, seed: 21)
                try nginx.publish(bytes, as: "report.bin", modified: Date(timeIntervalSince1970: 1_700_000_000))
                let out = try TemporaryDirectory("ferry-get")
                defer { out.remove() }
                let result = try await Self.downloader(http).download(
                    DownloadOptions(
                        source: try DownloadSource(parsing: "\(nginx.base)/report.bin"), directory: out.path,
                        connections: 4, partSize: 1024 * 1024), events: { _ in })
                // Named after the URL's last component, right bytes, nothing left beside it.
                #expect(result.path == out.appending("report.bin"))
                #expect(try TestData.sha256(file: result.path) == TestData.sha256(bytes))
                #expect(result.sha256 == TestData.sha256(bytes))
                #expect(DownloaderTests.leftovers(out.path).isEmpty)
                // One probe and thirteen 1 MiB parts, each a 206 bound to the version by If-Range.
                let parts = try nginx.requests().filter { $0.contains(" /report.bin ") && $0.hasPrefix("206") }
                #expect(parts.count == 14, "\(parts)")
                let etag = "\"\(String(1_700_000_000, radix: 16))-\(String(bytes.count, radix: 16))\""
                let partLines = parts.filter { !$0.contains("bytes=0-0") }
                #expect(partLines.count == 13)
                #expect(partLines.allSatisfy { $0.hasSuffix("\"\(etag)\"") }, "\(partLines)")
            }
        }
    }

    /// The name a server gives in `Content-Disposition` is read as RFC 6266 writes it: a `;` or an
    /// escaped quote inside the quoted filename is part of the name (the client's own parser split
    /// at every `;` and saved this file as "Q3").
    @Test func theServersFilenameIsReadWhole() async throws {
        try await StaticServer.run { nginx in
            try await Self.withHTTP { http in
                let bytes = TestData.bytes(1000, seed: 5)
                try FileManager.default.createDirectory(atPath: nginx.www + "/named", withIntermediateDirectories: true)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: nginx.www + "/named")
                try nginx.publish(bytes, as: "named/x.bin", modified: Date(timeIntervalSince1970: 1_700_000_000))
                let out = try TemporaryDirectory("ferry-get")
                defer { out.remove() }
                let result = try await Self.downloader(http).download(
                    DownloadOptions(
                        source: try DownloadSource(parsing: "\(nginx.base)/named/x.bin"), directory: out.path),
                    events: { _ in })
                #expect(result.path == out.appending("Q3; final \"v2\".bin"))
                #expect(try TestData.sha256(file: result.path) == TestData.sha256(bytes))
            }
        }
    }

    @Test func killedMidwayAndResumedFetchesOnlyWhatWasInFlight() async throws {
        try await StaticServer.run { nginx in
            try await Self.withHTTP { http in
                let bytes = TestData.bytes(16 * 1024 * 1024 + 5, seed: 22)
                try nginx.publish(bytes, as: "big.bin", modified: Date(timeIntervalSince1970: 1_700_000_100))
                let out = try TemporaryDirectory("ferry-get")
                defer { out.remove() }
                let destination = out.appending("big.bin")
                let partSize: Int64 = 1024 * 1024
                var options = DownloadOptions(
                    source: try DownloadSource(parsing: "\(nginx.base)/big.bin"), destination: destination,
                    connections: 3, partSize: partSize)
                let landed = Mutex(0)
                options.afterPart = { _ in
                    // "kill -9" once half the parts are in: the others are cut wherever they are.
                    if landed.withLock({
                        $0 += 1; return $0
                    }) >= 8 {
                        withUnsafeCurrentTask { $0?.cancel() }
                    }
                }
                let first = Task { [options] in try await Self.downloader(http).download(options, events: { _ in }) }
                _ = try? await first.value
                #expect(!FileManager.default.fileExists(atPath: destination))
                #expect(FileManager.default.fileExists(atPath: destination + ".ferry-part"))
                options.afterPart = nil
                let result = try await Self.downloader(http).download(options, events: { _ in })
                #expect(try TestData.sha256(file: destination) == TestData.sha256(bytes))
                #expect(result.resentBytes <= 3 * partSize)
                #expect(result.restarts == 0)
                #expect(DownloaderTests.leftovers(out.path).isEmpty)
            }
        }
    }

    @Test func aFileReplacedOnDiskMidDownloadRestartsAndEndsWithTheNewBytes() async throws {
        try await StaticServer.run { nginx in
            try await Self.withHTTP { http in
                let old = TestData.bytes(10 * 1024 * 1024, seed: 23)
                let new = TestData.bytes(7 * 1024 * 1024 + 11, seed: 24)
                try nginx.publish(old, as: "data.bin", modified: Date(timeIntervalSince1970: 1_700_000_200))
                let out = try TemporaryDirectory("ferry-get")
                defer { out.remove() }
                var options = DownloadOptions(
                    source: try DownloadSource(parsing: "\(nginx.base)/data.bin"), destination: out.appending("d.bin"),
                    connections: 2, partSize: 1024 * 1024)
                // The first part from the third on replaces the file; every later part waits until it is done
                // (else the other worker could fetch the rest of the old version meanwhile).
                let replacement = OnceTask()
                options.afterPart = { part in
                    guard part >= 2 else { return }
                    try await replacement.run {
                        try nginx.publish(new, as: "data.bin", modified: Date(timeIntervalSince1970: 1_700_000_300))
                    }
                }
                let log = EventLog()
                let result = try await Self.downloader(http).download(options, events: log.record)
                #expect(try TestData.sha256(file: result.path) == TestData.sha256(new))
                #expect(result.restarts == 1)
                #expect(
                    log.all.contains {
                        if case .restart(let reason) = $0 { reason.contains("changed") } else { false }
                    })
            }
        }
    }
}
