import FerryCore
import FerryStorageLocal
import FerryTestSupport
import Foundation
import HummingbirdBcrypt
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import FerryServer

/// bcrypt runs on threads of its own: password work queued at once never holds up the file
/// system's reads and writes (NIOFileSystem's blocking pool), and its hashes verify.
@Suite struct PasswordHashingTests {
    @Test func aBurstOfHashesDoesNotHoldUpTheDisk() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await LocalBlobStore(configuration: .init(root: directory.path))
        let bytes = TestData.bytes(1 << 20, seed: 7)
        let key = try await SmallBlobCacheTests.put(bytes, in: store)

        // More hashes than the machine has cores, each seconds long at this cost in a debug build.
        final class Counts: Sendable {
            let started = Atomic<Int>(0)
            let finished = Atomic<Int>(0)
        }
        let counts = Counts()
        let count = ProcessInfo.processInfo.activeProcessorCount + 2
        let hashes = Task {
            try await withThrowingDiscardingTaskGroup { group in
                for n in 0..<count {
                    group.addTask {
                        _ = try await PasswordHashing.pool.runIfActive {
                            counts.started.add(1, ordering: .relaxed)
                            return Bcrypt.hash("password-\(n)", cost: 12)
                        }
                        counts.finished.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        // Password threads are hashing; the disk still answers at once: no hash has finished.
        try await Eventually.check(timeout: 30) { counts.started.load(ordering: .relaxed) >= 1 }
        let reader = try await store.openRead(key: key, range: 0...Int64(bytes.count - 1))
        let read = try await reader.collect(length: Int64(bytes.count))
        await reader.close()
        #expect(Array(read.readableBytesView) == bytes)
        #expect(counts.finished.load(ordering: .relaxed) == 0, "the read waited for password hashes")
        try await hashes.value
        #expect(counts.finished.load(ordering: .relaxed) == count)

        let hash = try await PasswordHashing.hash("correct horse", cost: 4)
        #expect(try await PasswordHashing.verify("correct horse", hash: hash))
        #expect(try await !PasswordHashing.verify("correct horsf", hash: hash))
    }
}
