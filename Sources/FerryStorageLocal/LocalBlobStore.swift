import FerryCore
import NIOConcurrencyHelpers
import NIOCore
import _NIOFileSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Blobs as files on local disk under one root directory.
///
/// A blob is written into an unnamed temporary file (`O_TMPFILE` where the file system has it, a
/// hidden temporary name otherwise) and linked under its key only when committed, so a crash or a
/// client that disconnects mid-upload leaves nothing visible behind.
public struct LocalBlobStore: BlobStore {
    /// Where and how blobs are kept.
    public struct Configuration: Sendable {
        /// The directory holding the blobs.
        public var root: String
        /// Bytes read from disk per chunk when streaming a download.
        public var readChunkSize: Int
        /// Ranges up to this many bytes are read with one `pread` on the calling thread instead of
        /// NIOFileSystem's thread pool (see `readSmall`).
        public var inlineReadLimit: Int = 64 * 1024

        /// Creates a configuration; `readChunkSize` defaults to 256 KiB.
        public init(root: String, readChunkSize: Int = 256 * 1024) {
            self.root = root
            self.readChunkSize = readChunkSize
        }
    }

    /// The configuration.
    public let configuration: Configuration
    let fileSystem: FileSystem

    /// Creates the store, creating the root directory (mode 0700) if needed.
    public init(configuration: Configuration) async throws {
        self.configuration = configuration
        self.fileSystem = .shared
        do {
            try await fileSystem.createDirectory(
                at: FilePath(configuration.root), withIntermediateDirectories: true, permissions: .ownerReadWriteExecute
            )
        } catch let error as FileSystemError where error.code == .fileAlreadyExists {
            // Already there.
        }
    }

    /// The path of a key. Keys are `segment(/segment)*` of URL-safe characters, so a key can never
    /// climb out of the root (no `.`, `..` or absolute paths).
    func path(for key: String) throws -> FilePath {
        FilePath(try pathText(for: key))
    }

    /// `path(for:)` as text, for the small-read path that only hands it to `open(2)`: a checked key
    /// is ids joined by `/`, so appending it to the root is the same path without building one.
    func pathText(for key: String) throws -> String {
        let segments = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !segments.isEmpty, segments.allSatisfy({ Identifier.isWellFormed($0) }) else {
            throw FerryError(.internalError, "Storage key rejected.", underlying: InvalidKey(key: key))
        }
        return configuration.root.hasSuffix("/") ? configuration.root + key : configuration.root + "/" + key
    }

    public func ping() async throws {
        guard (try await fileSystem.info(forFileAt: FilePath(configuration.root))) != nil else {
            throw FerryError.unavailable("storage directory")
        }
    }

    /// Traced as a child span `store beginUpload` of the request.
    public func beginUpload(key: String, sizeHint: Int64?) async throws -> any BlobUpload {
        try await Spans.store("beginUpload", system: "local") { _ in
            try await beginUploadUnspanned(key: key, sizeHint: sizeHint)
        }
    }

    private func beginUploadUnspanned(key: String, sizeHint: Int64?) async throws -> any BlobUpload {
        let path = try path(for: key)
        try requireRoom(for: sizeHint)
        if let parent = Optional(path.removingLastComponent()), parent != FilePath(configuration.root) {
            do {
                try await fileSystem.createDirectory(
                    at: parent, withIntermediateDirectories: true, permissions: .ownerReadWriteExecute)
            } catch let error as FileSystemError where error.code == .fileAlreadyExists {}
        }
        let handle: WriteFileHandle
        do {
            handle = try await fileSystem.openFile(
                forWritingAt: path,
                options: .newFile(replaceExisting: false, permissions: .ownerReadWrite))
        } catch {
            throw Self.writeError(error)
        }
        return LocalBlobUpload(
            handle: handle, directory: path.removingLastComponent(), root: FilePath(configuration.root))
    }

    /// Traced as a child span `store openRead` of the request.
    public func openRead(key: String, range: ClosedRange<Int64>?) async throws -> any BlobReader {
        try await Spans.store("openRead", system: "local") { _ in try await openReadUnspanned(key: key, range: range) }
    }

