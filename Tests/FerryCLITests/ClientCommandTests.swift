import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// The client commands of the built `ferry` binary against a `ferry serve` on loopback.
@Suite struct ClientCommandTests {
    /// A running server, a temporary home for the client's config, and a way to run `ferry`.
    struct Setup {
        let server: ExternalTool.Running
        let base: String
        let token: String
        let home: TemporaryDirectory

        var environment: [String: String] {
            var env = ServeCommandTests.baseEnvironment
            env["HOME"] = home.path
            env["XDG_CONFIG_HOME"] = home.appending("config")
            return env
        }

        func ferry(
            _ arguments: [String], env extra: [String: String] = [:], timeout: TimeInterval = 120
        ) async throws
            -> ExternalTool.Result
        {
            var env = environment
            env.merge(extra) { $1 }
            let run = try ExternalTool.start(
                path: ServeCommandTests.binary, arguments, environment: env, directory: home.path)
            return await run.wait(timeout: timeout)
        }

        /// Starts `ferry serve`; `serverEnvironment` adds FERRY_* variables.
        static func start(serverEnvironment: [String: String] = [:]) async throws -> Setup {
            let home = try TemporaryDirectory("ferry-cli-home")
            let port = try FreePort.pick()
            let token = Identifier.secret()
            var env = ServeCommandTests.baseEnvironment
            env["FERRY_DATA_DIR"] = home.appending("server")
            env["FERRY_LISTEN"] = "127.0.0.1:\(port)"
            env["FERRY_BOOTSTRAP_TOKEN"] = token
            env.merge(serverEnvironment) { $1 }
            let server = try ExternalTool.start(path: ServeCommandTests.binary, ["serve"], environment: env)
            let base = "http://127.0.0.1:\(port)"
            try await Eventually.check(timeout: 60) {
                (try? await ExternalTool.run("curl", ["-sf", "\(base)/healthz"], timeout: 5))?.status == 0
            }
            return Setup(server: server, base: base, token: token, home: home)
        }

        func stop() {
            server.kill()
            home.remove()
        }
    }

    static func lastJSON(_ output: String) -> [String: Any] {
        let line = output.split(separator: "\n").last.map(String.init) ?? ""
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
    }

    @Test func loginPutListGetLinkAndRemove() async throws {
        let setup = try await Setup.start()
        defer { setup.stop() }
        let login = try await setup.ferry(["login", "--url", setup.base, "--token", setup.token])
        #expect(login.status == 0, "\(login.stderr)")
        #expect(login.stdout.contains("as admin"))
        let config = setup.home.appending("config/ferry/config")
        let mode = try FileManager.default.attributesOfItem(atPath: config)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let bytes = TestData.bytes(21 * 1024 * 1024 + 11)
        let source = setup.home.appending("report.bin")
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        let put = try await setup.ferry(["put", source, "--name", "Q3 report.bin", "--json"])
        #expect(put.status == 0, "\(put.stderr)")
        let id = try #require(Self.lastJSON(put.stdout)["id"] as? String)

        let ls = try await setup.ferry(["ls"])
        #expect(ls.status == 0)
        #expect(ls.stdout.contains("Q3 report.bin") && ls.stdout.contains(id))

        let out = setup.home.appending("downloaded.bin")
        let get = try await setup.ferry(["get", id, "-o", out, "--json", "--connections", "3"])
        #expect(get.status == 0, "\(get.stderr)")
        let done = Self.lastJSON(get.stdout)
        #expect(done["event"] as? String == "done")
        #expect(done["sha256"] as? String == TestData.sha256(bytes))
        #expect(done["resent_bytes"] as? Int == 0)
        #expect(get.stdout.contains(#""event":"progress""#) || get.stdout.contains(#""event":"started""#))
        #expect(try TestData.sha256(file: out) == TestData.sha256(bytes))

        // Into the current directory under the server's name (never a path).
        let here = try await setup.ferry(["get", "\(setup.base)/d/\(id)", "--quiet"])
        #expect(here.status == 0, "\(here.stderr)")
        #expect(try TestData.sha256(file: setup.home.appending("Q3 report.bin")) == TestData.sha256(bytes))
        // The result has the mode of any new file, as curl's (it was 0600 whatever the umask).
        let masked = setup.home.appending("masked.bin")
        let underUmask = try await ExternalTool.start(
            path: "/bin/sh",
            ["-c", "umask 027 && \"$0\" get \"$1\" -o \"$2\" --quiet", ServeCommandTests.binary, id, masked],
            environment: setup.environment, directory: setup.home.path
        ).wait(timeout: 60)
        #expect(underUmask.status == 0, "\(underUmask.stderr)")
        #expect(try FileManager.default.attributesOfItem(atPath: masked)[.posixPermissions] as? Int == 0o640)

        let link = try await setup.ferry(["link", id, "--single-use", "--ttl", "120"])
        #expect(link.status == 0)
        let url = link.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(url.hasPrefix(setup.base + "/t/") && !url.contains("\n"))
        let viaLink = try await setup.ferry(["get", url, "-o", setup.home.appending("via-link.bin"), "--quiet"])
        #expect(viaLink.status == 0, "\(viaLink.stderr)")
        #expect(try TestData.sha256(file: setup.home.appending("via-link.bin")) == TestData.sha256(bytes))

        let links = try await setup.ferry(["links", id])
        #expect(links.stdout.contains("1/1"))
        // The audit table's DETAIL is JSON with its keys in one order (sorted), as --json lines are.
        let audit = try await setup.ferry(["audit", "--event", "link.issued"])
        #expect(audit.status == 0, "\(audit.stderr)")
        let detail = try #require(audit.stdout.split(separator: "\n").dropFirst().first)
        let keys = ["link_id", "max_downloads", "strategy", "ttl_seconds"].compactMap {
            detail.range(of: "\"\($0)\":")?.lowerBound
        }
        #expect(keys.count == 4 && keys == keys.sorted(), "\(detail)")

        let text = String(repeating: "line of text\n", count: 5000)
        try text.write(toFile: setup.home.appending("notes.txt"), atomically: true, encoding: .utf8)
        let textPut = try await setup.ferry([
            "put", setup.home.appending("notes.txt"), "--type", "text/plain", "--json",
        ])
        let textID = try #require(Self.lastJSON(textPut.stdout)["id"] as? String)
        let stdout = try await setup.ferry(["get", textID, "-o", "-"])
        #expect(stdout.status == 0)
        #expect(stdout.stdout == text)

        #expect(try await setup.ferry(["rm", id]).status == 0)
        let gone = try await setup.ferry(["get", id, "-o", setup.home.appending("gone.bin")])
        #expect(gone.status == 5, "\(gone.stderr)")
        #expect(gone.stderr.hasPrefix("ferry: "))
    }

