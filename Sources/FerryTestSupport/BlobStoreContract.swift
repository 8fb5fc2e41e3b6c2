import FerryCore
import Foundation
import NIOCore
import Testing

/// The behaviour every `BlobStore` must have, run against each backend (local disk, S3 server).
public enum BlobStoreContract {
    /// A named check; each gets a fresh store.
    public typealias Check = @Sendable (any BlobStore) async throws -> Void

    /// Every check by name.
    public static let names: [String] = checks.keys.sorted()

    /// The checks.
    public static let checks: [String: Check] = [
        "committedBlobReadsBackWholeAndInRanges": committedBlobReadsBackWholeAndInRanges,
        "abortedBlobLeavesNothing": abortedBlobLeavesNothing,
        "uncommittedBlobIsInvisible": uncommittedBlobIsInvisible,
        "deleteIsIdempotent": deleteIsIdempotent,
        "readerPullsChunkByChunk": readerPullsChunkByChunk,
        "listingFindsCommittedBlobsWrittenBeforeTheCutoff": listingFindsCommittedBlobsWrittenBeforeTheCutoff,
        "discardingUnfinishedUploadsSparesNewOnesAndBlobs": discardingUnfinishedUploadsSparesNewOnesAndBlobs,
    ]

    static func key() -> String { "\(Identifier.make())/\(Identifier.make())" }

    static func write(_ store: any BlobStore, key: String, bytes: [UInt8], chunk: Int = 64 * 1024) async throws {
        let upload = try await store.beginUpload(key: key, sizeHint: Int64(bytes.count))
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunk, bytes.count)
            try await upload.write(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
        }
        try await upload.commit()
    }

    static func readAll(_ store: any BlobStore, key: String, range: ClosedRange<Int64>? = nil) async throws -> [UInt8] {
        var out: [UInt8] = []
        try await store.read(key: key, range: range) { out += Array($0.readableBytesView) }
        return out
    }

    /// Reads through `readBatches` (what proxied downloads use).
    static func readAllInBatches(
        _ store: any BlobStore, key: String, range: ClosedRange<Int64>? = nil
    ) async throws -> [UInt8] {
        var out: [UInt8] = []
        try await store.readBatches(key: key, range: range) { chunks in
            #expect(!chunks.isEmpty)
            for chunk in chunks { out += Array(chunk.readableBytesView) }
        }
        return out
    }

    static func committedBlobReadsBackWholeAndInRanges(_ store: any BlobStore) async throws {
        let bytes = TestData.bytes(1_000_003)
        let k = key()
        try await write(store, key: k, bytes: bytes)
        #expect(try await readAll(store, key: k) == bytes)
        #expect(try await readAllInBatches(store, key: k) == bytes)
        #expect(try await readAllInBatches(store, key: k, range: 1...999_999) == Array(bytes[1...999_999]))
        #expect(try await readAll(store, key: k, range: 0...0) == [bytes[0]])
        #expect(try await readAll(store, key: k, range: 999_000...1_000_002) == Array(bytes[999_000...]))
        #expect(try await readAll(store, key: k, range: 300_000...700_000) == Array(bytes[300_000...700_000]))
    }

    static func abortedBlobLeavesNothing(_ store: any BlobStore) async throws {
        let k = key()
        let upload = try await store.beginUpload(key: k, sizeHint: nil)
        try await upload.write(ByteBuffer(bytes: TestData.bytes(5000)))
        await upload.abort()
        await #expect(throws: (any Error).self) { _ = try await readAll(store, key: k) }
    }

    static func uncommittedBlobIsInvisible(_ store: any BlobStore) async throws {
        let k = key()
        let upload = try await store.beginUpload(key: k, sizeHint: nil)
        try await upload.write(ByteBuffer(bytes: TestData.bytes(5000)))
        await #expect(throws: (any Error).self) { _ = try await readAll(store, key: k) }
        try await upload.commit()
        #expect(try await readAll(store, key: k).count == 5000)
    }

    static func deleteIsIdempotent(_ store: any BlobStore) async throws {
        let k = key()
        try await write(store, key: k, bytes: TestData.bytes(10))
        try await store.delete(key: k)
        try await store.delete(key: k)
        await #expect(throws: (any Error).self) { _ = try await readAll(store, key: k) }
    }

    static func readerPullsChunkByChunk(_ store: any BlobStore) async throws {
        let k = key()
        try await write(store, key: k, bytes: TestData.bytes(4 * 1024 * 1024))
        var chunks = 0
        var largest = 0
        try await store.read(key: k, range: nil) { chunk in
            chunks += 1
            largest = max(largest, chunk.readableBytes)
        }
        // Memory per transfer is one chunk, never the whole blob.
        #expect(chunks > 1)
        #expect(largest <= 1024 * 1024)
    }

    static func listed(_ store: any BlobStore, before cutoff: Date) async throws -> [String] {
        var keys: [String] = []
        try await store.listBlobs(writtenBefore: cutoff) { page in
            #expect(!page.isEmpty)
            keys += page
        }
        return keys
    }

    /// What the janitor's reconciliation relies on: committed blobs of Ferry's key shape, once
    /// each; never an upload in progress, a blob newer than the cutoff, or another key shape.
    static func listingFindsCommittedBlobsWrittenBeforeTheCutoff(_ store: any BlobStore) async throws {
        let file = Identifier.make()
        let committed = ["\(file)/\(Identifier.make())", "\(file)/\(Identifier.make())", key()]
        for k in committed { try await write(store, key: k, bytes: TestData.bytes(100)) }
        let foreign = Identifier.make()  // one segment: not a key Ferry makes
        try await write(store, key: foreign, bytes: TestData.bytes(10))
        let inProgress = try await store.beginUpload(key: key(), sizeHint: nil)
        try await inProgress.write(ByteBuffer(bytes: TestData.bytes(100)))

        // Clocks: S3 dates objects by its own, so the cutoffs keep a minute clear of now.
        let all = try await listed(store, before: Date().addingTimeInterval(60))
        #expect(all.sorted() == committed.sorted())
        #expect(try await listed(store, before: Date().addingTimeInterval(-3600)).isEmpty)

        await inProgress.abort()
        for k in committed { try await store.delete(key: k) }
        try await store.delete(key: foreign)
        #expect(try await listed(store, before: Date().addingTimeInterval(60)).isEmpty)
    }

    /// Discarding uploads begun before a cutoff in the past touches neither an upload going on
    /// now nor a committed blob.
    static func discardingUnfinishedUploadsSparesNewOnesAndBlobs(_ store: any BlobStore) async throws {
        let blob = key()
        try await write(store, key: blob, bytes: TestData.bytes(100))
        let k = key()
        let upload = try await store.beginUpload(key: k, sizeHint: nil)
        try await upload.write(ByteBuffer(bytes: TestData.bytes(6 * 1024 * 1024)))
        #expect(try await store.discardUnfinishedUploads(begunBefore: Date().addingTimeInterval(-3600)) == 0)
        try await upload.commit()
        #expect(try await readAll(store, key: k).count == 6 * 1024 * 1024)
        #expect(try await readAll(store, key: blob).count == 100)
        try await store.delete(key: k)
        try await store.delete(key: blob)
    }
}
