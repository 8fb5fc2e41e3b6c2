import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How one GET or HEAD of a representation is answered (RFC 9110 sections 13-15), decided once
/// and used for the bytes, the headers and the audit: the conditions first (section 13.2.2), then
/// the range (section 14). Everywhere Ferry serves bytes (`/content`, `/t/`, `/d/`) follows it.
public enum DeliveryPlan: Equatable, Sendable {
    /// 304: `If-None-Match` (or `If-Modified-Since`) matched.
    case notModified
    /// 412: `If-Match` or `If-Unmodified-Since` failed.
    case preconditionFailed
    /// 416: no range of the request overlaps the representation.
    case rangeNotSatisfiable
    /// 200 or 206 with this body.
    case send(Body)

    /// A 200 or 206 body: its parts in order and the headers that describe it.
    public struct Body: Equatable, Sendable {
        /// 200 (the whole representation) or 206.
        public var status: Int
        /// The representation's type, or `multipart/byteranges; boundary=...`.
        public var contentType: String
        /// `bytes a-b/size` for a single range.
        public var contentRange: String?
        /// The parts of the body, in order.
        public var parts: [Part]
        /// The ranges served, as the audit records them (`0-99,200-299`); nil for the whole.
        public var rangeText: String?

        /// Creates a body.
        public init(status: Int, contentType: String, contentRange: String?, parts: [Part], rangeText: String?) {
            self.status = status
            self.contentType = contentType
            self.contentRange = contentRange
            self.parts = parts
            self.rangeText = rangeText
        }

        /// The body's length (`Content-Length`).
        public var length: Int64 { parts.reduce(0) { $0 + $1.length } }

        /// The first range of the representation the body reads, if any (the store's read is
        /// opened for it before the head is sent).
        public var firstRange: ClosedRange<Int64>? {
            for part in parts { if case .bytes(let range) = part { return range } }
            return nil
        }
    }

    /// One piece of a body: literal bytes (multipart framing) or a range of the representation.
    public enum Part: Equatable, Sendable {
        case literal(ByteBuffer)
        case bytes(ClosedRange<Int64>)

        /// Its length in bytes.
        public var length: Int64 {
            switch self {
            case .literal(let buffer): Int64(buffer.readableBytes)
            case .bytes(let range): range.upperBound - range.lowerBound + 1
            }
        }
    }

    /// Plans the answer for a representation of `size` bytes with `etag` and `lastModified`,
    /// given the request's conditions and `Range` header. `boundary` names a multipart body's
    /// boundary (called only when one is needed).
    public static func make(
        size: Int64, etag: EntityTag, lastModified: Date, contentType: String, conditions: Preconditions,
        range: String?, boundary: () -> String
    ) -> DeliveryPlan {
        let honorRange: Bool
        switch conditions.evaluate(etag: etag, lastModified: lastModified) {
        case .failed: return .preconditionFailed
        case .notModified: return .notModified
        case .proceed(let honor): honorRange = honor
        }
        switch honorRange ? ByteRange.resolve(header: range, size: size) : .full {
        case .unsatisfiable:
            return .rangeNotSatisfiable
        case .full:
            return .send(
                Body(
                    status: 200, contentType: contentType, contentRange: nil,
                    parts: size > 0 ? [.bytes(0...(size - 1))] : [], rangeText: nil))
        case .partial(let requested):
            let ranges = ByteRange.coalesce(requested)
            let text = ranges.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")
            if ranges.count == 1 {
                return .send(
                    Body(
                        status: 206, contentType: contentType,
                        contentRange: ByteRange.contentRange(ranges[0], size: size), parts: [.bytes(ranges[0])],
                        rangeText: text))
            }
            let boundary = boundary()
            return .send(
                Body(
                    status: 206, contentType: "multipart/byteranges; boundary=\(boundary)", contentRange: nil,
                    parts: multipart(ranges, size: size, contentType: contentType, boundary: boundary),
                    rangeText: text))
        }
    }

    /// The parts of a `multipart/byteranges` body (RFC 9110 section 14.6).
    static func multipart(
        _ ranges: [ClosedRange<Int64>], size: Int64, contentType: String, boundary: String
    ) -> [Part] {
        var parts: [Part] = []
        for (index, range) in ranges.enumerated() {
            let head =
                (index == 0 ? "" : "\r\n") + "--\(boundary)\r\nContent-Type: \(contentType)\r\n"
                + "Content-Range: \(ByteRange.contentRange(range, size: size))\r\n\r\n"
            parts.append(.literal(ByteBuffer(string: head)))
            parts.append(.bytes(range))
        }
        parts.append(.literal(ByteBuffer(string: "\r\n--\(boundary)--\r\n")))
        return parts
    }
}