    @Test func exitCodesNameTheCause() async throws {
        let setup = try await Setup.start()
        defer { setup.stop() }
        let env = ["FERRY_URL": setup.base, "FERRY_TOKEN": setup.token]
        #expect(try await setup.ferry(["get"], env: env).status == 2)
        #expect(try await setup.ferry(["get", "x", "--connections", "99"], env: env).status == 2)
        #expect(try await setup.ferry(["get", "x", "--sha256", "not-a-digest"], env: env).status == 2)
        #expect(try await setup.ferry(["get", "x", "--limit-rate", "0"], env: env).status == 2)
        #expect(try await setup.ferry(["get", "x", "--limit-rate", "fast"], env: env).status == 2)
        let directory = try await setup.ferry(["put", setup.home.path], env: env)
        #expect(directory.status == 2)
        #expect(directory.stderr.contains("is a directory"), "\(directory.stderr)")
        let source = setup.home.appending("a.txt")
        try Data("a".utf8).write(to: URL(fileURLWithPath: source))
        let emptyName = try await setup.ferry(["put", source, "--name", ""], env: env)
        #expect(emptyName.status == 2)
        #expect(emptyName.stderr.contains("--name is empty"), "\(emptyName.stderr)")
        let badType = try await setup.ferry(["put", source, "--type", "pdf"], env: env)
        #expect(badType.status == 2)
        #expect(badType.stderr.contains("--type takes a media type"), "\(badType.stderr)")
        let unknown = try await setup.ferry(["get", Identifier.make()], env: env)
        #expect(unknown.status == 5)
        let badToken = try await setup.ferry(["ls"], env: ["FERRY_URL": setup.base, "FERRY_TOKEN": "nope"])
        #expect(badToken.status == 4)
        let port = try FreePort.pick()
        let down = try await setup.ferry(["get", "http://127.0.0.1:\(port)/file.bin"], env: env)
        #expect(down.status == 3, "\(down.stderr)")
        // Said by its cause, not in NIO's words ("connection reset (error set): Connection refused) (errno: 111)").
        #expect(
            down.stderr.contains("Could not reach http://127.0.0.1:\(port)/file.bin: connection refused"),
            "\(down.stderr)")
        // A link's token is a secret: messages name the link without it.
        let downLink = try await setup.ferry(["get", "http://127.0.0.1:\(port)/t/secret-token-123"], env: env)
        #expect(downLink.status == 3)
        #expect(downLink.stderr.contains("Could not reach http://127.0.0.1:\(port)/t/…: connection refused"))
        #expect(!downLink.stderr.contains("secret-token-123"), "\(downLink.stderr)")
        // A server URL that is not one is a usage error naming where it came from (it was
        // "Could not reach 127.0.0.1:8080: HTTPClientError.invalidURL", exit 3).
        let schemeless = try await setup.ferry(["ls"], env: ["FERRY_URL": "127.0.0.1:8080", "FERRY_TOKEN": "x"])
        #expect(schemeless.status == 2)
        #expect(schemeless.stderr.contains("FERRY_URL must be the server's http(s) URL"), "\(schemeless.stderr)")
        let ftp = try await setup.ferry(["login", "--url", "ftp://files.example.com", "--token", "x"])
        #expect(ftp.status == 2)
        #expect(ftp.stderr.contains("--url must be the server's http(s) URL"), "\(ftp.stderr)")
        let noServer = try await setup.ferry(["ls"])
        #expect(noServer.status == 2)
        #expect(noServer.stderr.contains("ferry login"))
    }

    /// `-o` naming a device or a pipe streams into it as curl does (a rename onto it would replace
    /// it: as root, /dev/null itself), a missing directory is a usage error, and a stream whose
    /// bytes are not the file's ends with exit 7.
    @Test func devicesAndPipesAreStreamedIntoAndWhatWasStreamedIsChecked() async throws {
        let setup = try await Setup.start()
        defer { setup.stop() }
        let env = ["FERRY_URL": setup.base, "FERRY_TOKEN": setup.token]
        let bytes = TestData.bytes(3 * 1024 * 1024 + 5)
        let source = setup.home.appending("data.bin")
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        let put = try await setup.ferry(["put", source, "--json"], env: env)
        let id = try #require(Self.lastJSON(put.stdout)["id"] as? String)

        // A link to /dev/null: a regression replaces the link, never the device.
        let sink = setup.home.appending("sink")
        try FileManager.default.createSymbolicLink(atPath: sink, withDestinationPath: "/dev/null")
        let toNull = try await setup.ferry(["get", id, "-o", sink, "--quiet", "--limit-rate", "512m"], env: env)
        #expect(toNull.status == 0, "\(toNull.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: sink) == "/dev/null")
        #expect(
            try FileManager.default.attributesOfItem(atPath: "/dev/null")[.type] as? FileAttributeType
                == .typeCharacterSpecial)
        #expect(!FileManager.default.fileExists(atPath: sink + ".ferry-part"))
        #expect(!FileManager.default.fileExists(atPath: sink + ".ferry-part.data"))

        // A named pipe, read by another process.
        let pipe = setup.home.appending("pipe")
        #expect(mkfifo(pipe, 0o600) == 0)
        let received = setup.home.appending("received.bin")
        let reader = try ExternalTool.start("sh", ["-c", "cat \"$0\" > \"$1\"", pipe, received])
        let toPipe = try await setup.ferry(["get", id, "-o", pipe], env: env)
        #expect(toPipe.status == 0, "\(toPipe.stderr)")
        #expect(await reader.wait(timeout: 30).status == 0)
        #expect(FileManager.default.contents(atPath: received) == Data(bytes))

        // Uploads from a pipe: sent as they come, the SHA-256 checked against the server's.
        var pipeEnv = setup.environment
        pipeEnv.merge(env) { $1 }
        let piped = try await ExternalTool.start(
            path: "/bin/sh",
            ["-c", "cat \"$0\" | \"$1\" put - --name piped.csv --json", source, ServeCommandTests.binary],
            environment: pipeEnv, directory: setup.home.path
        ).wait(timeout: 60)
        #expect(piped.status == 0, "\(piped.stderr)")
        let pipedFile = Self.lastJSON(piped.stdout)
        #expect(pipedFile["sha256"] as? String == TestData.sha256(bytes))
        #expect(pipedFile["size"] as? Int == bytes.count)
        // Typed by its name, as a file is (it was stored as application/octet-stream).
        #expect(pipedFile["content_type"] as? String == "text/csv", "\(pipedFile)")
        #expect(try await setup.ferry(["put", "-"], env: env).status == 2)
        // From a device, named or as standard input (epoll takes neither: NIO trapped on them).
        let fromDevice = try await setup.ferry(["put", "/dev/null", "--json"], env: env)
        #expect(fromDevice.status == 0, "\(fromDevice.stderr)")
        #expect(Self.lastJSON(fromDevice.stdout)["size"] as? Int == 0)
        let stdinDevice = try await ExternalTool.start(
            path: "/bin/sh", ["-c", "\"$0\" put - --name empty.bin --json < /dev/null", ServeCommandTests.binary],
            environment: pipeEnv, directory: setup.home.path
        ).wait(timeout: 60)
        #expect(stdinDevice.status == 0, "\(stdinDevice.stderr)")
        #expect(Self.lastJSON(stdinDevice.stdout)["sha256"] as? String == TestData.sha256([UInt8]()))

        // A reader that stops early (`| head`): ferry stops quietly, as its listings do (exit 0);
        // a full device is said in the system's words (Foundation's were "NSCocoaErrorDomain error 512").
        let headed = try await ExternalTool.start(
            path: "/bin/bash",
            [
                "-c", "\"$0\" get \"$1\" -o - | head -c 100 > /dev/null; exit ${PIPESTATUS[0]}",
                ServeCommandTests.binary, id,
            ],
            environment: pipeEnv, directory: setup.home.path
        ).wait(timeout: 60)
        #expect(headed.status == 0, "\(headed.stderr)")
        #expect(headed.stderr.isEmpty, "\(headed.stderr)")
        let full = try await setup.ferry(["get", id, "-o", "/dev/full"], env: env)
        #expect(full.status == 1)
        #expect(
            full.stderr.contains("Cannot write the download after 0 bytes: No space left on device."), "\(full.stderr)")

        let missing = try await setup.ferry(["get", id, "-o", setup.home.appending("no/such/dir/x.bin")], env: env)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("does not exist; create it first"), "\(missing.stderr)")

        // The stored bytes change behind the catalog's back (same size): the stream is told.
        let blobs = setup.home.appending("server/blobs/\(id)")
        let blob = try #require(try FileManager.default.contentsOfDirectory(atPath: blobs).first)
        try Data(TestData.bytes(bytes.count, seed: 99)).write(to: URL(fileURLWithPath: blobs + "/" + blob))
        let corrupt = try await setup.ferry(["get", id, "-o", "-"], env: env)
        #expect(corrupt.status == 7, "\(corrupt.stderr)")
        #expect(corrupt.stderr.contains("are not the file's"))
    }

    @Test func stoppedWithCtrlCOrKilledAndRunAgainResumes() async throws {
        let setup = try await Setup.start()
        defer { setup.stop() }
        let env = ["FERRY_URL": setup.base, "FERRY_TOKEN": setup.token]
        let bytes = TestData.bytes(192 * 1024 * 1024, seed: 11)
        let source = setup.home.appending("big.bin")
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        let put = try await setup.ferry(["put", source, "--json"], env: env)
        let id = try #require(Self.lastJSON(put.stdout)["id"] as? String)
        try? FileManager.default.removeItem(atPath: source)
        let out = setup.home.appending("big-copy.bin")
        var runEnv = setup.environment
        runEnv.merge(env) { $1 }
        func firstPartOnDisk() async throws {
            try await Eventually.check(timeout: 60) {
                guard let data = FileManager.default.contents(atPath: out + ".ferry-part"),
                    let control = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
                else { return FileManager.default.fileExists(atPath: out) }
                return !((control["done"] as? [Int]) ?? []).isEmpty || FileManager.default.fileExists(atPath: out)
            }
        }

        // The interrupted runs are held to 16 MB/s (12 s for the file), so that "stopped midway"
        // is their condition, not a race with a loaded machine: the first part lands in well
        // under a second and the signal comes long before the end.
        let slow = ["--limit-rate", "16M"]

        // Ctrl-C: a last JSON event says where it stood and how to go on; exit 130, state kept.
        let interrupted = try ExternalTool.start(
            path: ServeCommandTests.binary, ["get", id, "-o", out, "--connections", "2", "--json"] + slow,
            environment: runEnv)
        try await firstPartOnDisk()
        interrupted.signal(SIGINT)
        let stopped = await interrupted.wait(timeout: 30)
        if !FileManager.default.fileExists(atPath: out) {
            #expect(stopped.status == 130, "\(stopped.stderr)")
            let last = Self.lastJSON(stopped.stdout)
            #expect(last["event"] as? String == "error" && last["code"] as? String == "interrupted")
            #expect((last["message"] as? String)?.contains("run the same command again to resume") == true)
            #expect(FileManager.default.fileExists(atPath: out + ".ferry-part"))
        }

        var killedMidway = 0
        for _ in 0..<3 {
            let run = try ExternalTool.start(
                path: ServeCommandTests.binary, ["get", id, "-o", out, "--connections", "2", "--quiet"] + slow,
                environment: runEnv)
            // Wait for the first part on disk, then kill -9.
            try await firstPartOnDisk()
            run.kill()
            _ = await run.wait(timeout: 10)
            if !FileManager.default.fileExists(atPath: out) { killedMidway += 1 }
        }
        #expect(killedMidway >= 1)
        let resumed = try await setup.ferry(["get", id, "-o", out, "--connections", "2", "--json"], env: env)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let done = Self.lastJSON(resumed.stdout)
        #expect(done["sha256"] as? String == TestData.sha256(bytes))
        #expect((done["resent_bytes"] as? Int ?? Int.max) <= 2 * 8 * 1024 * 1024)
        #expect(try TestData.sha256(file: out) == TestData.sha256(bytes))
        #expect(!FileManager.default.fileExists(atPath: out + ".ferry-part"))
    }
}
