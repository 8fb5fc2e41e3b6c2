import Crypto

/// Random identifiers and secrets from the system CSPRNG, and their one-way hashes.
public enum Identifier {
    /// A URL-safe random id of 128 bits (22 characters).
    public static func make() -> String { random(bytes: 16) }

    /// A URL-safe random secret of 256 bits (43 characters), for API tokens and sessions.
    public static func secret() -> String { random(bytes: 32) }

    /// `bytes` random bytes from the system CSPRNG, base64url without padding. Never starts with
    /// `-`, so that ids and tokens can be typed as command-line arguments (`ferry get <id>`,
    /// `--token <token>`) without being taken for options (a redraw costs under 1/64 of a bit).
    public static func random(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        while true {
            let bytes = (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let text = Base64URL.encode(bytes)
            if !text.hasPrefix("-") { return text }
        }
    }

    /// The lowercase hex SHA-256 of a secret, as stored in the catalog.
    public static func hash(_ secret: String) -> String {
        Hex.encode(SHA256.hash(data: Array(secret.utf8)))
    }

    /// Whether `text` looks like an id we issued (URL-safe alphabet, sane length): ids are checked
    /// before they reach the catalog or a storage key.
    public static func isWellFormed(_ text: some StringProtocol) -> Bool {
        (8...64).contains(text.utf8.count) && text.utf8.allSatisfy(Base64URL.isAlphabet)
    }
}

/// Base64url without padding (RFC 4648 section 5).
public enum Base64URL {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Encodes bytes.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count * 4 + 2) / 3)
        var i = 0
        while i + 2 < input.count {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out += [
                alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)],
                alphabet[Int(n & 63)],
            ]
            i += 3
        }
        let rest = input.count - i
        if rest == 1 {
            let n = UInt32(input[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)]]
        } else if rest == 2 {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)]]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes; nil on characters outside the alphabet, an impossible length, or a non-canonical
    /// final character (unused low bits set, RFC 4648 section 3.5): every byte string has exactly
    /// one encoding, so an altered token can never decode to the same bytes.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var values: [UInt32] = []
        values.reserveCapacity(text.utf8.count)
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(UInt32(c - 65))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(UInt32(c - 97 + 26))
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(UInt32(c - 48 + 52))
            case UInt8(ascii: "-"): values.append(62)
            case UInt8(ascii: "_"): values.append(63)
            default: return nil
            }
        }
        switch values.count % 4 {
        case 1: return nil
        case 2: if values[values.count - 1] & 0x0F != 0 { return nil }
        case 3: if values[values.count - 1] & 0x03 != 0 { return nil }
        default: break
        }
        var out: [UInt8] = []
        var i = 0
        while i < values.count {
            let chunk = values[i..<min(i + 4, values.count)]
            var n: UInt32 = 0
            for (j, v) in chunk.enumerated() { n |= v << (18 - 6 * UInt32(j)) }
            out.append(UInt8(n >> 16 & 255))
            if chunk.count > 2 { out.append(UInt8(n >> 8 & 255)) }
            if chunk.count > 3 { out.append(UInt8(n & 255)) }
            i += 4
        }
        return out
    }

    static func isAlphabet(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default: return false
        }
    }
}

/// Lowercase hex.
public enum Hex {
    /// Encodes bytes as lowercase hex.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex (either case); nil when malformed.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let u = Array(text.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let h = ContentDisposition.hexValue(u[i]), let l = ContentDisposition.hexValue(u[i + 1]) else {
                return nil
            }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}

extension Base64URL {
    /// Whether a byte is in the base64url alphabet.
    public static func isAlphabetCharacter(_ c: UInt8) -> Bool { isAlphabet(c) }
}
