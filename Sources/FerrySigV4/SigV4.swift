import Crypto
import FerryCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

// AWS Signature Version 4, written here because no listed package signs AWS requests (Soto is not
// available). It follows S3's rules: paths are encoded once, segment by segment, never normalized.
// Checked against AWS's published examples and golden vectors generated with botocore
// (Tests/FerrySigV4Tests).

/// AWS credentials. The description never shows the secret or the session token.
public struct AWSCredentials: Sendable, Hashable, RedactedDescription {
    /// The access key id.
    public var accessKeyID: String
    /// The secret key (never printed).
    public var secretAccessKey: String
    /// The session token of temporary credentials, if any.
    public var sessionToken: String?

    /// Creates credentials.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String {
        "AWSCredentials(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>\(sessionToken == nil ? "" : ", sessionToken: <redacted>"))"
    }
}

/// A request to sign: the method, where it goes, its query and headers.
///
/// `path` is the decoded path (an S3 key may hold spaces, `+`, `%`, unicode); the signer encodes it
/// exactly once. Query items are decoded names and values, in the order they should appear.
public struct SigV4Request: Sendable, Hashable {
    /// The HTTP method.
    public var method: String
    /// `http` or `https`.
    public var scheme: String
    /// The host, with `:port` when it is not the scheme's default.
    public var host: String
    /// The decoded path, starting with `/`.
    public var path: String
    /// The query items, unencoded.
    public var query: [(name: String, value: String)]
    /// Headers to sign besides `host` (names in any case).
    public var headers: [(name: String, value: String)]

    /// Creates a request.
    public init(
        method: String, scheme: String = "https", host: String, path: String,
        query: [(name: String, value: String)] = [], headers: [(name: String, value: String)] = []
    ) {
        self.method = method
        self.scheme = scheme
        self.host = host
        self.path = path
        self.query = query
        self.headers = headers
    }

    /// Equal when every part is (queries in order).
    public static func == (a: SigV4Request, b: SigV4Request) -> Bool {
        a.method == b.method && a.scheme == b.scheme && a.host == b.host && a.path == b.path
            && a.query.elementsEqual(b.query, by: { $0 == $1 }) && a.headers.elementsEqual(b.headers, by: { $0 == $1 })
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(method)
        hasher.combine(host)
        hasher.combine(path)
    }

    /// The path as sent on the wire, encoded the way it is signed.
    public var encodedPath: String { SigV4.encodePath(path) }

    /// The query string as sent on the wire (in the given order).
    public var encodedQuery: String {
        query.map { "\(SigV4.encode($0.name))=\(SigV4.encode($0.value))" }.joined(separator: "&")
    }

    /// The full URL as sent on the wire.
    public var url: String {
        let q = encodedQuery
        return "\(scheme)://\(host)\(encodedPath)\(q.isEmpty ? "" : "?" + q)"
    }
}

/// Signs requests with AWS Signature Version 4.
public struct SigV4Signer: Sendable {
    /// The payload hash S3 accepts for bodies that are not hashed (streamed uploads over TLS, presigned URLs).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// The longest validity of a presigned URL S3 accepts: seven days.
    public static let maximumExpiry = 604_800

    /// The signing credentials.
    public var credentials: AWSCredentials {
        didSet { derivedKeys = DerivedKeys() }
    }
    /// The AWS region, e.g. `us-east-1`.
    public var region: String {
        didSet { derivedKeys = DerivedKeys() }
    }
    /// The AWS service, e.g. `s3`.
    public var service: String {
        didSet { derivedKeys = DerivedKeys() }
    }
    /// The last day's derived signing key (four HMACs saved per signature).
    var derivedKeys = DerivedKeys()

    /// Creates a signer for a region and service (`s3`).
    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The signing key of the last day it was derived for.
    final class DerivedKeys: Sendable {
        let last = Mutex<(day: String, key: [UInt8])?>(nil)
    }

