import Crypto
import FerryCore
import NIOCore

/// The hashes of one upload as its bytes pass: the whole content's SHA-256 and CRC-32 (bundles'
/// zip headers) and the SHA-256 of each 8 MiB block (the manifest's), carried from one tus PATCH
/// to the next.
struct UploadHasher: @unchecked Sendable {
    // Unchecked for swift-crypto's `SHA256`, which is a plain value not marked Sendable on Linux:
    // a hasher is used by one request at a time (the one holding the upload's lease).

    /// The running whole-content hash; nil when this node took the upload over midway (another
    /// node hashed the start), then completion reads the content back once.
    var whole: SHA256?
    /// The running CRC-32; nil exactly when `whole` is.
    var crc: CRC32?
    var block = SHA256()
    var blockFill: Int64 = 0
    /// SHA-256 of each whole block so far.
    var blocks: [String]
    /// Bytes hashed so far (the upload's offset).
    var offset: Int64

    /// A hasher at the start of an upload.
    static var fresh: UploadHasher { UploadHasher(whole: SHA256(), crc: CRC32(), blocks: [], offset: 0) }

    mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes {
            whole?.update(bufferPointer: $0)
            crc?.update($0)
        }
        var rest = buffer
        while rest.readableBytes > 0 {
            let take = Int(min(Int64(rest.readableBytes), FileRecord.blockSize - blockFill))
            rest.readWithUnsafeReadableBytes { raw in
                block.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[..<take]))
                return take
            }
            blockFill += Int64(take)
            if blockFill == FileRecord.blockSize {
                blocks.append(Hex.encode(block.finalize()))
                block = SHA256()
                blockFill = 0
            }
        }
        offset += Int64(buffer.readableBytes)
    }

    /// Every block's hash, the last (shorter) one included: for the file record at completion.
    var allBlocks: [String] {
        blockFill > 0 ? blocks + [Hex.encode(block.finalize())] : blocks
    }
}

/// The running hashes of the uploads this node is writing, so that the next PATCH on this node
/// goes on without reading anything back. Another node (or this one after a restart) rebuilds
/// the block hash from the catalog and the current block's bytes (at most 8 MiB, see
/// `UploadsController.hasher`).
actor UploadHashes {
    private var hashers: [String: UploadHasher] = [:]

    /// The hasher of `id` if it stands at `offset` (taken out: one writer at a time).
    func take(_ id: String, at offset: Int64) -> UploadHasher? {
        guard let hasher = hashers.removeValue(forKey: id), hasher.offset == offset else { return nil }
        return hasher
    }

    /// Keeps a hasher for the next PATCH (bounded: an abandoned upload's hasher goes first).
    func put(_ id: String, _ hasher: UploadHasher) {
        if hashers.count >= 1000, let any = hashers.keys.first { hashers[any] = nil }
        hashers[id] = hasher
    }

    /// Forgets an upload (completed, deleted).
    func remove(_ id: String) { hashers[id] = nil }
}
