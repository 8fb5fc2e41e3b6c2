import FerryCore
import NIOCore
import Synchronization

/// Small blobs kept in memory, keyed by blob key. A key names one immutable version (a replaced
/// file gets a new key, a deleted one is refused by the catalog before its bytes are read), so a
/// kept blob never goes stale. Only blobs up to `maxBlob` bytes, `budget` bytes in all: past it,
/// entries are dropped (any, not the oldest: a blob dropped by mistake costs one store read).
/// A store read that fails or comes up short keeps nothing.
final class SmallBlobCache: Sendable {
    static let maxBlob: Int64 = Delivery.singleWriteLimit
    let budget: Int

    struct State {
        var blobs: [String: ByteBuffer] = [:]
        var bytes = 0
    }

    let state = Mutex(State())

    init(budget: Int = 32 * 1024 * 1024) {
        self.budget = budget
    }

    /// Whether a blob of `size` bytes is kept here.
    static func keeps(size: Int64) -> Bool { size > 0 && size <= maxBlob }

    /// The whole blob `key` of `size` bytes, read from `store` once.
    func blob(key: String, size: Int64, store: any BlobStore) async throws -> ByteBuffer {
        if let kept = state.withLock({ $0.blobs[key] }) { return kept }
        let kept = try await store.openRead(key: key, range: 0...(size - 1)).collect(length: size)
        state.withLock { state in
            guard state.blobs[key] == nil else { return }
            while state.bytes + kept.readableBytes > budget, let victim = state.blobs.first {
                state.bytes -= victim.value.readableBytes
                state.blobs.removeValue(forKey: victim.key)
            }
            state.blobs[key] = kept
            state.bytes += kept.readableBytes
        }
        return kept
    }

    /// A reader of bytes already in memory.
    final class BufferReader: BlobReader {
        let buffer: Mutex<ByteBuffer?>

        init(_ buffer: ByteBuffer) { self.buffer = Mutex(buffer) }

        func next() async throws -> [ByteBuffer]? {
            buffer.withLock { buffer in
                defer { buffer = nil }
                return buffer.map { [$0] }
            }
        }

        func close() async {}
    }
}
