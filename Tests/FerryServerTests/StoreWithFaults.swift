import FerryCore
import Foundation
import NIOCore
import Synchronization

/// A real store with faults it does not produce on demand: deletes that fail while `refusing`
/// is set (a store down for a while; reads and writes keep working), and an upload's first write
/// that takes `uploadPause` (a slow store behind an upload, so the server stops reading its body).
final class StoreWithFaults: BlobStore {
    let inner: any BlobStore
    let refusing = Mutex(true)
    let uploadPause: Duration?

    init(_ inner: any BlobStore, uploadPause: Duration? = nil) {
        self.inner = inner
        self.uploadPause = uploadPause
    }

    func ping() async throws { try await inner.ping() }
    func beginUpload(key: String, sizeHint: Int64?) async throws -> any BlobUpload {
        let upload = try await inner.beginUpload(key: key, sizeHint: sizeHint)
        guard let uploadPause else { return upload }
        return PausingUpload(inner: upload, pause: uploadPause)
    }
    func openRead(key: String, range: ClosedRange<Int64>?) async throws -> any BlobReader {
        try await inner.openRead(key: key, range: range)
    }
    func beginResumable(key: String, length: Int64) async throws -> String {
        try await inner.beginResumable(key: key, length: length)
    }
    func appendResumable(key: String, state: String, offset: Int64) async throws -> any ResumableAppend {
        try await inner.appendResumable(key: key, state: state, offset: offset)
    }
    func resumableBytes(key: String, state: String, range: ClosedRange<Int64>) async throws -> ByteBuffer {
        try await inner.resumableBytes(key: key, state: state, range: range)
    }
    func finishResumable(key: String, state: String, length: Int64) async throws {
        try await inner.finishResumable(key: key, state: state, length: length)
    }
    func discardResumable(key: String, state: String) async { await inner.discardResumable(key: key, state: state) }
    func delete(key: String) async throws {
        if refusing.withLock({ $0 }) { throw FerryError.unavailable("storage", underlying: nil) }
        try await inner.delete(key: key)
    }
    func signedURL(for key: String, request: SignedURLRequest) async throws -> SignedURL? {
        try await inner.signedURL(for: key, request: request)
    }
    var canSignURLs: Bool { inner.canSignURLs }
    func listBlobs(writtenBefore cutoff: Date, page: ([String]) async throws -> Void) async throws {
        try await inner.listBlobs(writtenBefore: cutoff, page: page)
    }
    func discardUnfinishedUploads(begunBefore cutoff: Date) async throws -> Int {
        try await inner.discardUnfinishedUploads(begunBefore: cutoff)
    }
}

/// An upload whose first write waits `pause` before it goes to the store.
final class PausingUpload: BlobUpload {
    let inner: any BlobUpload
    let pause: Duration
    let paused = Mutex(false)

    init(inner: any BlobUpload, pause: Duration) {
        self.inner = inner
        self.pause = pause
    }

    func write(_ buffer: ByteBuffer) async throws {
        if !paused.withLock({
            let was = $0; $0 = true; return was
        }) {
            try await Task.sleep(for: pause)
        }
        try await inner.write(buffer)
    }
    func commit() async throws { try await inner.commit() }
    func abort() async { await inner.abort() }
}
