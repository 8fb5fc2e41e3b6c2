import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// `ferry doctor`'s outside view (CLI.md "Deployment check"): which deployment the public URL
/// reaches, its TLS certificate, a bucket open to anyone, the CloudFront key.
extension DoctorTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The node at the public URL proves it holds the doctor's signing key; a configuration with
    /// other keys (another deployment behind the same URL, or nodes that disagree) fails.
    @Test func thePublicURLReachesThisDeployment() async throws {
        let home = try TemporaryDirectory("ferry-doctor-deploy")
        defer { home.remove() }
        let port = try FreePort.pick()
        let env = ["FERRY_LISTEN": "127.0.0.1:\(port)"]
        let server = try await Self.serve(env, port: port, directory: home.path)
        defer { server.kill() }
        let same = try await Self.doctor(env, directory: home.path)
        #expect(same.checks["service.deployment"]?.status == "ok", "\(same.result.stdout)")
        #expect(same.checks["service.healthz"]?.detail.contains("this build") == true, "\(same.result.stdout)")

        var other = env
        other["FERRY_SIGNING_KEYS"] =
            "k1:" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let elsewhere = try await Self.doctor(other, directory: home.path)
        #expect(elsewhere.result.status == 1)
        #expect(elsewhere.checks["service.deployment"]?.status == "fail", "\(elsewhere.result.stdout)")
        #expect(elsewhere.checks["service.deployment"]?.fix?.contains("FERRY_SIGNING_KEYS") == true)
        #expect(!elsewhere.result.stdout.contains(other["FERRY_SIGNING_KEYS"]!.dropFirst(3)), "no key printed")

        // The probe answer itself: only for a well-formed nonce, and never the key.
        let probe = try await ClusterTests.curl(["-sI", "http://127.0.0.1:\(port)/readyz?probe=short"])
        #expect(!probe.body.lowercased().contains("ferry-probe"))
    }

    /// `ferry --version` names the release and the commit it was built from (Plugins/BuildInfoPlugin).
    @Test func theVersionNamesTheCommit() async throws {
        let run = try ExternalTool.start(
            path: ServeCommandTests.binary, ["--version"], environment: ServeCommandTests.baseEnvironment)
        let result = await run.wait(timeout: 30)
        #expect(result.status == 0)
        let git = try await ExternalTool.run("git", ["-C", Self.repository.path, "rev-parse", "--short=12", "HEAD"])
        let commit = git.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(git.status == 0 && commit.count == 12, "\(git.stderr)")
        #expect(result.stdout.hasPrefix("ferry 0."), "\(result.stdout)")
        #expect(result.stdout.contains("(commit \(commit)"), "\(result.stdout)")
    }

    /// TLS in front (nginx, a self-signed certificate valid 10 days): the certificate's expiry
    /// warns, and the untrusted certificate fails the health checks with a fix.
    @Test func aCertificateAboutToExpire() async throws {
        let home = try TemporaryDirectory("ferry-doctor-tls")
        defer { home.remove() }
        let port = try FreePort.pick()
        let tlsPort = try FreePort.pick()
        let made = try await ExternalTool.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", home.appending("key.pem"), "-out",
                home.appending("cert.pem"), "-days", "10", "-subj", "/CN=127.0.0.1",
            ])
        #expect(made.status == 0, "\(made.stderr)")
        let config = """
            pid \(home.appending("nginx.pid"));
            events {}
            http {
              access_log off;
              client_body_temp_path \(home.path); proxy_temp_path \(home.path);
              fastcgi_temp_path \(home.path); uwsgi_temp_path \(home.path); scgi_temp_path \(home.path);
              server {
                listen 127.0.0.1:\(tlsPort) ssl;
                ssl_certificate \(home.appending("cert.pem"));
                ssl_certificate_key \(home.appending("key.pem"));
                location / { proxy_pass http://127.0.0.1:\(port); }
              }
            }
            """
        try config.write(toFile: home.appending("nginx.conf"), atomically: true, encoding: .utf8)
        let nginx = try ExternalTool.start(
            "nginx",
            [
                "-p", home.path, "-c", home.appending("nginx.conf"), "-e", home.appending("error.log"), "-g",
                "daemon off;",
            ])
        defer { nginx.terminate() }
        let env = ["FERRY_LISTEN": "127.0.0.1:\(port)", "FERRY_PUBLIC_URL": "https://127.0.0.1:\(tlsPort)"]
        let server = try await Self.serve(env, port: port, directory: home.path)
        defer { server.kill() }
        try await Eventually.check(timeout: 20) {
            (try? await ExternalTool.run("curl", ["-skf", "https://127.0.0.1:\(tlsPort)/healthz"], timeout: 5))?.status
                == 0
        }
        let report = try await Self.doctor(env, directory: home.path)
        #expect(report.result.status == 1)
        let tls = report.checks["service.tls"]
        #expect(tls?.status == "warn", "\(report.result.stdout)")
        #expect(tls?.detail.contains("expires in 9 days") == true, "\(String(describing: tls))")
        #expect(tls?.fix?.contains("Renew") == true)
        #expect(report.checks["service.healthz"]?.status == "fail")
        #expect(report.checks["service.healthz"]?.detail.contains("does not trust the certificate") == true)
    }

    /// CloudFront: a key that loads signs (the distribution is not reachable from here, so it is
    /// not asked); a key others can read fails with the fix.
    @Test func theCloudFrontKey() async throws {
        let (env, home) = try await Self.s3Environment("ferry-doctor-cf")
        defer { home.remove() }
        var cloudFront = env
        cloudFront["FERRY_CLOUDFRONT_DOMAIN"] = "d111111abcdef8.cloudfront.invalid"
        cloudFront["FERRY_CLOUDFRONT_KEY_PAIR_ID"] = "K2JCJMDEHXQW5F"
        cloudFront["FERRY_CLOUDFRONT_PRIVATE_KEY_FILE"] = try CloudFrontServerKey.copy(mode: 0o600, in: home)
        let good = try await Self.doctor(cloudFront, directory: home.path)
        #expect(good.checks["links.cloudfront"]?.status == "ok", "\(good.result.stdout)")
        #expect(good.checks["links.cloudfront"]?.detail.contains("loads and signs") == true)

        try FileManager.default.setAttributes(
            [.posixPermissions: 0o644], ofItemAtPath: cloudFront["FERRY_CLOUDFRONT_PRIVATE_KEY_FILE"]!)
        let exposed = try await Self.doctor(cloudFront, directory: home.path)
        #expect(exposed.result.status == 1)
        #expect(exposed.checks["links.cloudfront"]?.status == "fail", "\(exposed.result.stdout)")
        #expect(exposed.checks["links.cloudfront"]?.fix?.contains("mode 0600") == true)
        #expect(!exposed.result.stdout.contains("PRIVATE KEY"))
    }

    /// A store that checks signatures (moto enforcing IAM, `s3_signed.py`) refuses unsigned listings and reads:
    /// storage.anonymous is ok there (the shared test store answers anyone: see the S3 test).
    @Test func aBucketClosedToAnonymousRequests() async throws {
        let home = try TemporaryDirectory("ferry-doctor-signed")
        defer { home.remove() }
        let port = try FreePort.pick()
        let out = home.appending("s3.json")
        let store = try ExternalTool.start(
            "python3",
            [Self.repository.appendingPathComponent("Tests/FerryCLITests/s3_signed.py").path, "\(port)", out])
        defer { store.kill() }
        try await Eventually.check(timeout: 60) { FileManager.default.fileExists(atPath: out) }
        let info =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: String]
        let env = [
            "FERRY_STORAGE": "s3://\(info?["bucket"] ?? "")/blobs", "FERRY_S3_ENDPOINT": info?["endpoint"] ?? "",
            "FERRY_S3_PATH_STYLE": "true", "AWS_ACCESS_KEY_ID": info?["access_key"] ?? "",
            "AWS_SECRET_ACCESS_KEY": info?["secret_key"] ?? "", "FERRY_LISTEN": "127.0.0.1:\(try FreePort.pick())",
        ]
        let report = try await Self.doctor(env, directory: home.path)
        #expect(report.checks["storage.probe"]?.status == "ok", "\(report.result.stdout)\(report.result.stderr)")
        #expect(report.checks["storage.anonymous"]?.status == "ok", "\(report.result.stdout)")
        #expect(!report.result.stdout.contains(info?["secret_key"] ?? "-"))
    }

    /// A moto bucket and the variables that point a doctor at it.
    static func s3Environment(_ name: String) async throws -> ([String: String], TemporaryDirectory) {
        let env = ProcessInfo.processInfo.environment
        guard let s3 = env["FERRY_TEST_S3_ENDPOINT"] else {
            throw ClusterServiceMissing(description: "FERRY_TEST_S3_ENDPOINT must be set: run scripts/test")
        }
        let home = try TemporaryDirectory(name)
        let bucket = "doctor-" + Identifier.make().lowercased().filter { $0.isLetter || $0.isNumber }.prefix(16)
        #expect(try await ClusterTests.curl(["-X", "PUT", "\(s3)/\(bucket)"]).status == 200)
        return (
            [
                "FERRY_STORAGE": "s3://\(bucket)/blobs", "FERRY_S3_ENDPOINT": s3, "FERRY_S3_PATH_STYLE": "true",
                "AWS_ACCESS_KEY_ID": env["FERRY_TEST_S3_ACCESS_KEY"] ?? "test",
                "AWS_SECRET_ACCESS_KEY": env["FERRY_TEST_S3_SECRET_KEY"] ?? "test-secret",
                "FERRY_LISTEN": "127.0.0.1:\(try FreePort.pick())",
            ], home
        )
    }
}

/// The CloudFront test key of `Tests/FerrySigV4Tests/Fixtures`, copied with a chosen mode.
enum CloudFrontServerKey {
    static func copy(mode: Int, in directory: TemporaryDirectory) throws -> String {
        let source = DoctorTests.repository.appendingPathComponent(
            "Tests/FerrySigV4Tests/Fixtures/cloudfront-test-key.pem")
        let path = directory.appending("cloudfront.pem")
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: source.path, toPath: path)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }
}
