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
            // Eight bytes per draw: one system call per 64 bits, not one per byte.
            var bytes: [UInt8] = []
            bytes.reserveCapacity(count + 7)
            while bytes.count < count {
                withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
            }
            let text = Base64URL.encode(bytes.prefix(count))
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

    /// Whether `key` has the exact shape of the blob keys Ferry makes: `<id>/<id>`, two ids of
    /// `make()` (22 characters each). The janitor deletes unreferenced keys of this shape only.
    public static func isBlobKey(_ key: some StringProtocol) -> Bool {
        let segments = key.split(separator: "/", omittingEmptySubsequences: false)
        return segments.count == 2 && segments.allSatisfy { $0.utf8.count == 22 && isWellFormed($0) }
    }
}

/// Base64url without padding (RFC 4648 section 5).
public enum Base64URL {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Encodes bytes.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let input = Array(bytes)
        let length = input.count / 3 * 4 + [0, 2, 3][input.count % 3]
        return String(unsafeUninitializedCapacity: length) { out in
            var i = 0
            var o = 0
            func put(_ n: UInt32, _ shift: UInt32) {
                out[o] = alphabet[Int(n >> shift & 63)]
                o += 1
            }
            while i + 2 < input.count {
                let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                put(n, 18)
                put(n, 12)
                put(n, 6)
                put(n, 0)
                i += 3
            }
            if input.count - i == 1 {
                let n = UInt32(input[i]) << 16
                put(n, 18)
                put(n, 12)
            } else if input.count - i == 2 {
                let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
                put(n, 18)
                put(n, 12)
                put(n, 6)
            }
            return o
        }
    }

    /// Decodes; nil on characters outside the alphabet, an impossible length, or a non-canonical
    /// final character (unused low bits set, RFC 4648 section 3.5): every byte string has exactly
    /// one encoding, so an altered token can never decode to the same bytes.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let count = text.utf8.count
        guard count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count * 3 / 4)
        var n: UInt32 = 0
        var held = 0
        var last: UInt32 = 0
        for c in text.utf8 {
            guard let value = value(of: c) else { return nil }
            n = n << 6 | value
            held += 1
            last = value
            if held == 4 {
                out.append(UInt8(n >> 16 & 255))
                out.append(UInt8(n >> 8 & 255))
                out.append(UInt8(n & 255))
                n = 0
                held = 0
            }
        }
        switch held {
        case 2:
            guard last & 0x0F == 0 else { return nil }
            out.append(UInt8(n >> 4 & 255))
        case 3:
            guard last & 0x03 == 0 else { return nil }
            out.append(UInt8(n >> 10 & 255))
            out.append(UInt8(n >> 2 & 255))
        default: break
        }
        return out
    }

    /// The 6-bit value of a base64url character; nil outside the alphabet.
    static func value(of c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(c - 65)
        case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(c - 97 + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - 48 + 52)
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }

    static func isAlphabet(_ c: UInt8) -> Bool { value(of: c) != nil }
}

/// Lowercase hex.
public enum Hex {
    static let digits = Array("0123456789abcdef".utf8)

    /// Encodes bytes as lowercase hex.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
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
