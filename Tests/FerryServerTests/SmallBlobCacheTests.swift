import FerryCore
import FerryStorageLocal
import FerryTestSupport
import Foundation
import NIOCore
import Synchronization
import Testing

@testable import FerryServer

/// The in-memory cache of small blobs: it serves what the store holds, stays within its budget,
/// and keeps nothing of a read that failed.
@Suite struct SmallBlobCacheTests {
    static func put(_ bytes: [UInt8], in store: any BlobStore) async throws -> String {
        let key = "\(Identifier.make())/\(Identifier.make())"
        let upload = try await store.beginUpload(key: key, sizeHint: Int64(bytes.count))
        try await upload.write(ByteBuffer(bytes: bytes))
        try await upload.commit()
        return key
    }

    @Test func servesTheStoredBytesWithinItsBudgetAndKeepsNothingOfAFailedRead() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await LocalBlobStore(configuration: .init(root: directory.path))
        let cache = SmallBlobCache(budget: 10_000)
        var keys: [(String, [UInt8])] = []
        for n in 0..<5 {
            let bytes = TestData.bytes(4_000, seed: UInt64(n))
            keys.append((try await Self.put(bytes, in: store), bytes))
        }
        for (key, bytes) in keys {
            let blob = try await cache.blob(key: key, size: Int64(bytes.count), store: store)
            #expect(Array(blob.readableBytesView) == bytes)
            #expect(cache.state.withLock { $0.bytes } <= 10_000)
        }
        #expect(cache.state.withLock { $0.blobs.count } == 2)
        // Kept means no store read: a kept blob is served after its file is gone from disk.
        let (lastKey, lastBytes) = keys[4]
        try await store.delete(key: lastKey)
        let kept = try await cache.blob(key: lastKey, size: Int64(lastBytes.count), store: store)
        #expect(Array(kept.readableBytesView) == lastBytes)

        // A missing blob and a blob shorter than its record fail, and nothing is kept of them.
        let missing = "\(Identifier.make())/\(Identifier.make())"
        await #expect(throws: FerryError.self) { try await cache.blob(key: missing, size: 100, store: store) }
        #expect(cache.state.withLock { $0.blobs[missing] } == nil)
        let short = try await Self.put(TestData.bytes(50, seed: 9), in: store)
        await #expect(throws: (any Error).self) { try await cache.blob(key: short, size: 100, store: store) }
        #expect(cache.state.withLock { $0.blobs[short] } == nil)
    }
}
