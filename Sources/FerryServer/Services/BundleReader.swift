import FerryCore
import NIOCore

/// Reads a range of a bundle's archive: the format bytes from `ZipLayout`, the members' bytes
/// from the store with ranged reads, one member open at a time, nothing read that the range does
/// not cover.
actor BundleReader: BlobReader {
    let pieces: [ZipLayout.Piece]
    /// The blob key of each member, by index.
    let keys: [String]
    let store: any BlobStore
    var index = 0
    var current: (any BlobReader)?

    init(layout: ZipLayout, range: ClosedRange<Int64>, keys: [String], store: any BlobStore) {
        pieces = layout.pieces(in: range)
        self.keys = keys
        self.store = store
    }

    /// Opens the store read of the first member the range touches, so a store that cannot serve
    /// is known before the response head goes out.
    func prime() async throws {
        guard let first = pieces.firstIndex(where: { if case .member = $0 { true } else { false } }),
            case .member(let member, let range) = pieces[first]
        else { return }
        if first == index {
            current = try await store.openRead(key: keys[member], range: range)
        } else {
            primed = (first, try await store.openRead(key: keys[member], range: range))
        }
    }

    /// A reader opened by `prime` for a piece after the current one.
    var primed: (piece: Int, reader: any BlobReader)?

    func next() async throws -> [ByteBuffer]? {
        while true {
            if let reader = current {
                if let chunks = try await reader.next() { return chunks }
                await reader.close()
                current = nil
                index += 1
                continue
            }
            guard index < pieces.count else { return nil }
            switch pieces[index] {
            case .header(let bytes):
                index += 1
                return [ByteBuffer(bytes: bytes)]
            case .member(let member, let range):
                if let primed, primed.piece == index {
                    current = primed.reader
                    self.primed = nil
                } else {
                    current = try await store.openRead(key: keys[member], range: range)
                }
            }
        }
    }

    func close() async {
        await current?.close()
        current = nil
        await primed?.reader.close()
        primed = nil
    }
}
