import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Bundles through `ferry bundle`, `ferry get`, `ferry link` and the download tools people use.
@Suite(.serialized) struct BundleClientTests {
    static func put(_ setup: ClientCommandTests.Setup, _ path: String, env: [String: String]) async throws -> String {
        let put = try await setup.ferry(["put", path, "--json"], env: env, timeout: 600)
        #expect(put.status == 0, "\(put.stderr)")
        return try #require(ClientCommandTests.lastJSON(put.stdout)["id"] as? String, "\(put.stdout)")
    }

    @Test func ferryBundleGetAndLinkMakeTheSameArchive() async throws {
        let setup = try await ClientCommandTests.Setup.start()
        defer { setup.stop() }
        let env = ["FERRY_URL": setup.base, "FERRY_TOKEN": setup.token]
        var ids: [String] = []
        var expected: [String: String] = [:]
        for (index, name) in ["notes.txt", "photo.jpg", "notes.txt"].enumerated() {
            let bytes = TestData.bytes(2 * 1024 * 1024 + index * 1000, seed: UInt64(60 + index))
            let path = setup.home.appending("src-\(index)")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: path + "/" + name))
            ids.append(try await Self.put(setup, path + "/" + name, env: env))
            expected[index == 2 ? "notes (2).txt" : name] = TestData.sha256(bytes)
        }
        #expect(try await setup.ferry(["bundle"], env: env).status == 2)
        let made = try await setup.ferry(["bundle"] + ids + ["--name", "holiday.zip"], env: env)
        #expect(made.status == 0, "\(made.stderr)")
        let bundleID = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Identifier.isWellFormed(bundleID))

        // ferry get names it from the server and fetches it in parallel ranges.
        let got = try await setup.ferry(["get", bundleID, "--connections", "4", "--part-size", "1048576"], env: env)
        #expect(got.status == 0, "\(got.stderr)")
        let zipPath = setup.home.appending("holiday.zip")
        try await ZipChecks.check(zipPath, expected: expected)
        let full = setup.home.appending("full.zip")
        let curl = try await ExternalTool.run(
            "curl",
            [
                "-sSf", "-H", "Authorization: Bearer \(setup.token)", "-o", full,
                "\(setup.base)/v1/bundles/\(bundleID)/content",
            ])
        #expect(curl.status == 0, "\(curl.stderr)")
        #expect(try TestData.sha256(file: full) == TestData.sha256(file: zipPath))

        // ferry link on a bundle id, with a password: curl -u gets the same bytes.
        let passwordFile = setup.home.appending("pw")
        try Data("zip password 1".utf8).write(to: URL(fileURLWithPath: passwordFile))
        let link = try await setup.ferry(["link", bundleID, "--password-file", passwordFile], env: env)
        #expect(link.status == 0, "\(link.stderr)")
        let url = link.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let viaLink = setup.home.appending("link.zip")
        let fetched = try await ExternalTool.run("curl", ["-sSf", "-u", ":zip password 1", "-o", viaLink, url])
        #expect(fetched.status == 0, "\(fetched.stderr)")
        #expect(try TestData.sha256(file: viaLink) == TestData.sha256(file: full))
        let unknown = try await setup.ferry(["link", Identifier.make()], env: env)
        #expect(unknown.status == 5, "\(unknown.stderr)")
        // The bundle's own refusal is told, not the file's 404 (it said "No such file").
        let shortPassword = setup.home.appending("short-pw")
        try Data("pw one".utf8).write(to: URL(fileURLWithPath: shortPassword))
        let refused = try await setup.ferry(["link", bundleID, "--password-file", shortPassword], env: env)
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("8 to 1024 characters"), "\(refused.stderr)")

        // info, links and rm take a bundle id too (each said "No such file" and exit 5): its
        // JSON, the password link just issued, and deleting it leaves its files.
        let info = try await setup.ferry(["info", bundleID], env: env)
        #expect(info.status == 0, "\(info.stderr)")
        let shown = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any]
        #expect(shown?["name"] as? String == "holiday.zip" && (shown?["files"] as? [Any])?.count == 3)
        let links = try await setup.ferry(["links", bundleID], env: env)
        #expect(links.status == 0, "\(links.stderr)")
        #expect(links.stdout.split(separator: "\n").count == 2, "a header and the one link: \(links.stdout)")
        let removed = try await setup.ferry(["rm", bundleID], env: env)
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(try await setup.ferry(["info", bundleID], env: env).status == 5)
        #expect(try await setup.ferry(["info", ids[0]], env: env).status == 0, "its files stay")
        #expect(try await setup.ferry(["rm", Identifier.make()], env: env).status == 5)
    }

    /// A 3 GiB bundle through `aria2c -x8`, and a `curl` cut at 1 GiB then resumed with `-C -`:
    /// both the same bytes as one full GET.
    @Test func aThreeGibibyteBundleThroughAria2cAndAResumedCurlIsTheFullGET() async throws {
        let setup = try await ClientCommandTests.Setup.start()
        defer { setup.stop() }
        let env = ["FERRY_URL": setup.base, "FERRY_TOKEN": setup.token]
        var ids: [String] = []
        for index in 0..<2 {
            let path = setup.home.appending("big-\(index).bin")
            let r = try await ExternalTool.run("openssl", ["rand", "-out", path, String(3 << 29)], timeout: 120)
            #expect(r.status == 0)
            ids.append(try await Self.put(setup, path, env: env))
            try FileManager.default.removeItem(atPath: path)
        }
        let made = try await setup.ferry(["bundle"] + ids + ["--name", "big.zip"], env: env)
        let bundleID = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let url = "\(setup.base)/v1/bundles/\(bundleID)/content"
        let auth = "Authorization: Bearer \(setup.token)"
        let full = setup.home.appending("full.zip")
        #expect(try await ExternalTool.run("curl", ["-sSf", "-H", auth, "-o", full, url], timeout: 300).status == 0)
        let fullSHA = try TestData.sha256(file: full)
        try FileManager.default.removeItem(atPath: full)

        let aria = try await ExternalTool.run(
            "aria2c",
            ["-q", "-x8", "-s8", "-k16M", "--header", auth, "-d", setup.home.path, "-o", "aria.zip", url],
            timeout: 600)
        #expect(aria.status == 0, "\(aria.stdout)")
        #expect(try TestData.sha256(file: setup.home.appending("aria.zip")) == fullSHA)
        try FileManager.default.removeItem(atPath: setup.home.appending("aria.zip"))

        let resumed = setup.home.appending("resumed.zip")
        let cut = try await ExternalTool.run(
            "curl", ["-sS", "-H", auth, "-r", "0-\((1 << 30) - 1)", "-o", resumed, url], timeout: 300)
        #expect(cut.status == 0)
        let rest = try await ExternalTool.run(
            "curl", ["-sSf", "-C", "-", "-H", auth, "-o", resumed, url], timeout: 300)
        #expect(rest.status == 0, "\(rest.stderr)")
        #expect(try TestData.sha256(file: resumed) == fullSHA)
    }
}
