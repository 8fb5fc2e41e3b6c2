import FerryCatalogSQLite
import FerryCore
import FerryTestSupport
import Foundation
import Testing

@Suite struct SQLiteCatalogTests {
    @Test(arguments: CatalogContract.names)
    func contract(_ name: String) async throws {
        let directory = try TemporaryDirectory("ferry-sqlite")
        defer { directory.remove() }
        let catalog = try SQLiteCatalog(configuration: .init(path: directory.appending("ferry.sqlite")))
        try await CatalogContract.checks[name]!(catalog)
        try catalog.close()
    }

    @Test func reopeningKeepsDataAndMigrationsRunOnce() async throws {
        let directory = try TemporaryDirectory("ferry-sqlite")
        defer { directory.remove() }
        let path = directory.appending("ferry.sqlite")
        let first = try SQLiteCatalog(configuration: .init(path: path))
        try await first.createUser(
            UserRecord(
                id: Identifier.make(), username: "ann", role: .admin, passwordHash: nil, disabled: false,
                createdAt: Date()))
        try first.close()
        let second = try SQLiteCatalog(configuration: .init(path: path))
        #expect(try await second.userCount() == 1)
        try second.close()
    }

    @Test func unopenablePathIsUnavailableWithClearMessage() throws {
        #expect {
            _ = try SQLiteCatalog(configuration: .init(path: "/proc/ferry-cannot-write-here/ferry.sqlite"))
        } throws: { error in
            (error as? FerryError)?.code == .unavailable
                && (error as? FerryError)?.message.contains("/proc/ferry-cannot-write-here") == true
        }
    }
}
