import Crypto
import FerryCore
import FerrySigV4
import Foundation
import Testing
import _CryptoExtras

/// CloudFront URLs and cookies against botocore's `CloudFrontSigner` (vectors generated once with a
/// committed test-only key pair), and signatures verified with the public key.
@Suite struct CloudFrontSignerTests {
    struct Vector: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var kind: String
        var url: String
        var expires: Int64
        var ip: String?
        var starts: Int64?
        var expected_policy: String?
        var expected_url: String
        var testDescription: String { name }

        var policy: CloudFrontPolicy {
            CloudFrontPolicy(resource: url, expires: expires, starts: starts, ipAddress: ip)
        }
    }

    static func fixture(_ name: String, _ ext: String) -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return "" }
        return text
    }

    static let vectors: [Vector] =
        (try? JSONDecoder().decode([Vector].self, from: Data(fixture("cloudfront-vectors", "json").utf8))) ?? []

    static func signer(_ hash: CloudFrontSigner.HashAlgorithm = .sha1) throws -> CloudFrontSigner {
        try CloudFrontSigner(
            keyPairID: "K2JCJMDEHXQW5F", privateKeyPEM: fixture("cloudfront-test-key", "pem"), hashAlgorithm: hash)
    }

    @Test func vectorsAreThere() {
        #expect(Self.vectors.count >= 12)
        #expect(Self.vectors.contains { $0.kind == "custom" && $0.ip != nil && $0.starts != nil })
    }

    @Test(arguments: vectors)
    func matchesBotocore(_ vector: Vector) throws {
        let signer = try Self.signer()
        if let policy = vector.expected_policy { #expect(vector.policy.json == policy) }
        #expect(try signer.signedURL(vector.url, policy: vector.policy) == vector.expected_url)
        if vector.kind == "canned" {
            #expect(try signer.signedURL(vector.url, expires: vector.expires) == vector.expected_url)
        }
    }

    @Test(arguments: [CloudFrontSigner.HashAlgorithm.sha1, .sha256])
    func signaturesVerifyWithThePublicKey(_ hash: CloudFrontSigner.HashAlgorithm) throws {
        let publicKey = try _RSA.Signing.PublicKey(pemRepresentation: Self.fixture("cloudfront-test-key.pub", "pem"))
        let policy = CloudFrontPolicy(
            resource: "https://d1.cloudfront.net/a/b", expires: 1_900_000_000, ipAddress: "198.51.100.4")
        let cookies = try Self.signer(hash).signedCookies(policy: policy)
        #expect(cookies.map(\.name).contains("CloudFront-Policy"))
        #expect(cookies.last?.name == "CloudFront-Key-Pair-Id")
        func decode(_ text: String) -> [UInt8] {
            let standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "=")
                .replacingOccurrences(of: "~", with: "/")
            return Array(Data(base64Encoded: standard) ?? Data())
        }
        let policyJSON = decode(try #require(cookies.first { $0.name == "CloudFront-Policy" }?.value))
        #expect(String(decoding: policyJSON, as: UTF8.self).contains("\"AWS:SourceIp\":\"198.51.100.4/32\""))
        let signature = _RSA.Signing.RSASignature(
            rawRepresentation: decode(try #require(cookies.first { $0.name == "CloudFront-Signature" }?.value)))
        let valid =
            switch hash {
            case .sha1:
                publicKey.isValidSignature(
                    signature, for: Insecure.SHA1.hash(data: policyJSON), padding: .insecurePKCS1v1_5)
            case .sha256:
                publicKey.isValidSignature(signature, for: SHA256.hash(data: policyJSON), padding: .insecurePKCS1v1_5)
            }
        #expect(valid)
        var tampered = policyJSON
        tampered[tampered.count - 5] ^= 1
        #expect(
            !publicKey.isValidSignature(signature, for: Insecure.SHA1.hash(data: tampered), padding: .insecurePKCS1v1_5)
        )
        let url = try Self.signer(hash).signedURL("https://d1.cloudfront.net/a/b", expires: 1_900_000_000)
        #expect(url.contains("Hash-Algorithm=SHA256") == (hash == .sha256))
        #expect(url.hasPrefix("https://d1.cloudfront.net/a/b?Expires=1900000000&Signature="))
    }

    @Test func cannedCookiesCarryExpires() throws {
        let cookies = try Self.signer().signedCookies(
            policy: CloudFrontPolicy(resource: "https://d1.cloudfront.net/*", expires: 1_900_000_000))
        #expect(cookies.map(\.name) == ["CloudFront-Expires", "CloudFront-Signature", "CloudFront-Key-Pair-Id"])
        #expect(cookies[0].value == "1900000000")
        #expect(!cookies[1].value.contains("+") && !cookies[1].value.contains("/") && !cookies[1].value.contains("="))
    }

    @Test func policyJSONEscapesLikePython() {
        let policy = CloudFrontPolicy(resource: "https://d1.net/caf\u{E9} \"q\"", expires: 5)
        #expect(
            policy.json
                == #"{"Statement":[{"Resource":"https://d1.net/caf\u00e9 \"q\"","Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}"#
        )
    }

    @Test func aBadKeyIsAClearErrorThatDoesNotEchoTheKey() {
        do {
            _ = try CloudFrontSigner(keyPairID: "K", privateKeyPEM: "-----BEGIN RSA PRIVATE KEY-----\nsecretstuff\n")
            Issue.record("a bad key was accepted")
        } catch let error as FerryError {
            #expect(error.message.contains("FERRY_CLOUDFRONT_PRIVATE_KEY_FILE"))
            #expect(!error.message.contains("secretstuff"))
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(!"\((try? Self.signer()).map { "\($0)" } ?? "")".contains("PRIVATE"))
    }
}
