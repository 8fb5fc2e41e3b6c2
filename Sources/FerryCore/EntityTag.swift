/// An HTTP entity tag (RFC 9110 section 8.8.3).
public struct EntityTag: Hashable, Sendable, CustomStringConvertible {
    /// The opaque tag without quotes.
    public let opaque: String
    /// Weak tags (`W/"..."`) never match in strong comparison.
    public let isWeak: Bool

    /// Creates a tag from its opaque part.
    public init(opaque: String, isWeak: Bool = false) {
        self.opaque = opaque
        self.isWeak = isWeak
    }

    /// The header form, quotes included.
    public var description: String { (isWeak ? "W/" : "") + "\"" + opaque + "\"" }

    /// Strong comparison: both strong and identical (RFC 9110 section 8.8.3.2).
    public func strongMatches(_ other: EntityTag) -> Bool {
        !isWeak && !other.isWeak && opaque == other.opaque
    }

    /// Weak comparison: opaque parts identical.
    public func weakMatches(_ other: EntityTag) -> Bool { opaque == other.opaque }

    /// Parses one entity tag; nil when malformed.
    public static func parse(_ text: some StringProtocol) -> EntityTag? {
        guard case .tags(let tags) = EntityTagList.parse(String(text)), tags.count == 1 else { return nil }
        return tags[0]
    }
}

/// The value of `If-Match` / `If-None-Match`: `*` or a list of entity tags.
public enum EntityTagList: Hashable, Sendable {
    /// `*`
    case any
    /// A list of tags.
    case tags([EntityTag])

    /// Parses a header value; malformed members are skipped, an unparseable value is an empty list.
    public static func parse(_ header: String) -> EntityTagList {
        let trimmed = header.trimmingSpaces
        if trimmed == "*" { return .any }
        var tags: [EntityTag] = []
        var scalars = Substring(trimmed).unicodeScalars[...]
        while !scalars.isEmpty {
            while let c = scalars.first, c == " " || c == "\t" || c == "," { scalars.removeFirst() }
            if scalars.isEmpty { break }
            var weak = false
            if scalars.starts(with: "W/".unicodeScalars) {
                weak = true
                scalars.removeFirst(2)
            }
            guard scalars.first == "\"" else { break }
            scalars.removeFirst()
            guard let close = scalars.firstIndex(of: "\"") else { break }
            let opaque = scalars[..<close]
            // etagc = %x21 / %x23-7E / obs-text
            let valid = opaque.allSatisfy { $0 == "!" || ($0.value >= 0x23 && $0.value != 0x7F) }
            if valid { tags.append(EntityTag(opaque: String(String.UnicodeScalarView(opaque)), isWeak: weak)) }
            scalars = scalars[scalars.index(after: close)...]
        }
        return .tags(tags)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