    private func openReadUnspanned(key: String, range: ClosedRange<Int64>?) async throws -> any BlobReader {
        if let range, range.upperBound - range.lowerBound < Int64(configuration.inlineReadLimit) {
            return LocalBlobReader(whole: try Self.readSmall(path: try pathText(for: key), range: range))
        }
        let path = try path(for: key)
        let handle: ReadFileHandle
        do {
            handle = try await fileSystem.openFile(forReadingAt: path, options: OpenOptions.Read())
        } catch let error as FileSystemError where error.code == .notFound {
            throw Self.missingBlob(underlying: error)
        } catch {
            throw FerryError(.unavailable, "The storage directory could not be read.", underlying: error)
        }
        let end: Int64
        do {
            if let range { end = range.upperBound + 1 } else { end = try await handle.info().size }
        } catch {
            _ = try? await uncancelled { try await handle.close() }
            throw FerryError(.unavailable, "The storage directory could not be read.", underlying: error)
        }
        return LocalBlobReader(
            handle: handle, offset: range?.lowerBound ?? 0, end: end, chunkSize: configuration.readChunkSize)
    }

    /// Reads a small range with open, one `pread` and close, synchronously. For a small file
    /// these three system calls take microseconds (the page cache answers), while the thread-pool
    /// route costs a hop to a pool thread and back for each of open, read and close: in profiles
    /// of 4 KiB downloads those hops cost more than everything else in the request. Large ranges
    /// still stream through NIOFileSystem, so a slow disk never holds an event loop or a
    /// cooperative thread for long. (NIOFileSystem has no synchronous API, hence plain POSIX.)
    static func readSmall(path: String, range: ClosedRange<Int64>) throws -> ByteBuffer {
        let length = Int(range.upperBound - range.lowerBound + 1)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw Self.missingBlob(underlying: POSIXFailure(call: "open", code: code)) }
            throw FerryError(
                .unavailable, "The storage directory could not be read.",
                underlying: POSIXFailure(call: "open", code: code))
        }
        defer { close(fd) }
        var buffer = ByteBufferAllocator().buffer(capacity: length)
        var done = 0
        while done < length {
            var count = 0
            var code: Int32 = 0
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length - done) { target in
                count = pread(fd, target.baseAddress, length - done, off_t(range.lowerBound) + off_t(done))
                code = count < 0 ? errno : 0
                return max(count, 0)
            }
            if count < 0 {
                if code == EINTR { continue }
                throw FerryError(
                    .unavailable, "The storage directory could not be read.",
                    underlying: POSIXFailure(call: "pread", code: code))
            }
            guard count > 0 else { throw FerryError(.internalError, "The stored file is shorter than its record.") }
            done += count
        }
        return buffer
    }

    /// A key whose file is not on disk (both read paths answer the same).
    static func missingBlob(underlying: any Error) -> FerryError {
        FerryError(.notFound, "The file's bytes are missing from storage.", underlying: underlying)
    }

    /// A failed system call, for logs.
    struct POSIXFailure: Error, CustomStringConvertible {
        var call: String
        var code: Int32
        var description: String { "\(call): \(String(cString: strerror(code)))" }
    }

    /// Traced as a child span `store delete` of the request.
    public func delete(key: String) async throws {
        try await Spans.store("delete", system: "local") { _ in try await deleteUnspanned(key: key) }
    }

    private func deleteUnspanned(key: String) async throws {
        let path = try path(for: key)
        _ = try await fileSystem.removeItem(at: path, strategy: .platformDefault, recursively: false)
        // Remove the per-file directory once it is empty; a non-empty one is left alone.
        let parent = path.removingLastComponent()
        if parent != FilePath(configuration.root) {
            _ = try? await fileSystem.removeItem(at: parent, strategy: .platformDefault, recursively: false)
        }
    }

    public func signedURL(for key: String, request: SignedURLRequest) async throws -> SignedURL? { nil }

    /// Local disk cannot sign URLs: every download is served by Ferry itself.
    public var canSignURLs: Bool { false }

    /// Walks `<root>/<file id>/<blob id>` (two levels, nothing else), in pages of up to 500 keys.
    public func listBlobs(writtenBefore cutoff: Date, page: ([String]) async throws -> Void) async throws {
        var keys: [String] = []
        for directory in try await entries(of: FilePath(configuration.root), type: .directory)
        where Identifier.isWellFormed(directory) {
            for name in try await entries(of: FilePath(configuration.root).appending(directory), type: .regular)
            where Identifier.isBlobKey("\(directory)/\(name)") {
                let key = "\(directory)/\(name)"
                guard try await modified(try path(for: key), before: cutoff) == true else { continue }
                keys.append(key)
                if keys.count == 500 {
                    try await page(keys)
                    keys.removeAll(keepingCapacity: true)
                }
            }
        }
        if !keys.isEmpty { try await page(keys) }
    }

    /// Removes SwiftNIO's hidden `.tmp-*` files older than `cutoff`: where the file system has no
    /// `O_TMPFILE`, an upload writes one beside its key and a process that dies leaves it there.
    public func discardUnfinishedUploads(begunBefore cutoff: Date) async throws -> Int {
        var removed = 0
        for directory in try await entries(of: FilePath(configuration.root), type: .directory)
        where Identifier.isWellFormed(directory) {
            let parent = FilePath(configuration.root).appending(directory)
            for name in try await entries(of: parent, type: .regular) where name.hasPrefix(".tmp-") {
                let path = parent.appending(name)
                guard try await modified(path, before: cutoff) == true else { continue }
                removed += try await fileSystem.removeItem(at: path, strategy: .platformDefault, recursively: false)
            }
            // The directory of a file whose only upload died goes too, when it is empty and old
            // (a new upload creates its directory just before its file).
            if try await modified(parent, before: cutoff) == true {
                _ = try? await fileSystem.removeItem(at: parent, strategy: .platformDefault, recursively: false)
            }
        }
        return removed
    }

    /// Names of the entries of one type in a directory (none when it is gone).
    func entries(of directory: FilePath, type: FileType) async throws -> [String] {
        do {
            return try await fileSystem.withDirectoryHandle(atPath: directory) { handle in
                var names: [String] = []
                for try await batch in handle.listContents().batched() {
                    names += batch.filter { $0.type == type }.map { $0.name.string }
                }
                return names
            }
        } catch let error as FileSystemError where error.code == .notFound {
            return []
        }
    }

    /// Whether the file at `path` was last written before `cutoff`; nil when it is gone.
    func modified(_ path: FilePath, before cutoff: Date) async throws -> Bool? {
        guard let info = try await fileSystem.info(forFileAt: path, infoAboutSymbolicLink: true) else { return nil }
        let time = info.lastDataModificationTime
        return Double(time.seconds) + Double(time.nanoseconds) / 1e9 < cutoff.timeIntervalSince1970
    }

    struct InvalidKey: Error {
        var key: String
    }

    /// A write the file system refused for lack of space (`ENOSPC`) or over a quota (`EDQUOT`)
    /// says so to the client, as API.md's 507 `insufficient_storage` (nothing was stored; it can
    /// work once space is freed), instead of an anonymous 500. Other errors pass through.
    public static func writeError(_ error: any Error) -> any Error {
        guard let failure = error as? FileSystemError,
            let call = failure.cause as? FileSystemError.SystemCallError,
            call.errno == .noSpace || call.errno == .diskQuotaExceeded
        else { return error }
        return noRoom(underlying: error)
    }

    static func noRoom(underlying: (any Error)? = nil) -> FerryError {
        FerryError(
            .insufficientStorage,
            "The server's storage has no room for this upload; nothing was stored. Downloads keep working; try again once the administrator has freed space.",
            underlying: underlying)
    }

    /// Refuses an upload of `size` bytes at once when the file system under the root has less
    /// room than that (what an unprivileged writer may use), before a byte is written.
    func requireRoom(for size: Int64?) throws {
        guard let size, size > 0 else { return }
        var stats = statvfs()
        guard statvfs(configuration.root, &stats) == 0 else { return }
        let available = Int64(stats.f_bavail) * Int64(stats.f_frsize)
        if available < size { throw Self.noRoom() }
    }
}

