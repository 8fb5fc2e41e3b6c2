import FerryCore
import NIOCore
import _NIOFileSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// MARK: Resumable blobs

extension LocalBlobStore {
    /// Where a resumable blob is staged until it is finished: `.resumable/` under the root, never a
    /// key's directory (the janitor's reconciliation lists only those).
    func stagingPath(for key: String) throws -> FilePath {
        _ = try path(for: key)  // the same rules for the key
        return FilePath(configuration.root).appending(".resumable").appending(
            key.split(separator: "/").joined(separator: "."))
    }

    public func beginResumable(key: String, length: Int64) async throws -> String {
        let staging = try stagingPath(for: key)
        try requireRoom(for: length)
        do {
            try await fileSystem.createDirectory(
                at: staging.removingLastComponent(), withIntermediateDirectories: true,
                permissions: .ownerReadWriteExecute)
        } catch let error as FileSystemError where error.code == .fileAlreadyExists {}
        do {
            let handle = try await fileSystem.openFile(
                forWritingAt: staging, options: .newFile(replaceExisting: true, permissions: .ownerReadWrite))
            try await handle.close(makeChangesVisible: true)
        } catch {
            throw Self.writeError(error)
        }
        return ""
    }

    public func appendResumable(key: String, state: String, offset: Int64) async throws -> any ResumableAppend {
        let staging = try stagingPath(for: key)
        let handle: WriteFileHandle
        do {
            handle = try await fileSystem.openFile(
                forWritingAt: staging, options: .modifyFile(createIfNecessary: false))
            // Bytes past the acknowledged offset belong to a refused chunk: they go.
            try await handle.resize(to: .bytes(offset))
        } catch let error as FileSystemError where error.code == .notFound {
            throw FerryError(.notFound, "This upload's data is gone; start a new upload.", underlying: error)
        } catch {
            throw Self.writeError(error)
        }
        return LocalResumableAppend(handle: handle, offset: offset)
    }

    public func resumableBytes(key: String, state: String, range: ClosedRange<Int64>) async throws -> ByteBuffer {
        try Self.readSmall(path: try stagingPath(for: key).string, range: range)
    }

    public func finishResumable(key: String, state: String, length: Int64) async throws {
        let staging = try stagingPath(for: key)
        let target = try path(for: key)
        do {
            try await fileSystem.createDirectory(
                at: target.removingLastComponent(), withIntermediateDirectories: true,
                permissions: .ownerReadWriteExecute)
        } catch let error as FileSystemError where error.code == .fileAlreadyExists {}
        guard rename(staging.string, target.string) == 0 else {
            throw FerryError(
                .unavailable, "The storage directory could not be written.",
                underlying: POSIXFailure(call: "rename", code: errno))
        }
    }

    public func discardResumable(key: String, state: String) async {
        guard let staging = try? stagingPath(for: key) else { return }
        unlink(staging.string)
    }
}

/// One request's append to a staged file: writes at the offset, fsync at the end, so that what
/// the catalog then acknowledges survives a crash of the machine.
actor LocalResumableAppend: ResumableAppend {
    private var handle: WriteFileHandle?
    private let start: Int64
    private var written: Int64 = 0

    init(handle: WriteFileHandle, offset: Int64) {
        self.handle = handle
        start = offset
    }

    /// An append dropped without `finish()` still closes its file; SwiftNIO traps otherwise.
    deinit { _ = try? handle?.detachUnsafeFileDescriptor().close() }

    func write(_ buffer: ByteBuffer) async throws {
        guard let handle else { throw FerryError(.internalError, "The append is finished.") }
        do {
            try await handle.write(contentsOf: buffer.readableBytesView, toAbsoluteOffset: start + written)
        } catch {
            throw LocalBlobStore.writeError(error)
        }
        written += Int64(buffer.readableBytes)
    }

    func finish() async throws -> (stored: Int64, state: String) {
        guard let handle else { return (written, "") }
        self.handle = nil
        do {
            try await uncancelled {
                try await handle.synchronize()
                try await handle.close(makeChangesVisible: true)
            }
        } catch {
            throw LocalBlobStore.writeError(error)
        }
        return (written, "")
    }
}
