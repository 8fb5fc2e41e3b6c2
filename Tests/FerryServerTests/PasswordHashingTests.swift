import Dispatch
import FerryCore
import FerryStorageLocal
import FerryTestSupport
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import FerryServer

/// bcrypt runs on threads of its own: password work that takes every one of them never holds up
/// the file system's reads and writes (NIOFileSystem's blocking pool), and its hashes verify.
@Suite struct PasswordHashingTests {
    @Test func passwordWorkOnEveryPasswordThreadDoesNotHoldUpTheDisk() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await LocalBlobStore(configuration: .init(root: directory.path))
        let bytes = TestData.bytes(1 << 20, seed: 7)
        let key = try await SmallBlobCacheTests.put(bytes, in: store)

        // Jobs that hold every password thread (and one more queued) until released: on a
        // shared pool, the disk read below would wait behind them for ever.
        final class Gate: Sendable {
            let started = Atomic<Int>(0)
            let release = DispatchSemaphore(value: 0)
        }
        let gate = Gate()
        let jobs = PasswordHashing.threads + 1
        let held = Task {
            try await withThrowingDiscardingTaskGroup { group in
                for _ in 0..<jobs {
                    group.addTask {
                        try await PasswordHashing.pool.runIfActive {
                            gate.started.add(1, ordering: .relaxed)
                            gate.release.wait()
                        }
                    }
                }
            }
        }
        defer { for _ in 0..<jobs { gate.release.signal() } }
        try await Eventually.check(timeout: 60) { gate.started.load(ordering: .relaxed) == PasswordHashing.threads }

        let read = Task {
            let reader = try await store.openRead(key: key, range: 0...Int64(bytes.count - 1))
            defer { Task { await reader.close() } }
            return try await reader.collect(length: Int64(bytes.count))
        }
        let done = Atomic<Bool>(false)
        let watcher = Task {
            _ = try? await read.value
            done.store(true, ordering: .relaxed)
        }
        try await Eventually.check(timeout: 60) { done.load(ordering: .relaxed) }
        let readWhileHeld = done.load(ordering: .relaxed)
        let stillHeld = gate.started.load(ordering: .relaxed) == PasswordHashing.threads
        for _ in 0..<jobs { gate.release.signal() }
        #expect(readWhileHeld && stillHeld, "the disk read waited for password work")
        #expect(Array(try await read.value.readableBytesView) == bytes)
        try await held.value
        await watcher.value

        let hash = try await PasswordHashing.hash("correct horse", cost: 4)
        #expect(try await PasswordHashing.verify("correct horse", hash: hash))
        #expect(try await !PasswordHashing.verify("correct horsf", hash: hash))
    }
}
