import Crypto
import FerryCore
import _CryptoExtras

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

// CloudFront signed URLs and cookies, written here because no listed package signs them. RSA with
// PKCS#1 v1.5 over SHA-1 as CloudFront requires (SHA-256 when asked: `Hash-Algorithm=SHA256`),
// CloudFront's URL-safe base64, and policies byte-identical to botocore's `CloudFrontSigner`
// (checked against vectors it generated, Tests/FerrySigV4Tests).

/// What a CloudFront policy allows: one resource until a moment, optionally from a moment and from
/// a network.
public struct CloudFrontPolicy: Sendable, Hashable {
    /// The URL (or wildcard pattern) the policy covers.
    public var resource: String
    /// Seconds since 1970 after which requests are refused.
    public var expires: Int64
    /// Seconds since 1970 before which requests are refused.
    public var starts: Int64?
    /// A client address or CIDR (`203.0.113.7` becomes `203.0.113.7/32`).
    public var ipAddress: String?

    /// Creates a policy.
    public init(resource: String, expires: Int64, starts: Int64? = nil, ipAddress: String? = nil) {
        self.resource = resource
        self.expires = expires
        self.starts = starts
        self.ipAddress = ipAddress
    }

    /// Whether CloudFront can express it as a canned policy (expiry only).
    public var isCanned: Bool { starts == nil && ipAddress == nil }

    /// The policy JSON, compact, with keys in the order botocore writes them.
    public var json: String {
        var condition = "\"DateLessThan\":{\"AWS:EpochTime\":\(expires)}"
        if let ipAddress {
            let cidr = ipAddress.contains("/") ? ipAddress : ipAddress + "/32"
            condition += ",\"IpAddress\":{\"AWS:SourceIp\":\(Self.quoted(cidr))}"
        }
        if let starts {
            condition += ",\"DateGreaterThan\":{\"AWS:EpochTime\":\(starts)}"
        }
        return "{\"Statement\":[{\"Resource\":\(Self.quoted(resource)),\"Condition\":{\(condition)}}]}"
    }

    /// A JSON string literal as Python's `json.dumps` writes it (non-ASCII as `\uXXXX`).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for unit in text.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x20..<0x7F: out += String(UnicodeScalar(UInt8(unit)))
            default:
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out + "\""
    }
}

/// Signs CloudFront URLs and cookies with a key pair's private key. The description never shows it.
public struct CloudFrontSigner: Sendable, RedactedDescription {
    /// The digest CloudFront verifies.
    public enum HashAlgorithm: String, Sendable {
        case sha1
        case sha256
    }

    /// The CloudFront key pair id.
    public let keyPairID: String
    /// SHA-1 (default) or SHA-256 signatures.
    public let hashAlgorithm: HashAlgorithm
    let key: _RSA.Signing.PrivateKey

    /// Creates a signer from a PEM private key (PKCS#1 or PKCS#8).
    public init(keyPairID: String, privateKeyPEM: String, hashAlgorithm: HashAlgorithm = .sha1) throws {
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw FerryError(
                .internalError,
                "FERRY_CLOUDFRONT_PRIVATE_KEY_FILE does not hold an RSA private key in PEM form (2048 bits or more).",
                underlying: error)
        }
        self.keyPairID = keyPairID
        self.hashAlgorithm = hashAlgorithm
    }

    public var description: String { "CloudFrontSigner(keyPairID: \(keyPairID), key: <redacted>)" }

    /// A URL signed with a canned policy (`Expires`), valid until `expires`.
    public func signedURL(_ url: String, expires: Int64) throws -> String {
        try signedURL(url, policy: CloudFrontPolicy(resource: url, expires: expires))
    }

    /// A signed URL for `url`: canned (`Expires`) when the policy is expiry-only, else custom (`Policy`).
    public func signedURL(_ url: String, policy: CloudFrontPolicy) throws -> String {
        let parameters = try signatureParameters(policy)
        let query = parameters.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        return url + (url.contains("?") ? "&" : "?") + query
    }

    /// The signed cookies that let a browser fetch what `policy` covers: `CloudFront-Expires`
    /// (canned) or `CloudFront-Policy` (custom), `CloudFront-Signature`, `CloudFront-Key-Pair-Id`.
    public func signedCookies(policy: CloudFrontPolicy) throws -> [(name: String, value: String)] {
        try signatureParameters(policy).map { ("CloudFront-" + $0.name, $0.value) }
    }

    /// The parameters CloudFront reads, in botocore's order.
    func signatureParameters(_ policy: CloudFrontPolicy) throws -> [(name: String, value: String)] {
        let json = Array(policy.json.utf8)
        var parameters: [(name: String, value: String)] =
            policy.isCanned
            ? [("Expires", String(policy.expires))] : [("Policy", Self.urlSafeBase64(json))]
        parameters.append(("Signature", Self.urlSafeBase64(try sign(json))))
        if hashAlgorithm == .sha256 { parameters.append(("Hash-Algorithm", "SHA256")) }
        parameters.append(("Key-Pair-Id", keyPairID))
        return parameters
    }

    /// RSA PKCS#1 v1.5 over the policy's digest.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        let signature =
            switch hashAlgorithm {
            case .sha1: try key.signature(for: Insecure.SHA1.hash(data: message), padding: .insecurePKCS1v1_5)
            case .sha256: try key.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
            }
        return Array(signature.rawRepresentation)
    }

    /// CloudFront's URL-safe base64: `+` → `-`, `=` → `_`, `/` → `~`.
    public static func urlSafeBase64(_ bytes: [UInt8]) -> String {
        String(
            Data(bytes).base64EncodedString().map { c -> Character in
                switch c {
                case "+": "-"
                case "=": "_"
                case "/": "~"
                default: c
                }
            })
    }
}
