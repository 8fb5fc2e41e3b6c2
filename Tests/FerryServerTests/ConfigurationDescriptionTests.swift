import FerryServer
import FerryStorageS3
import Foundation
import Testing

/// However a configuration is printed (ServiceLifecycle logs its services with `String(describing:)`),
/// no secret appears.
@Suite struct ConfigurationDescriptionTests {
    @Test func noSecretInAnyPrintedForm() throws {
        let key = Data((0..<32).map { UInt8($0 * 7 % 256) })
        let secrets = [
            "bootstrap-token-d41d8cd98f", "bootstrap-password-8f00b204e9", "metrics-token-800998ecf8",
            "pg-password-427e", "aws-secret-key-0c1f", key.base64EncodedString(),
        ]
        let configuration = try FerryConfiguration(environment: [
            "FERRY_DATA_DIR": "/tmp/ferry-description-test",
            "FERRY_BOOTSTRAP_TOKEN": secrets[0], "FERRY_BOOTSTRAP_PASSWORD": secrets[1],
            "FERRY_METRICS_TOKEN": secrets[2],
            "FERRY_DATABASE_URL": "postgres://ferry:\(secrets[3])@db.internal:5432/ferry",
            "FERRY_STORAGE": "s3://bucket/prefix", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": secrets[4], "FERRY_SIGNING_KEYS": "k1:\(secrets[5])",
        ])
        func dumped(_ value: Any) -> String {
            var text = ""
            dump(value, to: &text)
            return text
        }
        guard case .s3(let s3) = configuration.storage else {
            Issue.record("expected S3 storage")
            return
        }
        let printed = [
            String(describing: configuration), String(reflecting: configuration), "\(configuration)",
            dumped(configuration), String(describing: configuration.signingKeys ?? []),
            String(reflecting: configuration.database), dumped(configuration.database), dumped(configuration.storage),
            dumped(configuration.signingKeys ?? []), dumped(s3), dumped(s3.credentials),
            String(reflecting: s3.credentials),
        ]
        for text in printed {
            for secret in secrets { #expect(!text.contains(secret), "\(text)") }
            #expect(!text.contains(key.map(String.init).joined(separator: ", ")), "\(text)")
        }
        // What helps an operator stays.
        #expect(printed[0].contains("db.internal:5432/ferry"))
        #expect(printed[0].contains("s3://bucket/prefix"))
        #expect(printed[0].contains("SigningKey(id: k1"))
    }
}
