import FerryCore
import FerryStorageLocal
import FerryTestSupport
import Foundation
import NIOCore
import Testing

@Suite struct LocalBlobStoreTests {
    @Test(arguments: BlobStoreContract.names)
    func contract(_ name: String) async throws {
        let directory = try TemporaryDirectory("ferry-blobs")
        defer { directory.remove() }
        let store = try await LocalBlobStore(configuration: .init(root: directory.path))
        try await BlobStoreContract.checks[name]!(store)
    }

    @Test(arguments: ["../escape", "a/../../b", "/etc/passwd", "a//b", "", "name with space", "x/./y"])
    func keysThatCouldEscapeTheRootAreRefused(_ key: String) async throws {
        let directory = try TemporaryDirectory("ferry-blobs")
        defer { directory.remove() }
        let store = try await LocalBlobStore(configuration: .init(root: directory.path))
        await #expect(throws: FerryError.self) { _ = try await store.beginUpload(key: key, sizeHint: nil) }
        await #expect(throws: FerryError.self) { try await store.read(key: key, range: nil) { _ in } }
    }

    /// Small ranges are read with one pread, large ones streamed: a missing file is 404 on both.
    @Test(arguments: [0...9, 0...999_999] as [ClosedRange<Int64>])
    func missingBlobIsNotFoundOnEveryReadPath(_ range: ClosedRange<Int64>) async throws {
        let directory = try TemporaryDirectory("ferry-blobs")
        defer { directory.remove() }
        let store = try await LocalBlobStore(configuration: .init(root: directory.path))
        await #expect {
            try await store.read(key: "abcdefghij/missingkey", range: range) { _ in }
        } throws: { error in
            (error as? FerryError)?.code == .notFound
        }
    }

    @Test func abortedUploadLeavesNoFileOnDisk() async throws {
        let directory = try TemporaryDirectory("ferry-blobs")
        defer { directory.remove() }
        let store = try await LocalBlobStore(configuration: .init(root: directory.path))
        let upload = try await store.beginUpload(key: "abcdefghij/klmnopqrst", sizeHint: nil)
        try await upload.write(ByteBuffer(bytes: TestData.bytes(100_000)))
        await upload.abort()
        let leftovers = FileManager.default.enumerator(atPath: directory.path)?.allObjects as? [String] ?? []
        // Not even the new file's directory.
        #expect(leftovers.isEmpty, "\(leftovers)")

        // A file's directory holding its current blob stays when a replacement is aborted.
        try await BlobStoreTestWrite.put(store, "abcdefghij/current000")
        let replacement = try await store.beginUpload(key: "abcdefghij/next000000", sizeHint: nil)
        await replacement.abort()
        #expect(FileManager.default.fileExists(atPath: directory.path + "/abcdefghij/current000"))
    }

    /// A full disk is API.md's 507 that says there is no room, not an anonymous 500. The fault
    /// is real: `/dev/full` answers every write with ENOSPC.
    @Test func aFullDiskSaysSo() async throws {
        let fault = try await DiskFull.nioWriteError()
        let mapped = try #require(LocalBlobStore.writeError(fault) as? FerryError)
        #expect(mapped.code == .insufficientStorage)
        #expect(mapped.message.contains("no room"))
        // Anything else passes through unchanged.
        #expect(LocalBlobStore.writeError(CancellationError()) is CancellationError)
    }
}

enum BlobStoreTestWrite {
    static func put(_ store: any BlobStore, _ key: String) async throws {
        let upload = try await store.beginUpload(key: key, sizeHint: 1)
        try await upload.write(ByteBuffer(bytes: [1]))
        try await upload.commit()
    }
}
