/// An IPv4 or IPv6 network, for `FERRY_TRUSTED_PROXIES` and address binding.
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    /// Network address bytes (4 or 16).
    public let address: [UInt8]
    /// Prefix length in bits.
    public let prefix: Int

    /// Parses `a.b.c.d/n`, `x::y/n`, or a bare address (a host network).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = IPAddress.parse(String(parts[0])) else { return nil }
        let bits = bytes.count * 8
        if parts.count == 2 {
            guard let prefix = Int(parts[1]), (0...bits).contains(prefix) else { return nil }
            self.prefix = prefix
        } else {
            self.prefix = bits
        }
        self.address = bytes
    }

    /// Whether the address (text form) lies inside this network.
    public func contains(_ text: String) -> Bool {
        guard let bytes = IPAddress.parse(text) else { return false }
        return contains(bytes)
    }

    /// Whether the address bytes lie inside this network (IPv4-mapped IPv6 counts as IPv4).
    public func contains(_ bytes: [UInt8]) -> Bool {
        var candidate = bytes
        if candidate.count == 16, address.count == 4, candidate[0..<10].allSatisfy({ $0 == 0 }),
            candidate[10] == 0xFF, candidate[11] == 0xFF
        {
            candidate = Array(candidate[12...])
        }
        guard candidate.count == address.count else { return false }
        var remaining = prefix
        for i in 0..<address.count where remaining > 0 {
            let maskBits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - maskBits))
            if candidate[i] & mask != address[i] & mask { return false }
            remaining -= maskBits
        }
        return true
    }

    public var description: String { "\(IPAddress.format(address))/\(prefix)" }
}

/// Textual IP addresses.
public enum IPAddress {
    /// Parses IPv4 dotted quads and IPv6 (with `::` and an embedded IPv4 tail); nil when invalid.
    public static func parse(_ text: String) -> [UInt8]? {
        if text.contains(":") { return parseV6(text) }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), let v = UInt8(part) else { return nil }
            out.append(v)
        }
        return out
    }

    static func parseV6(_ text: String) -> [UInt8]? {
        var body = Substring(text)
        if let percent = body.firstIndex(of: "%") { body = body[..<percent] }
        var halves: [String] = []
        if let range = body.firstRange(of: "::") {
            halves = [String(body[..<range.lowerBound]), String(body[range.upperBound...])]
            if halves[1].contains("::") { return nil }
        } else {
            halves = [String(body)]
        }
        func groups(_ s: String) -> [UInt8]? {
            if s.isEmpty { return [] }
            var out: [UInt8] = []
            let items = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, item) in items.enumerated() {
                if i == items.count - 1, item.contains(".") {
                    guard let v4 = parse(String(item)) else { return nil }
                    out += v4
                } else {
                    guard (1...4).contains(item.count), let v = UInt16(item, radix: 16) else { return nil }
                    out += [UInt8(v >> 8), UInt8(v & 0xFF)]
                }
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count < 16 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }

    /// Formats 4 or 16 bytes (IPv6 in full hex groups, without compression).
    public static func format(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: bytes.count, by: 2).map {
            String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16)
        }
        .joined(separator: ":")
    }
}