    /// The headers to add to `request` so that it carries a valid `Authorization` header:
    /// `x-amz-date`, `x-amz-content-sha256` (S3), `x-amz-security-token` when there is one, and
    /// `Authorization`. `payloadHash` is the hex SHA-256 of the body or `UNSIGNED-PAYLOAD`.
    public func authorizationHeaders(
        for request: SigV4Request, payloadHash: String, date: Date
    ) -> [(name: String, value: String)] {
        let amzDate = SigV4.amzDate(date)
        var added: [(name: String, value: String)] = [("x-amz-date", amzDate)]
        if service == "s3" { added.append(("x-amz-content-sha256", payloadHash)) }
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        var signing = request
        signing.headers += added
        let canonical = canonicalRequest(signing, payloadHash: payloadHash)
        let signature = sign(canonical: canonical.text, amzDate: amzDate)
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(amzDate)), "
            + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
        return added + [("Authorization", authorization)]
    }

    /// A presigned URL for `request`, valid for `expires` seconds from `date` (at most seven days;
    /// longer is capped). The query keeps `request.query` first, then the `X-Amz-*` parameters, as
    /// AWS's SDKs write them. The payload is `UNSIGNED-PAYLOAD`.
    public func presignedURL(for request: SigV4Request, expires: Int, date: Date) -> String {
        let amzDate = SigV4.amzDate(date)
        var signing = request
        let headers = SigV4.canonicalHeaders(signing.allHeaders)
        let signedHeaders = headers.names
        var auth: [(name: String, value: String)] = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(amzDate))"),
            ("X-Amz-Date", amzDate),
            ("X-Amz-Expires", String(min(max(expires, 1), Self.maximumExpiry))),
            ("X-Amz-SignedHeaders", signedHeaders),
        ]
        if let token = credentials.sessionToken { auth.append(("X-Amz-Security-Token", token)) }
        signing.query += auth
        let canonical = canonicalRequest(signing, payloadHash: Self.unsignedPayload, headers: headers)
        let signature = sign(canonical: canonical.text, amzDate: amzDate)
        return signing.url + "&X-Amz-Signature=\(signature)"
    }

    /// The canonical request (AWS's step 1), exposed for tests and diagnostics.
    public func canonicalRequest(_ request: SigV4Request, payloadHash: String) -> (text: String, signedHeaders: String)
    {
        canonicalRequest(request, payloadHash: payloadHash, headers: SigV4.canonicalHeaders(request.allHeaders))
    }

    /// The canonical request with the request's canonical headers already computed.
    func canonicalRequest(
        _ request: SigV4Request, payloadHash: String, headers: (block: String, names: String)
    ) -> (text: String, signedHeaders: String) {
        let text = [
            request.method.uppercased(),
            request.encodedPath,
            SigV4.canonicalQuery(request.query),
            headers.block,
            headers.names,
            payloadHash,
        ].joined(separator: "\n")
        return (text, headers.names)
    }

    /// The string to sign (AWS's step 2).
    public func stringToSign(canonical: String, amzDate: String) -> String {
        let hash = Hex.encode(SHA256.hash(data: Array(canonical.utf8)))
        return "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope(amzDate))\n\(hash)"
    }

    /// The credential scope: `yyyymmdd/region/service/aws4_request`.
    public func scope(_ amzDate: String) -> String {
        "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
    }

    func sign(canonical: String, amzDate: String) -> String {
        let toSign = stringToSign(canonical: canonical, amzDate: amzDate)
        let day = String(amzDate.prefix(8))
        let key: SymmetricKey
        if let cached = derivedKeys.last.withLock({ $0 }), cached.day == day {
            key = SymmetricKey(data: cached.key)
        } else {
            key = signingKey(day: day)
            let bytes = key.withUnsafeBytes { Array($0) }
            derivedKeys.last.withLock { $0 = (day, bytes) }
        }
        return Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(toSign.utf8), using: key))
    }

    /// The derived signing key for a day (`yyyymmdd`).
    public func signingKey(day: String) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key)))
        }
        let secret = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        return hmac(hmac(hmac(hmac(secret, day), region), service), "aws4_request")
    }
}

extension SigV4Request {
    var allHeaders: [(name: String, value: String)] {
        headers.contains { $0.name.lowercased() == "host" } ? headers : [("host", host)] + headers
    }
}

/// The encoding rules of Signature Version 4.
public enum SigV4 {
    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    public static func amzDate(_ date: Date) -> String {
        let t = CivilTime(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return
            "\(pad(t.year, 4))\(pad(t.month, 2))\(pad(t.day, 2))T\(pad(t.hour, 2))\(pad(t.minute, 2))\(pad(t.second, 2))Z"
    }

    /// Percent-encodes everything but the unreserved characters `A-Z a-z 0-9 - _ . ~` (UTF-8, uppercase hex).
    public static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        encode(text, keepSlash: keepSlash, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the encoding of `text` to `out`.
    static func encode(_ text: String, keepSlash: Bool = false, into out: inout [UInt8]) {
        for b in text.utf8 {
            if isUnreserved(b) || (keepSlash && b == UInt8(ascii: "/")) {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(b >> 4)])
                out.append(hexDigits[Int(b & 15)])
            }
        }
    }

    static let hexDigits = Array("0123456789ABCDEF".utf8)

    static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: "~")
        }
    }

    /// An S3 path encoded once, segment by segment (slashes kept, nothing normalized).
    public static func encodePath(_ path: String) -> String {
        let encoded = encode(path, keepSlash: true)
        return encoded.hasPrefix("/") ? encoded : "/" + encoded
    }

    /// The canonical query: encoded names and values sorted by name, then value.
    public static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        // Sorted as encoded bytes, AWS's byte order (String comparison is Unicode-aware and was a
        // third of the cost of presigning a URL).
        let pairs = items.map { item -> (name: [UInt8], value: [UInt8]) in
            var name: [UInt8] = []
            var value: [UInt8] = []
            encode(item.name, into: &name)
            encode(item.value, into: &value)
            return (name, value)
        }
        let sorted = pairs.sorted { a, b in
            a.name == b.name ? a.value.lexicographicallyPrecedes(b.value) : a.name.lexicographicallyPrecedes(b.name)
        }
        var out: [UInt8] = []
        out.reserveCapacity(pairs.reduce(0) { $0 + $1.name.count + $1.value.count + 2 })
        for (index, pair) in sorted.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            out += pair.name
            out.append(UInt8(ascii: "="))
            out += pair.value
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Canonical headers: lowercase names, trimmed values with inner runs of spaces collapsed,
    /// repeated names joined with commas, sorted by name. Returns the block (each line ending in a
    /// newline) and the signed-headers list.
    public static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (block: String, names: String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            merged[name.lowercased(), default: []].append(trimAll(value))
        }
        let names = merged.keys.sorted()
        let block = names.map { "\($0):\(merged[$0, default: []].joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    static func trimAll(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}
