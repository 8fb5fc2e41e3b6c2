import CZlib

/// CRC-32 (ISO-HDLC, the zip format's) through zlib's `crc32`/`crc32_combine`: no listed Swift
/// package computes it, and zlib's is table- or hardware-accelerated, never a byte loop.
public struct CRC32: Sendable, Hashable {
    /// The CRC of what was fed so far.
    public private(set) var value: UInt32 = 0

    /// A CRC of nothing.
    public init() {}

    /// Feeds bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        // zlib takes a 32-bit length: feed in slices.
        while !rest.isEmpty {
            let take = min(rest.count, 1 << 30)
            value = UInt32(
                crc32(uLong(value), rest.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(take)))
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
        }
    }

    /// Feeds bytes.
    public mutating func update(_ bytes: some Collection<UInt8>) {
        if let done = bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) {
            return done
        }
        let array = Array(bytes)
        array.withUnsafeBytes { update($0) }
    }

    /// The CRC of `a` followed by `b`, from their CRCs and `b`'s length (zlib's `crc32_combine`).
    public static func combine(_ a: UInt32, _ b: UInt32, lengthOfB: Int64) -> UInt32 {
        UInt32(crc32_combine(uLong(a), uLong(b), off_t(lengthOfB)))
    }

    /// The CRC of `bytes`.
    public static func of(_ bytes: some Collection<UInt8>) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }
}
