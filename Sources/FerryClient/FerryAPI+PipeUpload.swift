import AsyncHTTPClient
import Crypto
import FerryCore
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension FerryAPI {
    /// Uploads what a pipe delivers (standard input, a FIFO, a socket, a device): `descriptor` is
    /// read until its end and sent as it arrives, of unknown length. No digest can be sent ahead,
    /// so the SHA-256 is computed on the way and compared with the server's: a file whose bytes
    /// differ is deleted again and the upload fails with `.checksum`. Takes ownership of
    /// `descriptor` (it is closed at the end).
    public func upload(
        pipe descriptor: CInt, name: String, contentType: String, progress: (@Sendable (Int64) -> Void)? = nil
    ) async throws -> RemoteFile {
        // Only pipes, FIFOs and sockets refuse to seek (ESPIPE), and so do terminals. Asked this way
        // rather than with `fstat`: which module defines `struct stat` varies between clean builds
        // (Glibc or CDispatch), and MemberImportVisibility then refused `st_mode` in CI.
        let isStream = lseek(descriptor, 0, SEEK_CUR) < 0 && errno == ESPIPE && isatty(descriptor) == 0
        guard isStream else {
            // epoll takes only pipes and sockets: NIO traps on anything else (`ferry put /dev/null`
            // crashed). A device, a file or a terminal on standard input is read on NIO's
            // blocking-I/O thread pool instead (NIO would also leave a terminal non-blocking).
            defer { close(descriptor) }
            let chunks = AsyncThrowingStream<ByteBuffer, any Error> {
                try await NIOThreadPool.singleton.runIfActive { try Self.readChunk(descriptor) }
            }
            return try await upload(chunks, name: name, contentType: contentType, progress: progress)
        }
        let channel = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .takingOwnershipOfDescriptor(input: descriptor) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, Never>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound in
            try await upload(inbound, name: name, contentType: contentType, progress: progress)
        }
    }

    /// Sends `chunks` as one upload of unknown length, hashing them on the way, and checks the
    /// stored file against what was sent.
    private func upload<Chunks: AsyncSequence & Sendable>(
        _ chunks: Chunks, name: String, contentType: String, progress: (@Sendable (Int64) -> Void)?
    ) async throws -> RemoteFile where Chunks.Element == ByteBuffer {
        let seen = Mutex((hasher: SHA256(), size: Int64(0)))
        let body = chunks.map { chunk -> ByteBuffer in
            let size = seen.withLock { seen in
                chunk.withUnsafeReadableBytes { seen.hasher.update(bufferPointer: $0) }
                seen.size += Int64(chunk.readableBytes)
                return seen.size
            }
            progress?(size)
            return chunk
        }
        var request = uploadRequest(name: name, contentType: contentType)
        request.body = .stream(body, length: .unknown)
        let file = try await sendUpload(request)
        let (digest, size) = seen.withLock { (Hex.encode($0.hasher.finalize()), $0.size) }
        guard file.sha256 == digest, file.size == size else {
            try? await delete(id: file.id)
            throw FerryClientError(
                .checksum,
                "The server stored \(file.size) bytes with SHA-256 \(file.sha256), not the \(size) bytes with SHA-256 \(digest) that were sent; the file was deleted again."
            )
        }
        return file
    }

    /// The next up to 64 KiB of `descriptor` by a blocking `read`; nil at its end.
    static func readChunk(_ descriptor: CInt) throws -> ByteBuffer? {
        var buffer = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        let count = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 64 * 1024) { raw in
            var count: Int
            repeat { count = read(descriptor, raw.baseAddress, raw.count) } while count < 0 && errno == EINTR
            if count < 0 {
                throw FerryClientError(.usage, "Cannot read the input: \(String(cString: strerror(errno))).")
            }
            return count
        }
        return count == 0 ? nil : buffer
    }
}
