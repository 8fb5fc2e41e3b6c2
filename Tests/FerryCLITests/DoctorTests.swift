import Crypto
import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// `ferry doctor` (CLI.md "Deployment check") against real parts: the embedded default before and
/// while it runs, moto S3, an unreachable store and database, a world-readable signing key.
@Suite struct DoctorTests {
    struct Report {
        var result: ExternalTool.Result
        var checks: [String: (status: String, detail: String, fix: String?)]
    }

    static func doctor(_ env: [String: String], directory: String, timeout: TimeInterval = 60) async throws -> Report {
        var environment = ServeCommandTests.baseEnvironment
        environment.merge(env) { $1 }
        let run = try ExternalTool.start(
            path: ServeCommandTests.binary, ["doctor", "--json"], environment: environment, directory: directory)
        let result = await run.wait(timeout: timeout)
        var checks: [String: (status: String, detail: String, fix: String?)] = [:]
        for line in result.stdout.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let name = object["check"] as? String, let status = object["status"] as? String
            else { continue }
            checks[name] = (status, object["detail"] as? String ?? "", object["fix"] as? String)
        }
        return Report(result: result, checks: checks)
    }

    /// `ferry serve` with `env` on `port`, once it is ready.
    static func serve(_ env: [String: String], port: Int, directory: String) async throws -> ExternalTool.Running {
        var serverEnv = ServeCommandTests.baseEnvironment
        serverEnv.merge(env) { $1 }
        let server = try ExternalTool.start(
            path: ServeCommandTests.binary, ["serve"], environment: serverEnv, directory: directory)
        do {
            try await Eventually.check(timeout: 60) {
                (try? await ExternalTool.run("curl", ["-sf", "http://127.0.0.1:\(port)/readyz"], timeout: 5))?.status
                    == 0
            }
        } catch {
            server.kill()
            throw error
        }
        return server
    }

    @Test func theEmbeddedDefaultBeforeAndWhileItRuns() async throws {
        let home = try TemporaryDirectory("ferry-doctor")
        defer { home.remove() }
        let port = try FreePort.pick()
        let env = ["FERRY_LISTEN": "127.0.0.1:\(port)", "FERRY_LINK_TLL": "600"]
        let before = try await Self.doctor(env, directory: home.path)
        #expect(before.result.status == 0, "\(before.result.stdout)\(before.result.stderr)")
        #expect(before.checks["catalog.reachable"]?.status == "ok")
        #expect(before.checks["service.healthz"]?.status == "skip")
        // Said plainly, not in NIO's words ("connection reset (error set): Connection refused (errno: 111)").
        #expect(
            before.checks["service.healthz"]?.detail.contains("(connection refused): the service is not running")
                == true,
            "\(before.checks["service.healthz"]?.detail ?? "")")
        #expect(before.checks["config.unknown_variables"]?.status == "warn")
        #expect(before.checks["config.unknown_variables"]?.detail.contains("FERRY_LINK_TLL") == true)
        #expect(!FileManager.default.fileExists(atPath: home.appending("ferry-data")), "the doctor created nothing")
        #expect(before.checks["config.public_url"]?.status == "ok")
        // Every interface, no FERRY_PUBLIC_URL (a container's usual start): links would name 0.0.0.0.
        let everywhere = try await Self.doctor(["FERRY_LISTEN": "0.0.0.0:\(port)"], directory: home.path)
        let publicURL = try #require(everywhere.checks["config.public_url"])
        #expect(publicURL.status == "warn")
        #expect(publicURL.detail.contains("FERRY_PUBLIC_URL is http://0.0.0.0:\(port)"), "\(publicURL.detail)")
        #expect(publicURL.fix?.contains("FERRY_PUBLIC_URL=http://files.example.com:\(port)") == true)

        let server = try await Self.serve(env, port: port, directory: home.path)
        defer { server.kill() }
        let running = try await Self.doctor(env, directory: home.path)
        #expect(running.result.status == 0, "\(running.result.stdout)")
        for name in [
            "catalog.reachable", "storage.probe", "storage.free_space", "links.signing_keys", "service.healthz",
            "service.readyz",
        ] {
            #expect(running.checks[name]?.status == "ok", "\(name): \(String(describing: running.checks[name]))")
        }
        let blobs = try FileManager.default.subpathsOfDirectory(atPath: home.appending("ferry-data/blobs"))
        #expect(!blobs.contains { $0.contains("doctor-probe") }, "the probe object was deleted: \(blobs)")

        // A signing key others can read fails, with the fix, and the exit code says so.
        let keys = home.appending("ferry-data/signing-keys")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keys)
        let exposed = try await Self.doctor(env, directory: home.path)
        #expect(exposed.result.status == 1)
        #expect(exposed.checks["links.signing_keys"]?.status == "fail")
        #expect(exposed.checks["links.signing_keys"]?.fix?.contains("chmod 600") == true)
        // No secret in what it prints.
        let secret =
            try String(contentsOfFile: keys, encoding: .utf8).split(separator: ":").last.map(String.init) ?? "x"
        #expect(!exposed.result.stdout.contains(secret.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test func aConfigurationThatDoesNotParseExitsTwoWithServesLine() async throws {
        let home = try TemporaryDirectory("ferry-doctor-bad")
        defer { home.remove() }
        let bad = try await Self.doctor(["FERRY_LINK_TTL": "abc"], directory: home.path)
        #expect(bad.result.status == 2)
        #expect(bad.result.stderr.contains("ferry: invalid configuration: FERRY_LINK_TTL"), "\(bad.result.stderr)")
    }

    @Test func anUnreachableStoreAndDatabaseFailWithinSeconds() async throws {
        let home = try TemporaryDirectory("ferry-doctor-down")
        defer { home.remove() }
        let closed = try FreePort.pick()
        let started = Date()
        let report = try await Self.doctor(
            [
                "FERRY_STORAGE": "s3://nowhere/blobs", "FERRY_S3_ENDPOINT": "http://127.0.0.1:\(closed)",
                "FERRY_S3_PATH_STYLE": "true", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
                "FERRY_DATABASE_URL": "postgres://u:p@127.0.0.1:\(closed)/db",
            ], directory: home.path)
        #expect(Date().timeIntervalSince(started) < 45)
        #expect(report.result.status == 1, "\(report.result.stdout)\(report.result.stderr)")
        #expect(report.checks["catalog.reachable"]?.status == "fail")
        #expect(report.checks["storage.probe"]?.status == "fail")
        // The cause, in plain words (it was NIO's "connection reset (error set): Connection refused) (errno: 111)").
        #expect(
            report.checks["storage.probe"]?.detail.contains("(no response Unreachable): connection refused") == true,
            "\(report.checks["storage.probe"]?.detail ?? "")")
        #expect(report.checks["storage.clock"]?.status == "fail")
        #expect(!report.result.stdout.contains("u:p@"), "no credentials printed")
    }

    @Test func s3ClockSkewAndTemporaryCredentials() async throws {
        let env = ProcessInfo.processInfo.environment
        guard let s3 = env["FERRY_TEST_S3_ENDPOINT"] else {
            throw ClusterServiceMissing(description: "FERRY_TEST_S3_ENDPOINT must be set: run scripts/test")
        }
        let home = try TemporaryDirectory("ferry-doctor-s3")
        defer { home.remove() }
        let bucket = "doctor-" + Identifier.make().lowercased().filter { $0.isLetter || $0.isNumber }.prefix(16)
        #expect(try await ClusterTests.curl(["-X", "PUT", "\(s3)/\(bucket)"]).status == 200)
        let base = [
            "FERRY_STORAGE": "s3://\(bucket)/blobs", "FERRY_S3_ENDPOINT": s3, "FERRY_S3_PATH_STYLE": "true",
            "AWS_ACCESS_KEY_ID": env["FERRY_TEST_S3_ACCESS_KEY"] ?? "test",
            "AWS_SECRET_ACCESS_KEY": env["FERRY_TEST_S3_SECRET_KEY"] ?? "test-secret",
            "FERRY_LISTEN": "127.0.0.1:\(try FreePort.pick())",
        ]
        // A bucket that does not exist: the probe says so in the store's words (it said only that
        // "the storage refused the request: its configuration needs the administrator").
        var missing = base
        missing["FERRY_STORAGE"] = "s3://\(bucket)-missing/blobs"
        let noBucket = try await Self.doctor(missing, directory: home.path)
        #expect(noBucket.checks["storage.probe"]?.status == "fail")
        #expect(
            noBucket.checks["storage.probe"]?.detail.contains("S3 PutObject failed (404 NoSuchBucket)") == true,
            "\(noBucket.checks["storage.probe"]?.detail ?? "")")

        let good = try await Self.doctor(base, directory: home.path)
        #expect(good.checks["storage.probe"]?.status == "ok", "\(good.result.stdout)")
        #expect(good.checks["catalog.reachable"]?.detail.contains("no catalog yet") == true)
        #expect(
            !FileManager.default.fileExists(atPath: home.appending("ferry-data/ferry.sqlite")),
            "probing the store created no catalog")
        #expect(good.checks["storage.clock"]?.status == "ok")
        #expect(good.checks["storage.credentials"]?.status == "ok")
        #expect(good.checks["storage.public_endpoint"]?.status == "ok", "\(good.result.stdout)")
        #expect(good.checks["storage.presign_backdated"]?.status == "ok")
        // A bucket without CORS: browsers cannot download storage links; the fix says what to add.
        #expect(good.checks["storage.cors"]?.status == "fail", "\(good.result.stdout)")
        #expect(good.checks["storage.cors"]?.fix?.contains("ExposeHeaders ETag, Content-Range, Content-Length") == true)
        // moto answers unsigned listings: a bucket open to anyone fails (a store that checks
        // signatures passes: DoctorDeploymentTests).
        #expect(good.checks["storage.anonymous"]?.status == "fail", "\(good.result.stdout)")
        #expect(good.checks["storage.anonymous"]?.fix?.contains("put-public-access-block") == true)
        #expect(good.result.status == 1)
        let cors =
            #"<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><CORSRule><AllowedOrigin>*</AllowedOrigin>"#
            + "<AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader>"
            + "<ExposeHeader>ETag</ExposeHeader><ExposeHeader>Content-Range</ExposeHeader>"
            + "<ExposeHeader>Content-Length</ExposeHeader></CORSRule></CORSConfiguration>"
        let md5 = Data(Insecure.MD5.hash(data: Array(cors.utf8))).base64EncodedString()
        let put = try await ClusterTests.curl([
            "-X", "PUT", "-H", "Content-MD5: \(md5)", "-H", "Content-Type: application/xml", "--data-binary", cors,
            "\(s3)/\(bucket)?cors",
        ])
        #expect(put.status == 200, "\(put.body)")
        let withCORS = try await Self.doctor(base, directory: home.path)
        #expect(withCORS.checks["storage.cors"]?.status == "ok", "\(withCORS.result.stdout)")
        let failing = withCORS.checks.filter { $0.value.status == "fail" }.map(\.key)
        #expect(failing == ["storage.anonymous"], "\(withCORS.result.stdout)")
        #expect(withCORS.checks["storage.lifecycle"]?.status == "warn")
        #expect(withCORS.checks["storage.versioning"]?.status == "ok")

        // A rule aborting multipart uploads after a day (FERRY_UPLOAD_EXPIRY is 7): resumable
        // uploads would lose their parts. Versioning on: deleted blobs would live on.
        func putConfiguration(_ query: String, _ xml: String) async throws {
            let md5 = Data(Insecure.MD5.hash(data: Array(xml.utf8))).base64EncodedString()
            let r = try await ClusterTests.curl([
                "-X", "PUT", "-H", "Content-MD5: \(md5)", "-H", "Content-Type: application/xml", "--data-binary", xml,
                "\(s3)/\(bucket)?\(query)",
            ])
            #expect(r.status == 200, "\(query): \(r.body)")
        }
        try await putConfiguration(
            "lifecycle",
            #"<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ID>abort</ID><Filter><Prefix></Prefix></Filter>"#
                + "<Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
                + "</AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>")
        try await putConfiguration(
            "versioning",
            #"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#
        )
        let rules = try await Self.doctor(base, directory: home.path)
        #expect(rules.result.status == 1)
        #expect(rules.checks["storage.lifecycle"]?.status == "fail", "\(rules.result.stdout)")
        #expect(rules.checks["storage.lifecycle"]?.fix?.contains("DaysAfterInitiation") == true)
        #expect(rules.checks["storage.versioning"]?.status == "warn")

        var wrongEndpoint = base
        wrongEndpoint["FERRY_S3_PUBLIC_ENDPOINT"] = "http://127.0.0.1:\(try FreePort.pick())"
        let unreachable = try await Self.doctor(wrongEndpoint, directory: home.path)
        #expect(unreachable.result.status == 1)
        #expect(unreachable.checks["storage.public_endpoint"]?.status == "fail")
        #expect(unreachable.checks["storage.public_endpoint"]?.fix?.contains("FERRY_S3_PUBLIC_ENDPOINT") == true)
        #expect(unreachable.checks["storage.probe"]?.status == "ok")
        let listing = try await ClusterTests.curl(["\(s3)/\(bucket)?list-type=2"])
        #expect(!listing.body.contains("doctor-probe"), "the probe object was deleted")

        var temporary = base
        temporary["AWS_SESSION_TOKEN"] = "session-token"
        temporary["FERRY_LINK_TTL_MAX"] = "86400"
        temporary["FERRY_TEST_CLOCK_OFFSET"] = "1800"
        let skewed = try await Self.doctor(temporary, directory: home.path)
        #expect(skewed.result.status == 1)
        #expect(skewed.checks["storage.credentials"]?.status == "warn")
        #expect(skewed.checks["storage.clock"]?.status == "fail")
        #expect(skewed.checks["storage.clock"]?.fix?.contains("clock") == true)
        #expect(!skewed.result.stdout.contains("session-token"))
    }
}

