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

    /// Writes arriving together share one transaction; each is still all or nothing on its own.
    @Test func concurrentWritesCommitTogetherAndFailAlone() async throws {
        let directory = try TemporaryDirectory("ferry-sqlite")
        defer { directory.remove() }
        let catalog = try SQLiteCatalog(configuration: .init(path: directory.appending("ferry.sqlite")))
        // 40 writers, 10 usernames: for each name exactly one insert wins, the others are conflicts.
        let outcomes = await withTaskGroup(of: (String, FerryError.Code?).self) { group in
            for index in 0..<40 {
                group.addTask {
                    let name = "user\(index % 10)"
                    do {
                        try await catalog.createUser(
                            UserRecord(
                                id: Identifier.make(), username: name, role: .member, passwordHash: nil,
                                disabled: false, createdAt: Date()))
                        return (name, nil)
                    } catch {
                        return (name, (error as? FerryError)?.code)
                    }
                }
            }
            return await group.reduce(into: [(String, FerryError.Code?)]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0.1 == nil }.count == 10)
        #expect(outcomes.filter { $0.1 == .conflict }.count == 30)
        for index in 0..<10 {
            #expect(outcomes.contains { $0.0 == "user\(index)" && $0.1 == nil })
        }
        // Every write that returned is visible to the next read, and nothing of a failed one is.
        #expect(try await catalog.users().map(\.username).sorted() == (0..<10).map { "user\($0)" })
        try catalog.close()
    }
}
