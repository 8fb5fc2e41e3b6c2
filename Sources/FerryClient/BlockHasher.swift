import Crypto
import FerryCore
import NIOCore

/// SHA-256 of each block of a part, fed as the part's bytes stream in.
struct BlockHasher {
    let blockSize: Int64
    let size: Int64
    var block: Int
    var filled: Int64 = 0
    var hasher = SHA256()
    var digests: [Int: String] = [:]

    init(plan: DownloadPlan, start: Int64) {
        blockSize = plan.blockSize
        size = plan.size
        block = Int(start / plan.blockSize)
    }

    /// The length of the current block (the last one may be shorter).
    var blockLength: Int64 { min(blockSize, size - Int64(block) * blockSize) }

    mutating func update(_ chunk: ByteBuffer) {
        chunk.withUnsafeReadableBytes { raw in
            var index = 0
            while index < raw.count, blockLength > 0 {
                let take = min(raw.count - index, Int(blockLength - filled))
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[index..<(index + take)]))
                filled += Int64(take)
                index += take
                if filled == blockLength {
                    digests[block] = Hex.encode(hasher.finalize())
                    hasher = SHA256()
                    block += 1
                    filled = 0
                }
            }
        }
    }

    /// The digests of the blocks completed.
    func finish() -> [Int: String] { digests }

    /// The end of the run of blocks from `start` (a block boundary) that are complete, written
    /// before `written` and match the plan's SHA-256; nil when that end is still `start`.
    func matchedEnd(from start: Int64, writtenTo written: Int64, plan: DownloadPlan) -> Int64? {
        var end = start
        var block = Int(start / blockSize)
        while let digest = digests[block], block < plan.blockSHA256.count, digest == plan.blockSHA256[block] {
            let blockEnd = min(size, Int64(block + 1) * blockSize)
            guard blockEnd <= written else { break }
            end = blockEnd
            block += 1
        }
        return end > start ? end : nil
    }
}
