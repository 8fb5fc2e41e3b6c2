/// One range of a `Range: bytes=` header before it is resolved against a size (RFC 9110 section 14.1.2).
public enum ByteRangeSpec: Hashable, Sendable {
    /// `first-last` (inclusive).
    case closed(first: Int64, last: Int64)
    /// `first-`: from `first` to the end.
    case from(first: Int64)
    /// `-length`: the last `length` bytes.
    case suffix(length: Int64)
}

/// The outcome of applying a `Range` header to a representation of known size.
public enum RangeResolution: Hashable, Sendable {
    /// Serve the whole representation (no range, an ignored range, or a failed `If-Range`).
    case full
    /// Serve these ranges, in request order, each inside `0..<size`.
    case partial([ClosedRange<Int64>])
    /// No range can be satisfied: 416 with `Content-Range: bytes */size`.
    case unsatisfiable
}

/// Parsing and resolution of HTTP byte ranges, written from RFC 9110 section 14.
public enum ByteRange {
    /// The most ranges Ferry accepts in one header; more is treated as abuse and served as a full response.
    public static let maximumRangeCount = 100

    /// Parses a `Range` header value. Returns nil when the header is syntactically invalid or uses
    /// another unit: RFC 9110 section 14.2 says such a header is ignored.
    public static func parse(_ header: String) -> [ByteRangeSpec]? {
        var text = Substring(header)
        trimOWS(&text)
        guard let eq = text.firstIndex(of: "=") else { return nil }
        let unit = text[..<eq]
        guard unit.lowercased() == "bytes" else { return nil }
        let set = text[text.index(after: eq)...]
        var specs: [ByteRangeSpec] = []
        for rawPart in set.split(separator: ",", omittingEmptySubsequences: false) {
            var part = rawPart
            trimOWS(&part)
            // RFC 9110 5.6.1: empty list elements are allowed and ignored.
            if part.isEmpty { continue }
            guard let dash = part.firstIndex(of: "-") else { return nil }
            let firstText = part[..<dash]
            let lastText = part[part.index(after: dash)...]
            if firstText.isEmpty {
                guard let length = parseDigits(lastText) else { return nil }
                specs.append(.suffix(length: length))
            } else {
                guard let first = parseDigits(firstText) else { return nil }
                if lastText.isEmpty {
                    specs.append(.from(first: first))
                } else {
                    guard let last = parseDigits(lastText), last >= first else { return nil }
                    specs.append(.closed(first: first, last: last))
                }
            }
            if specs.count > maximumRangeCount { return nil }
        }
        return specs.isEmpty ? nil : specs
    }

    /// Resolves parsed ranges against a representation of `size` bytes (RFC 9110 section 14.1.2):
    /// ranges are clipped to the end; ranges starting at or past the end are dropped; a suffix
    /// range of zero length is unsatisfiable; if none remain the result is `.unsatisfiable`.
    public static func resolve(_ specs: [ByteRangeSpec], size: Int64) -> RangeResolution {
        var ranges: [ClosedRange<Int64>] = []
        for spec in specs {
            switch spec {
            case .closed(let first, let last):
                if first < size { ranges.append(first...min(last, size - 1)) }
            case .from(let first):
                if first < size { ranges.append(first...(size - 1)) }
            case .suffix(let length):
                if length > 0 && size > 0 { ranges.append(max(0, size - length)...(size - 1)) }
            }
        }
        return ranges.isEmpty ? .unsatisfiable : .partial(ranges)
    }

    /// Parses and resolves in one step: an invalid header resolves to `.full`.
    public static func resolve(header: String?, size: Int64) -> RangeResolution {
        guard let header, let specs = parse(header) else { return .full }
        return resolve(specs, size: size)
    }

    /// Merges ranges that overlap or lie within `gap` bytes of each other, sorted by start, so a
    /// multipart response never repeats bytes (RFC 9110 section 14.6 allows coalescing).
    public static func coalesce(_ ranges: [ClosedRange<Int64>], gap: Int64 = 80) -> [ClosedRange<Int64>] {
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<Int64>] = []
        for range in sorted {
            if let last = merged.last, range.lowerBound <= last.upperBound + 1 + gap {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }

    /// The `Content-Range` value for a partial response: `bytes a-b/size`.
    public static func contentRange(_ range: ClosedRange<Int64>, size: Int64) -> String {
        "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
    }

    /// The `Content-Range` value of a 416 response: `bytes */size`.
    public static func unsatisfiedContentRange(size: Int64) -> String {
        "bytes */\(size)"
    }

    /// Parses a `Content-Range: bytes a-b/size` value (clients use it to check a 206).
    public static func parseContentRange(_ value: String) -> (range: ClosedRange<Int64>, size: Int64?)? {
        var text = Substring(value)
        trimOWS(&text)
        guard text.lowercased().hasPrefix("bytes ") else { return nil }
        text = text.dropFirst(6)
        guard let slash = text.firstIndex(of: "/"), let dash = text.firstIndex(of: "-"), dash < slash else {
            return nil
        }
        guard let first = parseDigits(text[..<dash]), let last = parseDigits(text[text.index(after: dash)..<slash]),
            last >= first
        else { return nil }
        let sizeText = text[text.index(after: slash)...]
        if sizeText == "*" { return (first...last, nil) }
        guard let size = parseDigits(sizeText), last < size else { return nil }
        return (first...last, size)
    }

    /// Digits only, no sign, no overflow (a value too large for Int64 is invalid).
    static func parseDigits(_ text: Substring) -> Int64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(text)
    }

    static func trimOWS(_ text: inout Substring) {
        while let c = text.first, c == " " || c == "\t" { text.removeFirst() }
        while let c = text.last, c == " " || c == "\t" { text.removeLast() }
    }
}
