/// JSON text written directly into a string, for the hot paths (audit details on every download,
/// log lines) where Foundation's JSONEncoder cost tens of microseconds a call.
public enum JSONText {
    /// Appends a JSON string literal (RFC 8259 section 7): quote, backslash and control
    /// characters escaped, everything else as is (UTF-8).
    public static func appendString(_ value: String, to out: inout String) {
        // Most values need no escaping: append them whole.
        guard needsEscaping(value) else {
            out += "\""
            out += value
            out += "\""
            return
        }
        var bytes: [UInt8] = []
        appendString(value, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// Appends a JSON string literal as UTF-8 bytes (the same text as the `String` overload).
    public static func appendString(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        guard needsEscaping(value) else {
            out.append(contentsOf: value.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        // Bytes of multi-byte UTF-8 sequences are all >= 0x80, so escaping byte by byte is exact.
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(Hex.digits[Int(byte >> 4)])
                out.append(Hex.digits[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func needsEscaping(_ value: String) -> Bool {
        value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") })
    }
}
