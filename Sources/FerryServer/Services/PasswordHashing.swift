import Foundation
import HummingbirdBcrypt
import NIOPosix

/// bcrypt (sign-in, link passwords, new passwords) on threads of its own.
///
/// On SwiftNIO's shared blocking pool, hashes queued ahead of the file system's reads and writes
/// (NIOFileSystem runs them on that same pool): a burst of sign-ins or link-password attempts,
/// each a deliberate ~0.1-0.3 s of CPU, stalled every local-disk download and upload behind it
/// (seen as a minute-long stall in the test run, where hundreds of servers hash at once). Here
/// they wait only for each other, on half the cores (at least one), so password work can never
/// take the whole machine either.
enum PasswordHashing {
    /// Half the cores, at least one.
    static let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)

    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        return pool  // lives as long as the process, like NIO's own singletons
    }()

    /// A new hash of `password` at `cost`.
    static func hash(_ password: String, cost: UInt8) async throws -> String {
        try await pool.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash` (evaluated on the pool: it may be a lazily made hash).
    static func verify(_ password: String, hash: @escaping @Sendable @autoclosure () -> String) async throws -> Bool {
        try await pool.runIfActive { Bcrypt.verify(password, hash: hash()) }
    }
}
