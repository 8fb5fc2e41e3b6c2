import FerryClient
import Foundation
import Testing

/// Files holding tokens and upload state: private from the first byte, nothing left beside them.
@Suite struct PrivateFileTests {
    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "ferry-private-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1) & 0o777
    }

    @Test func writesMode0600AndLeavesOnlyTheFileEvenOverAWorldReadableLeftover() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/state.json"
        // What a run killed mid-write left: a temporary file others may read.
        #expect(
            FileManager.default.createFile(
                atPath: PrivateFile.temporaryPath(path), contents: Data("old".utf8),
                attributes: [.posixPermissions: 0o644]))
        try PrivateFile.replace(path, with: Data("{\"a\":1}".utf8))
        #expect(try Self.mode(path) == 0o600)
        #expect(FileManager.default.contents(atPath: path) == Data("{\"a\":1}".utf8))
        try PrivateFile.replace(path, with: Data("{\"a\":2}".utf8))
        #expect(FileManager.default.contents(atPath: path) == Data("{\"a\":2}".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["state.json"])
    }

    @Test func removeLeftoversRemovesOnlyTheTemporaryFile() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/state.json"
        try PrivateFile.replace(path, with: Data("x".utf8))
        #expect(FileManager.default.createFile(atPath: PrivateFile.temporaryPath(path), contents: Data("y".utf8)))
        PrivateFile.removeLeftovers(of: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["state.json"])
    }

    @Test func aDirectoryThatCannotBeWrittenIsAnError() {
        #expect(throws: (any Error).self) { try PrivateFile.replace("/proc/ferry-cannot-write", with: Data("x".utf8)) }
    }
}
