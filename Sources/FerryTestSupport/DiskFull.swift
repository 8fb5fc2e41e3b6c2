import _NIOFileSystem

/// A real "no space left on device": `/dev/full` answers every write with ENOSPC, so a full
/// disk can be had on demand without mounting a small file system.
public enum DiskFull {
    /// The error SwiftNIO's file system throws for a write to a full disk.
    public static func nioWriteError() async throws -> any Error {
        let handle = try await FileSystem.shared.openFile(
            forWritingAt: "/dev/full", options: .modifyFile(createIfNecessary: false))
        var caught: (any Error)?
        do {
            try await handle.write(contentsOf: [UInt8](repeating: 1, count: 4096), toAbsoluteOffset: 0)
        } catch {
            caught = error
        }
        try await handle.close()
        guard let caught else { throw DiskFullNotFull() }
        return caught
    }

    struct DiskFullNotFull: Error, CustomStringConvertible {
        var description: String { "/dev/full accepted a write" }
    }
}