/// An upload into an unnamed file that is linked into place on commit.
final class LocalBlobUpload: BlobUpload {
    // An actor would serialise these calls too, but the upload path already awaits each write in
    // turn; the lock only guards against misuse (write after commit).
    let state: NIOLockedValueBox<State>

    enum State {
        case open(WriteFileHandle, offset: Int64)
        case closed
    }

    /// The key's directory, removed on abort when the upload leaves it empty (a new file's).
    let directory: FilePath
    let root: FilePath

    init(handle: WriteFileHandle, directory: FilePath, root: FilePath) {
        self.state = NIOLockedValueBox(.open(handle, offset: 0))
        self.directory = directory
        self.root = root
    }

    /// An upload dropped without `commit()` or `abort()` still closes its file (unnamed, so it
    /// vanishes); SwiftNIO traps on a handle released open.
    deinit {
        if case .open(let handle, _) = state.withLockedValue({ $0 }) {
            _ = try? handle.detachUnsafeFileDescriptor().close()
        }
    }

    func write(_ buffer: ByteBuffer) async throws {
        guard case .open(let handle, let offset) = state.withLockedValue({ $0 }) else {
            throw FerryError(.internalError, "Upload already finished.")
        }
        do {
            try await handle.write(contentsOf: buffer.readableBytesView, toAbsoluteOffset: offset)
        } catch {
            throw LocalBlobStore.writeError(error)
        }
        state.withLockedValue { $0 = .open(handle, offset: offset + Int64(buffer.readableBytes)) }
    }

