import FerryCatalogPostgres
import FerryCore
import FerryStorageS3
import Foundation
import Logging

extension FerryConfiguration {
    static func parseListen(_ text: String) throws -> (String, Int) {
        let invalid = Invalid(
            variable: "FERRY_LISTEN", problem: "expected host:port like 127.0.0.1:8080, got '\(text)'")
        var hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw invalid
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw invalid }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        if hostPart.isEmpty { hostPart = "127.0.0.1" }
        guard let port = Int(portPart), (0...65535).contains(port) else { throw invalid }
        return (String(hostPart), port)
    }

    static func parsePublicURL(_ text: String) throws -> String {
        var value = text
        while value.hasSuffix("/") { value.removeLast() }
        guard let url = URL(string: value), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https",
            url.host != nil, url.query == nil, url.fragment == nil, url.user == nil, !value.contains("@")
        else {
            throw Invalid(
                variable: "FERRY_PUBLIC_URL",
                problem: "expected an http(s) URL like https://files.example.com, got '\(text)'")
        }
        return value
    }

    static func parseDatabase(_ text: String?, dataDirectory: String) throws -> Database {
        guard let text else { return .sqlite(path: dataDirectory + "/ferry.sqlite") }
        if text.hasPrefix("sqlite://") {
            let path = String(text.dropFirst("sqlite://".count))
            guard !path.isEmpty else {
                throw Invalid(
                    variable: "FERRY_DATABASE_URL",
                    problem: "sqlite:// needs a path, e.g. sqlite:///var/lib/ferry/ferry.sqlite")
            }
            return .sqlite(path: path)
        }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            do {
                _ = try PostgresCatalogConfiguration(url: text)
            } catch let error as FerryError {
                let problem = error.message.replacingOccurrences(of: "FERRY_DATABASE_URL: ", with: "")
                throw Invalid(variable: "FERRY_DATABASE_URL", problem: problem)
            }
            return .postgres(url: text)
        }
        throw Invalid(
            variable: "FERRY_DATABASE_URL", problem: "expected sqlite://<path> or postgres://user:pass@host:port/db")
    }

    static func parseStorage(_ text: String?, dataDirectory: String, env: Reader) throws -> Storage {
        guard let text else { return .local(root: dataDirectory + "/blobs") }
        if text.hasPrefix("file://") {
            let path = String(text.dropFirst("file://".count))
            guard !path.isEmpty else {
                throw Invalid(
                    variable: "FERRY_STORAGE", problem: "file:// needs a directory, e.g. file:///srv/ferry/blobs")
            }
            return .local(root: path)
        }
        if text.hasPrefix("s3://") {
            let rest = text.dropFirst("s3://".count)
            let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            let bucket = String(parts[0])
            guard S3Configuration.isValidBucketName(bucket) else {
                throw Invalid(variable: "FERRY_STORAGE", problem: "'\(bucket)' is not a valid S3 bucket name")
            }
            var prefix = parts.count > 1 ? String(parts[1]) : ""
            while prefix.hasSuffix("/") { prefix.removeLast() }
            return .s3(try parseS3(bucket: bucket, prefix: prefix, env: env))
        }
        throw Invalid(
            variable: "FERRY_STORAGE", problem: "expected file://<directory> or s3://bucket[/prefix], got '\(text)'")
    }

    static func parseS3(bucket: String, prefix: String, env: Reader) throws -> S3Settings {
        // One parser, the store's own: what it cannot use stops the start, never a fallback to AWS.
        func endpoint(_ variable: String) throws -> S3Endpoint? {
            guard let text = env.string(variable) else { return nil }
            if text.contains("@") {
                throw Invalid(
                    variable: variable,
                    problem: "holds user info (user@host), which an S3 endpoint cannot use; "
                        + "give the credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
            }
            guard let endpoint = S3Endpoint(parsing: text) else {
                throw Invalid(
                    variable: variable,
                    problem: "expected http(s)://host[:port] with no user, path or query, got '\(text)'")
            }
            return endpoint
        }
        let region = env.string("FERRY_S3_REGION") ?? "us-east-1"
        guard region.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }) else {
            throw Invalid(variable: "FERRY_S3_REGION", problem: "'\(region)' is not a region name like eu-west-3")
        }
        let pathStyle: Bool
        switch env.string("FERRY_S3_PATH_STYLE")?.lowercased() {
        case nil, "false", "0", "no": pathStyle = false
        case "true", "1", "yes": pathStyle = true
        case let other?:
            throw Invalid(variable: "FERRY_S3_PATH_STYLE", problem: "expected true or false, got '\(other)'")
        }
        guard let accessKeyID = env.string("AWS_ACCESS_KEY_ID") else {
            throw Invalid(
                variable: "AWS_ACCESS_KEY_ID",
                problem: "is not set; S3 storage needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        guard let secret = env.string("AWS_SECRET_ACCESS_KEY") else {
            throw Invalid(
                variable: "AWS_SECRET_ACCESS_KEY",
                problem: "is not set; S3 storage needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        return S3Settings(
            bucket: bucket, prefix: prefix, region: region, endpoint: try endpoint("FERRY_S3_ENDPOINT"),
            publicEndpoint: try endpoint("FERRY_S3_PUBLIC_ENDPOINT"), pathStyle: pathStyle, accessKeyID: accessKeyID,
            secretAccessKey: secret, sessionToken: env.string("AWS_SESSION_TOKEN"))
    }

    static func parseCloudFront(_ env: Reader, storage: Storage) throws -> CloudFrontSettings? {
        let domain = env.string("FERRY_CLOUDFRONT_DOMAIN")
        let keyPairID = env.string("FERRY_CLOUDFRONT_KEY_PAIR_ID")
        let keyFile = env.string("FERRY_CLOUDFRONT_PRIVATE_KEY_FILE")
        guard domain != nil || keyPairID != nil || keyFile != nil else { return nil }
        guard let domain, let keyPairID, let keyFile else {
            let missing = [
                domain == nil ? "FERRY_CLOUDFRONT_DOMAIN" : nil,
                keyPairID == nil ? "FERRY_CLOUDFRONT_KEY_PAIR_ID" : nil,
                keyFile == nil ? "FERRY_CLOUDFRONT_PRIVATE_KEY_FILE" : nil,
            ].compactMap { $0 }
            throw Invalid(
                variable: missing[0], problem: "CloudFront delivery needs \(missing.joined(separator: ", ")) too")
        }
        guard case .s3 = storage else {
            throw Invalid(
                variable: "FERRY_CLOUDFRONT_DOMAIN", problem: "CloudFront delivery needs FERRY_STORAGE=s3://...")
        }
        guard !domain.contains("/"), !domain.contains(":") else {
            throw Invalid(
                variable: "FERRY_CLOUDFRONT_DOMAIN", problem: "expected a host name like d111111abcdef8.cloudfront.net")
        }
        let hash = (env.string("FERRY_CLOUDFRONT_HASH") ?? "sha1").lowercased()
        guard hash == "sha1" || hash == "sha256" else {
            throw Invalid(variable: "FERRY_CLOUDFRONT_HASH", problem: "expected sha1 or sha256, got '\(hash)'")
        }
        return CloudFrontSettings(domain: domain, keyPairID: keyPairID, privateKeyFile: keyFile, hashAlgorithm: hash)
    }

    static func parseTypes(_ text: String) throws -> [String] {
        try text.split(separator: ",").map { raw in
            let item = String(raw).trimmingCharacters(in: .whitespaces).lowercased()
            if item == "*/*" { return item }
            let pattern = item.hasSuffix("/*") ? String(item.dropLast()) + "x" : item
            guard MediaType.essence(pattern) != nil else {
                throw Invalid(
                    variable: "FERRY_ALLOWED_TYPES", problem: "'\(item)' is not a media type like image/png or image/*")
            }
            return item
        }
    }

    static func parseOrigin(_ text: String) throws -> String {
        guard let url = URL(string: text), let scheme = url.scheme, scheme == "http" || scheme == "https",
            url.host != nil, url.path.isEmpty || url.path == "/", url.query == nil, url.fragment == nil,
            url.user == nil, !text.contains("@")
        else {
            throw Invalid(
                variable: "FERRY_CORS_ORIGINS", problem: "'\(text)' is not an origin like https://app.example.com")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    static func parseSigningKeys(_ text: String) throws -> [SigningKey] {
        let keys = try text.split(separator: ",").enumerated().map { index, item in
            let parts = item.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, Identifier.isWellFormed(parts[0]) || (1...64).contains(parts[0].count),
                parts[0].utf8.allSatisfy({ Base64URL.isAlphabetCharacter($0) }),
                let secret = Data(base64Encoded: String(parts[1])).map(Array.init) ?? Base64URL.decode(parts[1]),
                secret.count >= 32
            else {
                throw Invalid(
                    variable: "FERRY_SIGNING_KEYS",
                    problem:
                        "key \(index + 1) must be kid:base64 with a kid of letters, digits, '-' or '_' and at least 32 random bytes"
                )
            }
            return SigningKey(id: String(parts[0]), secret: secret)
        }
        guard !keys.isEmpty else { throw Invalid(variable: "FERRY_SIGNING_KEYS", problem: "lists no key") }
        return keys
    }

    /// The origin (`scheme://host[:port]`) of the public URL; cookie-authenticated writes must send it.
    public var publicOrigin: String {
        guard let url = URL(string: publicURL), let scheme = url.scheme, let host = url.host else { return publicURL }
        return url.port.map { "\(scheme)://\(host):\($0)" } ?? "\(scheme)://\(host)"
    }

    /// Whether the public URL is https (cookies then carry `Secure`).
    public var isSecure: Bool { publicURL.lowercased().hasPrefix("https://") }
}
