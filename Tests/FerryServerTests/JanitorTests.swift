import FerryAPIModels
import FerryCatalogSQLite
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// Housekeeping: blobs of deleted files and replaced versions are deleted even when the store
/// refused at the time, and long-expired links leave the catalog.
@Suite struct JanitorTests {
    static func exists(_ store: any BlobStore, _ key: String) async -> Bool {
        (try? await store.read(key: key, range: 0...0) { _ in }) != nil
    }

    @Test func blobsTheStoreRefusedToDeleteAreDeletedOnceItIsBack() async throws {
        let wrapper = Mutex<StoreWithFaults?>(nil)
        let server = try await TestServer.make(store: { inner in
            let store = StoreWithFaults(inner)
            wrapper.withLock { $0 = store }
            return store
        })
        let store = try #require(wrapper.withLock { $0 })
        try await server.test { client in
            let catalog = server.services.catalog
            let replaced = try await client.uploadFile(TestData.bytes(1000, seed: 1), token: server.adminToken)
            let deleted = try await client.uploadFile(TestData.bytes(2000, seed: 2), token: server.adminToken)
            let oldKey = try #require(try await catalog.file(id: replaced.id)).blobKey
            let deletedKey = try #require(try await catalog.file(id: deleted.id)).blobKey

            // The store refuses deletes: the requests still succeed, and the blobs are remembered.
            let put = try await client.execute(
                uri: "/v1/files/\(replaced.id)/content", method: .put,
                headers: [.authorization: "Bearer \(server.adminToken)"], body: ByteBuffer(bytes: [1, 2, 3]))
            #expect(put.status == .ok)
            #expect(
                try await client.get("/v1/files/\(deleted.id)", token: server.adminToken, method: .delete).status
                    == .noContent)
            #expect(Set(try await catalog.blobsToDelete(limit: 10)) == [oldKey, deletedKey])
            #expect(await Self.exists(store.inner, oldKey))
            #expect(await Self.exists(store.inner, deletedKey))

            // A pass while the store still refuses deletes nothing and forgets nothing.
            #expect(await server.services.sweepBlobs() == 0)
            #expect(try await catalog.blobsToDelete(limit: 10).count == 2)

            // The store is back: the janitor's next pass deletes both, and the catalog forgets them.
            store.refusing.withLock { $0 = false }
            let janitor = Task { try await Janitor(services: server.services, interval: .milliseconds(50)).run() }
            try await Eventually.check(timeout: 60) { try await catalog.blobsToDelete(limit: 10).isEmpty }
            janitor.cancel()
            _ = try? await janitor.value
            #expect(!(await Self.exists(store.inner, oldKey)))
            #expect(!(await Self.exists(store.inner, deletedKey)))
            // The current version was never touched.
            let current = try await client.get("/v1/files/\(replaced.id)/content", token: server.adminToken)
            #expect(Array(current.body.readableBytesView) == [1, 2, 3])

            // With a working store nothing is left to retry at all.
            let other = try await client.uploadFile(TestData.bytes(10, seed: 3), token: server.adminToken)
            let otherKey = try #require(try await catalog.file(id: other.id)).blobKey
            #expect(
                try await client.get("/v1/files/\(other.id)", token: server.adminToken, method: .delete).status
                    == .noContent)
            #expect(!(await Self.exists(store.inner, otherKey)))
            #expect(try await catalog.blobsToDelete(limit: 10).isEmpty)
        }
    }

    @Test func linksLongExpiredArePrunedAndTheOthersKept() async throws {
        let clock = TestClock()
        let server = try await TestServer.make(now: clock.now)
        try await server.test { client in
            let file = try await client.uploadFile(TestData.bytes(100), token: server.adminToken)
            func issue() async throws -> String {
                let response = try await client.json(
                    "/v1/files/\(file.id)/links", method: .post, token: server.adminToken, body: #"{"ttl_seconds": 60}"#
                )
                #expect(response.status == .created)
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                return try #require(json?["id"] as? String)
            }
            let old = try await issue()
            clock.advance(by: FerryServices.expiredLinkRetention)  // expired a minute short of the retention
            #expect(await server.services.pruneExpiredLinks() == 0)
            let recent = try await issue()
            clock.advance(by: 180)
            #expect(await server.services.pruneExpiredLinks() == 1)
            #expect(try await server.services.catalog.link(id: old) == nil)
            #expect(try await server.services.catalog.link(id: recent)?.id == recent)
        }
    }

    static func put(_ store: any BlobStore, _ key: String) async throws {
        let upload = try await store.beginUpload(key: key, sizeHint: 10)
        try await upload.write(ByteBuffer(bytes: TestData.bytes(10)))
        try await upload.commit()
    }

    static func backdate(_ path: String, days: Double = 2) throws {
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-days * 24 * 3600)], ofItemAtPath: path)
    }

    /// A blob with no file (an upload whose catalog write and blob delete both failed) and a
    /// temporary file of an upload whose process died go once older than a day; everything a
    /// file points at, anything younger, and anything not of Ferry's making stays.
    @Test func blobsWithoutAFileAndDeadUploadsGoOnceOlderThanTheGrace() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let store = server.services.store
            let root = server.blobRoot
            let file = try await client.uploadFile(TestData.bytes(1000), token: server.adminToken)
            let fileKey = try #require(try await server.services.catalog.file(id: file.id)).blobKey
            let orphan = "\(Identifier.make())/\(Identifier.make())"
            let young = "\(Identifier.make())/\(Identifier.make())"
            try await Self.put(store, orphan)
            try await Self.put(store, young)
            let fileDirectory = root + "/" + file.id
            for name in [".tmp-aB3dE9", ".tmp-Zz9yY8"] {
                #expect(FileManager.default.createFile(atPath: fileDirectory + "/" + name, contents: Data([1])))
            }
            #expect(FileManager.default.createFile(atPath: root + "/notes.txt", contents: Data([1])))
            for path in [orphan, fileKey, "notes.txt"] {
                try Self.backdate(root + "/" + path)
            }
            // An upload is taken for dead after a week; the other temporary file is 2 days old.
            try Self.backdate(root + "/" + file.id + "/.tmp-aB3dE9", days: 8)
            try Self.backdate(root + "/" + file.id + "/.tmp-Zz9yY8", days: 2)

            let swept = await server.services.sweepOrphans()
            #expect(swept.blobs == 1 && swept.uploads == 1)
            let metrics = String(decoding: server.services.metrics.render(), as: UTF8.self)
            #expect(metrics.contains(#"ferry_housekeeping_deleted_total{kind="orphan_blob"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"ferry_housekeeping_deleted_total{kind="unfinished_upload"} 1"#))
            #expect(!(await Self.exists(store, orphan)))
            #expect(!FileManager.default.fileExists(atPath: root + "/" + orphan.split(separator: "/")[0]))
            #expect(await Self.exists(store, young))
            #expect(Set(server.blobFiles()) == [fileKey, young, file.id + "/.tmp-Zz9yY8", "notes.txt"])
            let content = try await client.get("/v1/files/\(file.id)/content", token: server.adminToken)
            #expect(content.status == .ok && content.body.readableBytes == 1000)

            // The janitor does the same on its first pass, and again every `reconcileEvery`.
            let later = "\(Identifier.make())/\(Identifier.make())"
            try await Self.put(store, later)
            try Self.backdate(root + "/" + later)
            let janitor = Task { try await Janitor(services: server.services, interval: .milliseconds(50)).run() }
            try await Eventually.check(timeout: 10) { !(await Self.exists(store, later)) }
            janitor.cancel()
            _ = try? await janitor.value
            #expect(await Self.exists(store, young))
        }
    }

    /// More blobs without a file than failed uploads leave (a catalog restored from an older
    /// backup would make every newer blob look like one) is a reason to delete none.
    @Test func tooManyBlobsWithoutAFileAreLeftForTheOperator() async throws {
        let server = try await TestServer.make()
        try await server.test { _ in
            let store = server.services.store
            let orphans = (0..<3).map { _ in "\(Identifier.make())/\(Identifier.make())" }
            for key in orphans {
                try await Self.put(store, key)
                try Self.backdate(server.blobRoot + "/" + key)
            }
            #expect(await server.services.sweepOrphans(limit: 2).blobs == 0)
            for key in orphans { #expect(await Self.exists(store, key)) }
            #expect(await server.services.sweepOrphans(limit: 3).blobs == 3)
            for key in orphans { #expect(!(await Self.exists(store, key))) }
        }
    }

    /// A catalog that cannot answer deletes nothing.
    @Test func nothingIsDeletedWhenTheCatalogCannotTell() async throws {
        let server = try await TestServer.make()
        try await server.test { _ in
            let orphan = "\(Identifier.make())/\(Identifier.make())"
            try await Self.put(server.services.store, orphan)
            try Self.backdate(server.blobRoot + "/" + orphan)
            try #require(server.services.catalog as? SQLiteCatalog).close()
            #expect(await server.services.sweepOrphans().blobs == 0)
            #expect(await Self.exists(server.services.store, orphan))
        }
    }
}
