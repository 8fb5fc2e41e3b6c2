import Crypto
import FerryCore
import Foundation

/// Deterministic and random payloads and their digests.
public enum TestData {
    /// `count` pseudo-random bytes from a seeded generator (fast, reproducible).
    public static func bytes(_ count: Int, seed: UInt64 = 42) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var out = [UInt8](repeating: 0, count: count)
        // Eight bytes per step, written through a raw buffer: fast enough in debug builds for the
        // hundreds of MiB some tests move (little-endian, as the byte order of z below).
        out.withUnsafeMutableBytes { raw in
            var i = 0
            while i < count {
                // splitmix64
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                if i + 8 <= count {
                    raw.storeBytes(of: z.littleEndian, toByteOffset: i, as: UInt64.self)
                    i += 8
                } else {
                    var shift: UInt64 = 0
                    while i < count {
                        raw[i] = UInt8(truncatingIfNeeded: z >> shift)
                        shift += 8
                        i += 1
                    }
                }
            }
        }
        return out
    }

    /// Lowercase hex SHA-256.
    public static func sha256(_ bytes: some Sequence<UInt8>) -> String {
        if let array = bytes as? [UInt8] { return Hex.encode(SHA256.hash(data: array)) }
        return Hex.encode(SHA256.hash(data: Array(bytes)))
    }

    /// Lowercase hex SHA-256 of a file, read in chunks.
    public static func sha256(file path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile)
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return Hex.encode(hasher.finalize())
    }
}
