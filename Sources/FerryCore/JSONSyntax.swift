/// RFC 8259 JSON syntax, checked strictly before a body is decoded.
///
/// Foundation's `JSONDecoder` on Linux accepts more than RFC 8259 (trailing commas, numbers with
/// leading zeros, raw control characters in strings, and a second document after the first), so a
/// client's malformed body could be taken for something it did not mean. Hand-written: no listed
/// package validates JSON without also accepting those extensions.
public enum JSONSyntax {
    /// Where and why a text is not JSON.
    public struct Problem: Error, Equatable, Sendable {
        /// Byte offset of the problem.
        public var offset: Int
        /// What is wrong, for a person.
        public var reason: String
    }

    /// Throws the first problem of `bytes` as RFC 8259 JSON text (one value, white space around).
    public static func validate(_ bytes: [UInt8]) throws(Problem) {
        var scanner = Scanner(bytes: bytes)
        scanner.skipSpace()
        try scanner.value(depth: 0)
        scanner.skipSpace()
        guard scanner.index == bytes.count else {
            throw Problem(offset: scanner.index, reason: "more text follows the JSON value")
        }
        // Strings were checked byte by byte above; this rejects invalid UTF-8 anywhere.
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw Problem(offset: 0, reason: "the text is not valid UTF-8")
        }
    }

    /// Nesting deeper than this is refused (a stack guard; no Ferry body nests more than 3).
    static let maximumDepth = 64

    struct Scanner {
        let bytes: [UInt8]
        var index = 0

        func problem(_ reason: String) -> Problem { Problem(offset: index, reason: reason) }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func expect(_ literal: String) throws(Problem) {
            for byte in literal.utf8 {
                guard current == byte else { throw problem("expected '\(literal)'") }
                index += 1
            }
        }

        mutating func value(depth: Int) throws(Problem) {
            guard depth < JSONSyntax.maximumDepth else { throw problem("the JSON nests too deeply") }
            switch current {
            case UInt8(ascii: "{")?: try container(closedBy: "}", depth: depth + 1)
            case UInt8(ascii: "[")?: try container(closedBy: "]", depth: depth + 1)
            case UInt8(ascii: "\"")?: try string()
            case UInt8(ascii: "t")?: try expect("true")
            case UInt8(ascii: "f")?: try expect("false")
            case UInt8(ascii: "n")?: try expect("null")
            case let byte? where byte == UInt8(ascii: "-") || (byte >= 0x30 && byte <= 0x39): try number()
            case nil: throw problem("the JSON ends where a value should be")
            default: throw problem("a value cannot start here")
            }
        }

        /// An object (`close` is `}`: members are `"name": value`) or an array (`]`: values).
        mutating func container(closedBy close: Unicode.Scalar, depth: Int) throws(Problem) {
            let end = UInt8(ascii: close)
            index += 1
            skipSpace()
            if current == end {
                index += 1
                return
            }
            while true {
                if close == "}" {
                    guard current == UInt8(ascii: "\"") else { throw problem("expected a quoted field name") }
                    try string()
                    skipSpace()
                    guard current == UInt8(ascii: ":") else { throw problem("expected ':' after a field name") }
                    index += 1
                    skipSpace()
                }
                try value(depth: depth)
                skipSpace()
                if current == end {
                    index += 1
                    return
                }
                guard current == UInt8(ascii: ",") else { throw problem("expected ',' or '\(close)'") }
                index += 1
                skipSpace()
                if current == end { throw problem("a trailing comma is not JSON") }
            }
        }

        mutating func string() throws(Problem) {
            index += 1
            while let byte = current {
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let escaped = current else { break }
                    if escaped == UInt8(ascii: "u") {
                        for _ in 0..<4 {
                            index += 1
                            guard let hex = current, Self.isHexDigit(hex) else {
                                throw problem("\\u must be followed by four hex digits")
                            }
                        }
                    } else if !"\"\\/bfnrt".utf8.contains(escaped) {
                        throw problem("unknown escape in a string")
                    }
                    index += 1
                case 0x00...0x1F:
                    throw problem("a control character must be escaped inside a string")
                default:
                    index += 1
                }
            }
            throw problem("a string is not closed")
        }

        mutating func number() throws(Problem) {
            if current == UInt8(ascii: "-") { index += 1 }
            guard let first = current, Self.isDigit(first) else { throw problem("expected a digit") }
            index += 1
            if first == UInt8(ascii: "0"), let next = current, Self.isDigit(next) {
                throw problem("a number cannot have a leading zero")
            }
            if first != UInt8(ascii: "0") { digits() }
            if current == UInt8(ascii: ".") {
                index += 1
                guard let next = current, Self.isDigit(next) else { throw problem("expected a digit after '.'") }
                digits()
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard let next = current, Self.isDigit(next) else { throw problem("expected a digit in the exponent") }
                digits()
            }
        }

        mutating func digits() {
            while let byte = current, Self.isDigit(byte) { index += 1 }
        }

        static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

        static func isHexDigit(_ byte: UInt8) -> Bool {
            isDigit(byte) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
        }
    }
}
