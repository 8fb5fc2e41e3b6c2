import Foundation

/// `Content-Disposition` for downloads (RFC 6266 with RFC 8187 `filename*`).
public struct ContentDisposition: Hashable, Sendable {
    /// `attachment` or `inline`.
    public enum Kind: String, Sendable, Hashable {
        case attachment
        case inline
    }

    /// What kind of failure (decides the exit code).
    public var kind: Kind
    /// A name to save as instead of the file's.
    public var filename: String

    /// Creates a disposition.
    public init(kind: Kind, filename: String) {
        self.kind = kind
        self.filename = filename
    }

    /// The header value: `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>`.
    /// Any Unicode name yields a valid single-line header: the fallback (`asciiFallback`) keeps
    /// printable ASCII except `"`, `\`, `%`, `/`, folds accents, and replaces everything else with
    /// `_`; `filename*` percent-encodes every byte outside RFC 8187's attr-char.
    public var headerValue: String {
        "\(kind.rawValue); filename=\"\(Self.asciiFallback(filename))\"; filename*=UTF-8''\(Self.percentEncode(filename))"
    }

    /// The plain-ASCII stand-in for clients that read only `filename=` (`curl -OJ`, `wget
    /// --content-disposition`): a character whose letters lose their accents or compatibility form
    /// and are then printable ASCII is kept so (NFKD without combining marks: "Café ﬁnal" -> "Cafe
    /// final"); any other character (and `"`, `\`, `%`, `/`) becomes one `_`.
    public static func asciiFallback(_ name: String) -> String {
        let unsafe = "\"\\%/"  // would end the quoted string, escape, or read as encoding or a path
        var out = ""
        for character in name {
            // Printable ASCII, the usual name, needs no folding (this runs for every download).
            if let ascii = character.asciiValue, (0x20...0x7E).contains(ascii) {
                out.append(unsafe.contains(character) ? "_" : character)
                continue
            }
            let plain = String(character).decomposedStringWithCompatibilityMapping.unicodeScalars.filter {
                $0.properties.generalCategory != .nonspacingMark
            }
            let kept = plain.allSatisfy { (0x20...0x7E).contains($0.value) && !unsafe.unicodeScalars.contains($0) }
            if kept && !plain.isEmpty {
                out.unicodeScalars.append(contentsOf: plain)
            } else {
                out.append("_")
            }
        }
        return out.isEmpty ? "download" : out
    }

    /// RFC 8187 section 3.2.1 `attr-char`.
    static func isAttrChar(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$&+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Percent-encodes UTF-8 bytes outside attr-char (uppercase hex).
    public static func percentEncode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isAttrChar(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX` escapes as UTF-8; nil when an escape is malformed or the bytes are not UTF-8.
    public static func percentDecode(_ text: some StringProtocol) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let h = iterator.next(), let l = iterator.next(), let hv = hexValue(h), let lv = hexValue(l)
                else { return nil }
                bytes.append(hv << 4 | lv)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Parses a header value; `filename*` (UTF-8) wins over `filename`. Nil when no filename is present.
    public static func parse(_ header: String) -> ContentDisposition? {
        let params = splitParameters(header)
        guard let first = params.first else { return nil }
        let kind: Kind = first.lowercased().trimmingSpaces == "inline" ? .inline : .attachment
        var plain: String?
        var extended: String?
        for param in params.dropFirst() {
            guard let eq = param.firstIndex(of: "=") else { continue }
            let key = String(param[..<eq]).trimmingSpaces.lowercased()
            var value = String(param[param.index(after: eq)...]).trimmingSpaces
            if key == "filename*" {
                let pieces = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                if pieces.count == 3, pieces[0].lowercased() == "utf-8", let decoded = percentDecode(pieces[2]) {
                    extended = decoded
                }
            } else if key == "filename" {
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                    value = unquote(String(value.dropFirst().dropLast()))
                }
                plain = value
            }
        }
        guard let name = extended ?? plain else { return nil }
        return ContentDisposition(kind: kind, filename: name)
    }

    /// Splits a header value on `;` outside quoted strings (also a media type's parameters).
    public static func splitParameters(_ header: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for ch in header {
            if escaped {
                current.append(ch)
                escaped = false
            } else if quoted && ch == "\\" {
                current.append(ch)
                escaped = true
            } else if ch == "\"" {
                quoted.toggle()
                current.append(ch)
            } else if ch == ";" && !quoted {
                parts.append(current)
                current = ""
            } else {
                current.append(ch)
            }
        }
        parts.append(current)
        return parts
    }

    static func unquote(_ text: String) -> String {
        var out = ""
        var escaped = false
        for ch in text {
            if escaped {
                out.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else {
                out.append(ch)
            }
        }
        return out
    }
}