    func commit() async throws {
        guard let handle = take() else { throw FerryError(.internalError, "Upload already finished.") }
        do {
            try await handle.synchronize()
            try await handle.close(makeChangesVisible: true)
        } catch {
            _ = try? await uncancelled { try await handle.close(makeChangesVisible: false) }
            await removeDirectoryIfEmpty()
            throw LocalBlobStore.writeError(error)
        }
    }

    func abort() async {
        guard let handle = take() else { return }
        _ = try? await uncancelled { try await handle.close(makeChangesVisible: false) }
        await removeDirectoryIfEmpty()
    }

    /// A directory with another blob in it (the current version of a file being replaced) stays.
    private func removeDirectoryIfEmpty() async {
        guard directory != root else { return }
        _ = try? await uncancelled {
            try await FileSystem.shared.removeItem(at: self.directory, strategy: .platformDefault, recursively: false)
        }
    }

    private func take() -> WriteFileHandle? {
        state.withLockedValue { state in
            guard case .open(let handle, _) = state else { return nil }
            state = .closed
            return handle
        }
    }
}

/// A read of one blob on disk, one chunk in flight, read only after the consumer took the
/// previous one: memory per transfer is one chunk, and a client that stops reading stops the disk
/// reads. (FileChunks would read ahead up to eight chunks per transfer.)
actor LocalBlobReader: BlobReader {
    private var handle: ReadFileHandle?
    private var pending: ByteBuffer?
    private var offset: Int64
    private let end: Int64
    private let chunkSize: Int

    /// A small range, already read.
    init(whole: ByteBuffer) {
        pending = whole
        offset = 0
        end = 0
        chunkSize = 0
    }

    /// A range streamed from an open file.
    init(handle: ReadFileHandle, offset: Int64, end: Int64, chunkSize: Int) {
        self.handle = handle
        self.offset = offset
        self.end = end
        self.chunkSize = chunkSize
    }

    /// A reader dropped without `close()` still closes its file: SwiftNIO traps on a handle
    /// released open.
    deinit { _ = try? handle?.detachUnsafeFileDescriptor().close() }

    func next() async throws -> [ByteBuffer]? {
        if let pending {
            self.pending = nil
            return [pending]
        }
        guard let handle, offset < end else {
            await close()
            return nil
        }
        let length = Int(min(Int64(chunkSize), end - offset))
        let chunk = try await handle.readChunk(fromAbsoluteOffset: offset, length: .bytes(Int64(length)))
        guard chunk.readableBytes > 0 else {
            throw FerryError(.internalError, "The stored file is shorter than its record.")
        }
        offset += Int64(chunk.readableBytes)
        return [chunk]
    }

    func close() async {
        guard let handle else { return }
        self.handle = nil
        _ = try? await uncancelled { try await handle.close() }
    }
}
