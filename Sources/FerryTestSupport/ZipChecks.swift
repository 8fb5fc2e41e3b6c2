import Foundation
import Testing

/// The unzip tools people use, on an archive: `unzip -t`, `bsdtar -tf`, `7z t` and Python's
/// `zipfile` (testzip, then every member extracted and its SHA-256 compared).
public enum ZipChecks {
    /// Every tool accepts the archive; Python extracts each member and checks its SHA-256.
    public static func check(_ path: String, expected: [String: String], timeout: TimeInterval = 120) async throws {
        let unzip = try await ExternalTool.run("unzip", ["-tq", path], timeout: timeout)
        #expect(unzip.status == 0, "unzip: \(unzip.stdout.suffix(2000)) \(unzip.stderr)")
        let bsdtar = try await ExternalTool.run("bsdtar", ["-tf", path], timeout: timeout)
        #expect(bsdtar.status == 0, "bsdtar: \(bsdtar.stderr)")
        #expect(Set(bsdtar.stdout.split(separator: "\n").map(String.init)) == Set(expected.keys))
        let seven = try await ExternalTool.run("7z", ["t", path], timeout: timeout)
        #expect(seven.status == 0 && seven.stdout.contains("Everything is Ok"), "7z: \(seven.stdout.suffix(2000))")
        let script = """
            import hashlib, json, sys, zipfile
            with zipfile.ZipFile(sys.argv[1]) as z:
                bad = z.testzip()
                digests = {}
                for info in z.infolist():
                    h = hashlib.sha256()
                    with z.open(info) as f:
                        for chunk in iter(lambda: f.read(1 << 20), b""):
                            h.update(chunk)
                    digests[info.filename] = h.hexdigest()
            print(json.dumps({"bad": bad, "digests": digests}))
            """
        let python = try await ExternalTool.run("python3", ["-c", script, path], timeout: timeout)
        #expect(python.status == 0, "zipfile: \(python.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(python.stdout.utf8)) as? [String: Any]
        #expect(result?["bad"] is NSNull, "zipfile: \(python.stdout)")
        #expect(result?["digests"] as? [String: String] == expected)
    }
}
