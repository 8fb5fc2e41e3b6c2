import FerryCatalogPostgres
import FerryCore
import FerryServer
import FerrySigV4
import FerryStorageS3
import FerryTestSupport
import Foundation
import Testing

/// Each backend parses its own settings and refuses, naming the variable, what it cannot use
/// (issue 20): one line per refusal, whichever parser it comes from.
@Suite struct ConfigurationParserTests {
    static let s3: [String: String] = [
        "FERRY_STORAGE": "s3://my-bucket/p", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret-value-1",
    ]
    static let cloudFront: [String: String] = [
        "FERRY_CLOUDFRONT_DOMAIN": "d1.cloudfront.net", "FERRY_CLOUDFRONT_KEY_PAIR_ID": "K1",
        "FERRY_CLOUDFRONT_PRIVATE_KEY_FILE": "/etc/ferry/cf.pem",
    ]

    @Test(
        arguments: [
            ("FERRY_DATABASE_URL", "postgres://db.example/ferry", [:]),
            ("FERRY_DATABASE_URL", "postgres://u:p@db/ferry?sslmode=maybe", [:]),
            ("FERRY_DATABASE_POOL", "0", ["FERRY_DATABASE_URL": "postgres://u:p@db/ferry"]),
            ("FERRY_DATABASE_TIMEOUT", "soon", ["FERRY_DATABASE_URL": "postgres://u:p@db/ferry"]),
            ("FERRY_STORAGE", "s3://No_Such", s3),
            ("FERRY_S3_REGION", "EU West", s3),
            ("FERRY_S3_PATH_STYLE", "sometimes", s3),
            ("FERRY_S3_ENDPOINT", "http://minio:9000/path", s3),
            ("FERRY_S3_PUBLIC_ENDPOINT", "https://cdn.example?x=1", s3),
            ("AWS_SECRET_ACCESS_KEY", "", s3),
            ("FERRY_CLOUDFRONT_HASH", "md5", s3.merging(cloudFront) { $1 }),
            ("FERRY_CLOUDFRONT_DOMAIN", "https://d1.cloudfront.net/", s3.merging(cloudFront) { $1 }),
            ("FERRY_CLOUDFRONT_KEY_PAIR_ID", "", s3.merging(cloudFront) { $1 }),
            ("FERRY_CLOUDFRONT_DOMAIN", "d1.cloudfront.net", cloudFront),
            ("FERRY_PUBLIC_URL", "https://user@files.example.com", [:]),
            ("FERRY_CORS_ORIGINS", "https://app.example.com/path", [:]),
        ] as [(String, String, [String: String])])
    func aValueTheOwnerCannotUseIsRefusedNamingIt(variable: String, value: String, base: [String: String]) {
        var environment = base
        environment[variable] = value
        #expect {
            try FerryConfiguration(environment: environment)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.variable == variable && !error.description.contains("\n")
                && !error.description.contains("secret-value-1")
        }
    }

    @Test func eachBackendKeepsWhatItParsed() throws {
        var environment = Self.s3.merging(Self.cloudFront) { $1 }
        environment["FERRY_S3_ENDPOINT"] = "http://127.0.0.1:9000/"
        environment["FERRY_S3_PATH_STYLE"] = "true"
        environment["FERRY_DATABASE_URL"] = "postgres://ferry:pw@db.internal:6543/files?sslmode=disable"
        environment["FERRY_DATABASE_POOL"] = "7"
        let configuration = try FerryConfiguration(environment: environment)
        guard case .s3(let s3) = configuration.storage, case .postgres(let postgres) = configuration.database else {
            Issue.record("not S3 and PostgreSQL: \(configuration)")
            return
        }
        #expect(s3.bucket == "my-bucket" && s3.prefix == "p/" && s3.pathStyle)
        #expect(s3.endpoint.description == "http://127.0.0.1:9000" && s3.publicEndpoint == s3.endpoint)
        #expect(postgres.host == "db.internal" && postgres.port == 6543 && postgres.maximumConnections == 7)
        #expect(postgres.tlsMode == "disable" && postgres.queryTimeout == .seconds(10))
        #expect(configuration.cloudFront?.hashAlgorithm == .sha1)
    }

    /// A `--config` file's lines end in `\n` or in `\r\n` (saved on Windows): both read the same.
    /// (Swift reads `\r\n` as one Character, so a split on `"\n"` kept a CRLF file whole and the
    /// first variable's value swallowed the rest.)
    @Test(arguments: ["\n", "\r\n"])
    func configFilesReadTheSameWhateverTheirLineEnds(_ end: String) async throws {
        let text = [
            "# Ferry", "FERRY_LISTEN=127.0.0.1:18123", "", "  FERRY_LINK_TTL = 600  ",
            "FERRY_CORS_ORIGINS=https://a.example",
            "#FERRY_PROXY_MAX_BYTES=1", "not a variable", "=no name", "FERRY_ALLOWED_TYPES=image/*,text/plain=x", "",
        ].joined(separator: end)
        #expect(
            FerryConfiguration.variables(inFile: text) == [
                "FERRY_LISTEN": "127.0.0.1:18123", "FERRY_LINK_TTL": "600",
                "FERRY_CORS_ORIGINS": "https://a.example", "FERRY_ALLOWED_TYPES": "image/*,text/plain=x",
            ])
        let directory = try TemporaryDirectory("ferry-config-lines")
        defer { directory.remove() }
        let file = directory.appending("ferry.env")
        try text.replacingOccurrences(of: "=x", with: "").write(toFile: file, atomically: true, encoding: .utf8)
        let configuration = try await FerryConfiguration.load(
            environment: ["FERRY_DATA_DIR": directory.appending("data")], file: file)
        #expect(configuration.port == 18123)
        #expect(configuration.linkTTL == 600)
        #expect(configuration.corsOrigins == ["https://a.example"])
        #expect(configuration.allowedTypes == ["image/*", "text/plain"])
    }
}
