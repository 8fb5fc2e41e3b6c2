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

    static func parseDatabase(
        _ text: String?, dataDirectory: String, source: ConfigurationSource
    ) throws -> Database {
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
            return .postgres(try PostgresCatalog.Configuration(url: text, source: source))
        }
        throw Invalid(
            variable: "FERRY_DATABASE_URL", problem: "expected sqlite://<path> or postgres://user:pass@host:port/db")
    }

    static func parseStorage(_ text: String?, dataDirectory: String, source: ConfigurationSource) throws -> Storage {
        guard let text else { return .local(root: dataDirectory + "/blobs") }
        if text.hasPrefix("file://") {
            let path = String(text.dropFirst("file://".count))
            guard !path.isEmpty else {
                throw Invalid(
                    variable: "FERRY_STORAGE", problem: "file:// needs a directory, e.g. file:///srv/ferry/blobs")
            }
            return .local(root: path)
        }
        if text.hasPrefix("s3://") { return .s3(try S3BlobStore.Configuration(storage: text, source: source)) }
        throw Invalid(
            variable: "FERRY_STORAGE", problem: "expected file://<directory> or s3://bucket[/prefix], got '\(text)'")
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

    /// Whether the public URL names the unspecified address (`0.0.0.0`, `::`), as it does by
    /// default when `FERRY_LISTEN` listens on every interface: no other machine can open its links,
    /// and the web app, opened at any real address, may change nothing (its origin differs).
    public var publicURLNamesNoHost: Bool {
        guard let host = URL(string: publicURL)?.host else { return false }
        return ["0.0.0.0", "::", "[::]"].contains(host)
    }

    /// What to say when `publicURLNamesNoHost`: one line, naming the variable and the fix.
    public var publicURLNamesNoHostWarning: String {
        "FERRY_PUBLIC_URL is \(publicURL), an address that names every interface and no machine: "
            + "links would not open elsewhere, and the web app may change nothing unless opened at exactly that address"
    }

    /// The fix for `publicURLNamesNoHostWarning`.
    public var publicURLNamesNoHostFix: String {
        "Set FERRY_PUBLIC_URL to the address users reach, e.g. FERRY_PUBLIC_URL=http://files.example.com:\(port) "
            + "(https:// behind TLS)."
    }
}
