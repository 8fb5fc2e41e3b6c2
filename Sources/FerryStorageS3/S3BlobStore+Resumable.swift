import FerryCore
import Foundation
import Logging
import NIOCore

// Resumable blobs (tus uploads) on S3: one multipart upload per blob, whose parts are whole
// 8 MiB blocks (or multiples, to stay within 10 000 parts). Bytes that do not fill a part yet are
// kept durably in the bucket as a "tail" object (`<key>.tail-<offset>`), read back (at most one
// part) by the next append on whichever node it lands. Nothing acknowledged is only in memory.
extension S3BlobStore {
    /// What the catalog keeps of a resumable blob on S3.
    struct ResumableState: Codable, Sendable {
        /// The multipart upload.
        var upload: String
        var partSize: Int64
        /// ETags of the parts uploaded, in order (part numbers from 1).
        var parts: [String]
        /// The object holding the bytes after the last part, and how many.
        var tail: String?
        var tailSize: Int64

        var json: String { String(decoding: (try? JSONEncoder().encode(self)) ?? Data(), as: UTF8.self) }

        static func parse(_ text: String) throws -> ResumableState {
            do {
                return try JSONDecoder().decode(ResumableState.self, from: Data(text.utf8))
            } catch {
                throw FerryError(.internalError, "The upload's storage state is unreadable.", underlying: error)
            }
        }
    }

    /// Parts are whole blocks, and enough of them fit S3's 10 000 parts.
    static func resumablePartSize(length: Int64) -> Int64 {
        let block = FileRecord.blockSize
        let blocksPerPart = max(1, (length + block * 10_000 - 1) / (block * 10_000))
        return block * blocksPerPart
    }

    public func beginResumable(key: String, length: Int64) async throws -> String {
        let upload = try await mapped { try await client.createMultipartUpload(key: key) }
        return ResumableState(
            upload: upload, partSize: Self.resumablePartSize(length: length), parts: [], tail: nil, tailSize: 0
        ).json
    }

    public func appendResumable(key: String, state: String, offset: Int64) async throws -> any ResumableAppend {
        let state = try ResumableState.parse(state)
        guard Int64(state.parts.count) * state.partSize + state.tailSize == offset else {
            throw FerryError(.internalError, "The upload's storage state does not match its offset.")
        }
        var pending = ByteBuffer()
        if let tail = state.tail, state.tailSize > 0 {
            try await mapped { try await client.getObject(key: tail) { chunk in pending.writeImmutableBuffer(chunk) } }
        }
        return S3ResumableAppend(client: client, key: key, state: state, pending: pending)
    }

    public func resumableBytes(key: String, state: String, range: ClosedRange<Int64>) async throws -> ByteBuffer {
        let state = try ResumableState.parse(state)
        let tailStart = Int64(state.parts.count) * state.partSize
        guard let tail = state.tail, range.lowerBound >= tailStart else {
            throw FerryError(.internalError, "Those bytes are in uploaded parts, which S3 cannot read back.")
        }
        var out = ByteBuffer()
        try await mapped {
            try await client.getObject(
                key: tail, range: (range.lowerBound - tailStart)...(range.upperBound - tailStart)
            ) {
                out.writeImmutableBuffer($0)
            }
        }
        return out
    }

    public func finishResumable(key: String, state: String, length: Int64) async throws {
        let state = try ResumableState.parse(state)
        try await mapped {
            var parts = state.parts.enumerated().map { (number: $0.offset + 1, etag: $0.element) }
            if let tail = state.tail, state.tailSize > 0 {
                var last = ByteBuffer()
                try await client.getObject(key: tail) { last.writeImmutableBuffer($0) }
                let number = parts.count + 1
                parts.append(
                    (
                        number,
                        try await client.uploadPart(key: key, uploadID: state.upload, partNumber: number, body: last)
                    ))
            }
            if parts.isEmpty {
                // S3 completes no multipart upload without parts: an empty blob is one PutObject.
                try await client.abortMultipartUpload(key: key, uploadID: state.upload)
                try await client.putObject(key: key, body: ByteBuffer())
            } else {
                try await client.completeMultipartUpload(key: key, uploadID: state.upload, parts: parts)
            }
        }
        await deleteTails(of: key)
    }

    public func discardResumable(key: String, state: String) async {
        if let state = try? ResumableState.parse(state) {
            do {
                try await client.abortMultipartUpload(key: key, uploadID: state.upload)
            } catch {
                logger.warning(
                    "S3 multipart upload of a discarded upload could not be aborted; the janitor will",
                    metadata: ["error": "\(error)"])
            }
        }
        await deleteTails(of: key)
    }

    /// Removes the tail objects an upload left (each append writes a new one; the old ones are
    /// kept until the catalog has moved past them, so they go at the end).
    func deleteTails(of key: String) async {
        do {
            for object in try await client.listObjects(prefix: key + ".tail-") {
                try await client.deleteObject(key: object.key)
            }
        } catch {
            logger.warning("tail objects of an upload could not be deleted", metadata: ["error": "\(error)"])
        }
    }
}

/// One request's append to a resumable blob on S3: full parts go up as they fill (memory is one
/// part plus a chunk); what is left is written as the new tail object at `finish()`.
actor S3ResumableAppend: ResumableAppend {
    let client: S3Client
    let key: String
    private var state: S3BlobStore.ResumableState
    private var pending: ByteBuffer
    private var written: Int64 = 0
    private var finished = false

    init(client: S3Client, key: String, state: S3BlobStore.ResumableState, pending: ByteBuffer) {
        self.client = client
        self.key = key
        self.state = state
        self.pending = pending
    }

    func write(_ buffer: ByteBuffer) async throws {
        guard !finished else { throw FerryError(.internalError, "The append is finished.") }
        written += Int64(buffer.readableBytes)
        var buffer = buffer
        pending.writeBuffer(&buffer)
        while Int64(pending.readableBytes) >= state.partSize {
            let part = pending.readSlice(length: Int(state.partSize))!
            let number = state.parts.count + 1
            let etag: String
            do {
                etag = try await client.uploadPart(key: key, uploadID: state.upload, partNumber: number, body: part)
            } catch let error as S3Error {
                throw error.ferryError
            }
            state.parts.append(etag)
            pending.discardReadBytes()
        }
    }

    func finish() async throws -> (stored: Int64, state: String) {
        finished = true
        let end = Int64(state.parts.count) * state.partSize + Int64(pending.readableBytes)
        if pending.readableBytes > 0 {
            let tail = "\(key).tail-\(end)"
            do {
                try await client.putObject(key: tail, body: pending)
            } catch let error as S3Error {
                throw error.ferryError
            }
            state.tail = tail
        } else {
            state.tail = nil
        }
        state.tailSize = Int64(pending.readableBytes)
        return (written, state.json)
    }
}
