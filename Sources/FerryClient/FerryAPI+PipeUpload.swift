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
    /// Uploads what a pipe delivers (standard input, a FIFO): `descriptor` is read through
    /// SwiftNIO until its end and sent as it arrives, of unknown length. No digest can be sent
    /// ahead, so the SHA-256 is computed on the way and compared with the server's: a file whose
    /// bytes differ is deleted again and the upload fails with `.checksum`. Takes ownership of
    /// `descriptor` (it is closed at the end).
    public func upload(
        pipe descriptor: CInt, name: String, contentType: String, progress: (@Sendable (Int64) -> Void)? = nil
    ) async throws -> RemoteFile {
        let channel = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .takingOwnershipOfDescriptor(input: descriptor) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, Never>(wrappingChannelSynchronously: channel)
                }
            }
        let seen = Mutex((hasher: SHA256(), size: Int64(0)))
        let file = try await channel.executeThenClose { inbound in
            let body = inbound.map { chunk -> ByteBuffer in
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
            return try await sendUpload(request)
        }
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
}