extension DoctorTests {
    /// PostgreSQL: a schema not made yet is a warning (the next start migrates), then current once
    /// a node has started; the database's clock is compared with this host's.
    @Test func postgresSchemaStateAndClock() async throws {
        guard let postgres = ProcessInfo.processInfo.environment["FERRY_TEST_POSTGRES_URL"] else {
            throw ClusterServiceMissing(description: "FERRY_TEST_POSTGRES_URL must be set: run scripts/test")
        }
        let home = try TemporaryDirectory("ferry-doctor-pg")
        defer { home.remove() }
        let suffix = Identifier.make().lowercased().filter { $0.isLetter || $0.isNumber }.prefix(16)
        let port = try FreePort.pick()
        let env = [
            "FERRY_DATABASE_URL": postgres + "&schema=d_\(suffix)", "FERRY_LISTEN": "127.0.0.1:\(port)",
            "FERRY_DATA_DIR": home.appending("data"),
        ]
        let fresh = try await Self.doctor(env, directory: home.path)
        #expect(fresh.checks["catalog.reachable"]?.status == "ok", "\(fresh.result.stdout)\(fresh.result.stderr)")
        #expect(fresh.checks["catalog.schema"]?.status == "warn")
        #expect(fresh.checks["catalog.schema"]?.fix?.contains("migrates") == true)
        #expect(fresh.checks["catalog.clock"]?.status == "ok")
        #expect(fresh.checks["catalog.notify"]?.status == "ok", "\(fresh.result.stdout)")
        #expect(!fresh.result.stdout.contains(postgres), "no database URL (it holds a password) printed")

        let server = try await Self.serve(env, port: port, directory: home.path)
        defer { server.kill() }
        let migrated = try await Self.doctor(env, directory: home.path)
        #expect(migrated.checks["catalog.schema"]?.status == "ok", "\(migrated.result.stdout)")
    }
}
