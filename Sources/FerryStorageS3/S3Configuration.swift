import FerryCore
import FerrySigV4

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where an S3-compatible service answers: scheme, host and port.
public struct S3Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// `http` or `https`.
    public var scheme: String
    /// The host name or address.
    public var host: String
    /// The TCP port.
    public var port: Int?

    /// Creates an endpoint.
    public init(scheme: String, host: String, port: Int? = nil) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// Parses `http(s)://host[:port]` (a trailing slash is allowed; a path, user info, query or
    /// fragment is not: the store could not be reached as written).
    public init?(parsing text: String) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty, url.path.isEmpty || url.path == "/", url.query == nil,
            url.user == nil, url.password == nil, url.fragment == nil, !text.contains("@")
        else { return nil }
        self.init(scheme: scheme, host: host, port: url.port)
    }

    /// AWS's regional endpoint.
    public static func aws(region: String) -> S3Endpoint {
        S3Endpoint(scheme: "https", host: "s3.\(region).amazonaws.com")
    }

    /// `host[:port]` as the Host header says it (the port only when it is not the scheme's default).
    public var authority: String {
        guard let port, port != (scheme == "https" ? 443 : 80) else { return host }
        return "\(host):\(port)"
    }

    public var description: String { "\(scheme)://\(authority)" }
}

/// How Ferry talks to one bucket.
public struct S3Configuration: Sendable, Equatable {
    /// The bucket name.
    public var bucket: String
    /// Prepended to every key (`reports/` for `s3://bucket/reports`); empty for none.
    public var prefix: String
    /// The AWS region, e.g. `us-east-1`.
    public var region: String
    /// Where the server reaches the store.
    public var endpoint: S3Endpoint
    /// Where clients reach the store: the host presigned URLs name (the Host is signed).
    public var publicEndpoint: S3Endpoint
    /// Path-style (`host/bucket/key`, MinIO, Ceph, moto) or virtual-hosted (`bucket.host/key`, AWS).
    public var pathStyle: Bool
    /// The signing credentials.
    public var credentials: AWSCredentials
    /// Uploads above this size go multipart.
    public var multipartThreshold: Int
    /// The part size of multipart uploads of unknown size; uploads with a known size choose a part
    /// size so that they fit S3's 10 000 parts.
    public var partSize: Int
    /// Parts uploaded at the same time per upload (memory per upload is about this many parts).
    public var uploadConcurrency: Int
    /// Attempts of an idempotent call before its failure is reported (1 = no retry).
    public var maxAttempts: Int
    /// First backoff; each retry doubles it, up to `maxBackoff`, with full jitter.
    public var baseBackoff: Duration
    /// Longest backoff between retries.
    public var maxBackoff: Duration
    /// Longest wait for a new connection.
    public var connectTimeout: Duration
    /// Longest wait for the next byte of a response.
    public var readTimeout: Duration
    /// Bytes of a proxied download read from S3 ahead of the client (memory per download).
    public var readAhead = 1 << 20

    /// Creates a configuration; the defaults suit AWS and MinIO.
    public init(
        bucket: String, prefix: String = "", region: String = "us-east-1", endpoint: S3Endpoint? = nil,
        publicEndpoint: S3Endpoint? = nil, pathStyle: Bool = false, credentials: AWSCredentials,
        multipartThreshold: Int = 16 * 1024 * 1024, partSize: Int = 8 * 1024 * 1024, uploadConcurrency: Int = 4,
        maxAttempts: Int = 4, baseBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(2),
        connectTimeout: Duration = .seconds(5), readTimeout: Duration = .seconds(30)
    ) {
        self.bucket = bucket
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        self.region = region
        let endpoint = endpoint ?? .aws(region: region)
        self.endpoint = endpoint
        self.publicEndpoint = publicEndpoint ?? endpoint
        self.pathStyle = pathStyle
        self.credentials = credentials
        self.multipartThreshold = max(multipartThreshold, 5 * 1024 * 1024)
        self.partSize = max(partSize, 5 * 1024 * 1024)
        self.uploadConcurrency = max(uploadConcurrency, 1)
        self.maxAttempts = max(maxAttempts, 1)
        self.baseBackoff = baseBackoff
        self.maxBackoff = maxBackoff
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
    }

    /// Whether `name` follows S3's bucket naming rules (3-63 lowercase letters, digits, dots, hyphens).
    public static func isValidBucketName(_ name: String) -> Bool {
        let allowed = name.utf8.allSatisfy { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
        }
        guard allowed, (3...63).contains(name.utf8.count), let first = name.utf8.first, let last = name.utf8.last
        else { return false }
        return first != UInt8(ascii: "-") && first != UInt8(ascii: ".") && last != UInt8(ascii: "-")
            && last != UInt8(ascii: ".") && !name.contains("..")
    }

    /// The unsigned URL of `key` (relative to the prefix; nil: the bucket itself) on the public
    /// endpoint: what anyone without credentials would ask for.
    public func unsignedURL(of key: String?, query: String? = nil) -> String {
        let (host, path) = location(of: key, on: publicEndpoint)
        return "\(publicEndpoint.scheme)://\(host)\(SigV4.encodePath(path))" + (query.map { "?" + $0 } ?? "")
    }

    /// Host and path of `key` on `endpoint`, by the configured addressing style.
    func location(of key: String?, on endpoint: S3Endpoint) -> (host: String, path: String) {
        let objectPath = key.map { "/" + prefix + $0 } ?? "/"
        if pathStyle {
            return (endpoint.authority, "/\(bucket)" + (key == nil ? "" : objectPath))
        }
        return ("\(bucket).\(endpoint.authority)", objectPath)
    }
}
