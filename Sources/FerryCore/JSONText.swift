/// JSON text written directly into a string, for the hot paths (audit details on every download,
/// log lines) where Foundation's JSONEncoder cost tens of microseconds a call.
public enum JSONText {
    /// Appends a JSON string literal (RFC 8259 section 7): quote, backslash and control
    /// characters escaped, everything else as is (UTF-8).
    public static func appendString(_ value: String, to out: inout String) {
        out += "\""
        // Most values need no escaping: append them whole.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += value
            out += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
