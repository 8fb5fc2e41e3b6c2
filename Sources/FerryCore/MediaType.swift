/// Media types as Ferry needs them: normalising, allow lists and the inline-safe set.
public enum MediaType {
    /// The lowercased `type/subtype` of a `Content-Type` value, parameters dropped; nil when malformed.
    public static func essence(_ value: String) -> String? {
        let base = value.split(separator: ";", maxSplits: 1).first.map { String($0).trimmingSpaces.lowercased() } ?? ""
        let parts = base.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            base.utf8.allSatisfy({ isTokenChar($0) || $0 == UInt8(ascii: "/") })
        else { return nil }
        return base
    }

    /// The media type a file name's extension implies, from Debian's media-types table
    /// (`extensionTable`); nil when the name has no extension the table knows.
    public static func implied(byFileName name: String) -> String? {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        let ext = name[name.index(after: dot)...].lowercased()
        return ext.isEmpty ? nil : byExtension[ext]
    }

    /// The type an upload is stored as: the `Content-Type` sent, unless none was sent or it is
    /// `application/x-www-form-urlencoded` (what curl `--data-binary` and HTML forms send when
    /// nobody chose a type: never a file's type). Then the type the name implies, else
    /// `application/octet-stream`. Nil when the sent value is not a media type.
    public static func ofUpload(contentType: String?, fileName: String) -> String? {
        if let contentType, !contentType.trimmingSpaces.isEmpty {
            guard let essence = essence(contentType) else { return nil }
            if essence != "application/x-www-form-urlencoded" { return essence }
        }
        return implied(byFileName: fileName) ?? "application/octet-stream"
    }

    /// `extensionTable` parsed once.
    static let byExtension: [String: String] = {
        var table: [String: String] = [:]
        for pair in extensionTable.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { table[String(parts[0])] = String(parts[1]) }
        }
        return table
    }()

    /// Whether `essence` is allowed by a list like `["image/*", "application/pdf"]` (nil list: everything).
    public static func isAllowed(_ essence: String, by allowList: [String]?) -> Bool {
        guard let allowList else { return true }
        return allowList.contains { pattern in
            if pattern == "*/*" { return true }
            if pattern.hasSuffix("/*") { return essence.hasPrefix(pattern.dropLast()) }
            return pattern == essence
        }
    }

    /// Types a browser cannot run script from, so `disposition=inline` is honoured (API.md "Downloads").
    public static func isInlineSafe(_ essence: String) -> Bool {
        switch essence {
        case "text/plain", "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif":
            return true
        default:
            return essence.hasPrefix("audio/") || essence.hasPrefix("video/")
        }
    }

    /// RFC 9110 `tchar`.
    static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
    }
}
