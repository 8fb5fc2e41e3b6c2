import FerryCore
import GRDB

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The embedded catalog: one SQLite database in WAL mode through GRDB's `DatabasePool`
/// (concurrent readers, one serialised writer).
public final class SQLiteCatalog: Catalog {
    /// Where the database lives.
    public struct Configuration: Sendable {
        /// Path of the database file.
        public var path: String
        /// How long a statement waits for a lock before failing with `unavailable`.
        public var busyTimeout: Double

        /// Creates a configuration; `busyTimeout` defaults to 5 seconds.
        public init(path: String, busyTimeout: Double = 5) {
            self.path = path
            self.busyTimeout = busyTimeout
        }
    }

    let pool: DatabasePool
    let writes: WriteCombiner
    let lookups = LookupCache()

    /// Opens (creating if needed) the database and applies pending migrations.
    public init(configuration: Configuration) throws {
        var config = GRDB.Configuration()
        config.busyMode = .timeout(configuration.busyTimeout)
        config.foreignKeysEnabled = true
        config.prepareDatabase { db in
            // WAL with synchronous=NORMAL: commits survive a process crash; a power loss may drop
            // the last transactions but never corrupts the database (SQLite's WAL guarantee).
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Savepoints (each combined write has one) keep their undo journal in memory: with
            // the default, SQLite created and unlinked a file in /var/tmp for every audit batch.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        do {
            pool = try DatabasePool(path: configuration.path, configuration: config)
            try Self.migrator.migrate(pool)
            writes = WriteCombiner(pool: pool)
        } catch {
            throw FerryError(
                .unavailable, "Could not open the SQLite catalog at \(configuration.path).", underlying: error)
        }
    }

    /// Closes the database; later calls fail.
    public func close() throws {
        try pool.close()
    }

    /// Runs a read on the calling thread. Reads in WAL mode never wait for the writer, and an
    /// indexed read of a few rows takes microseconds, far less than the two thread hops of GRDB's
    /// async `read` (to a reader queue and back), which were the largest cost of a small download
    /// in profiles. At most one read per cooperative thread runs at a time, well under GRDB's
    /// pool of readers, so this never waits for a free reader either.
    func read<T: Sendable>(
        function: String = #function, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await Spans.catalog(function, system: "sqlite") { try mapped { try readNow(isolated: true, body) } }
    }

    /// A read made of one SELECT statement, which SQLite runs as its own snapshot: GRDB's
    /// `read` would wrap it in BEGIN/COMMIT statements prepared anew for every call. Used by the
    /// per-request lookups (principal, file with grant, link state).
    func readOne<T: Sendable>(
        function: String = #function, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await Spans.catalog(function, system: "sqlite") { try mapped { try readNow(isolated: false, body) } }
    }

    /// GRDB's synchronous reads (their async overloads would be chosen in an async function).
    private func readNow<T>(isolated: Bool, _ body: (Database) throws -> T) throws -> T {
        isolated ? try pool.read(body) : try pool.unsafeRead(body)
    }

    /// Runs a write (group-committed, see `WriteCombiner`). Unless `keepsLookups` (audit appends,
    /// which no lookup reads), the kept per-request lookups are dropped once it ended, before the
    /// caller resumes: whatever it changed is read fresh by every later request.
    func write<T: Sendable>(
        function: String = #function, keepsLookups: Bool = false,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await Spans.catalog(function, system: "sqlite") {
            defer { if !keepsLookups { lookups.changed() } }
            do {
                return try await writes.write(body)
            } catch {
                throw Self.map(error)
            }
        }
    }

    /// Runs a synchronous catalog call, mapping its failures to `FerryError`.
    private func mapped<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw Self.map(error)
        }
    }

    static func map(_ error: any Error) -> FerryError {
        if let error = error as? FerryError { return error }
        if let error = error as? DatabaseError, error.resultCode == .SQLITE_CONSTRAINT {
            return FerryError(.conflict, "That already exists.", underlying: error)
        }
        return FerryError.unavailable("catalog", underlying: error)
    }

    public func ping() async throws {
        _ = try await read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }
}

extension Database {
    /// The first row of a statement prepared once per connection, decoded by `decode` while the
    /// row is still SQLite's (read columns by position). For the per-request lookups: GRDB's
    /// `fetchOne` copies the row and finds each column by name, lowercasing every column name on
    /// every lookup, and an `SQL` literal renders its text again on every call; in profiles of
    /// `/t/` those were most of the catalog's cost. Hand-written because GRDB has no cached
    /// by-name lookup for a single row.
    func firstRow<T>(_ sql: String, _ arguments: StatementArguments, _ decode: (Row) throws -> T) throws -> T? {
        let cursor = try Row.fetchCursor(cachedStatement(sql: sql), arguments: arguments)
        return try cursor.next().map(decode)
    }

    /// Executes a statement prepared once per connection (GRDB's statement cache) with its
    /// arguments bound. Preparing a statement runs GRDB's authorizer over every column it
    /// touches, and an `SQL` literal renders and hashes its text again on every call; both showed
    /// up in profiles of the hot paths, which use this instead of `execute(literal:)`.
    func execute(cached sql: String, _ arguments: [(any DatabaseValueConvertible)?]) throws {
        let statement = try cachedStatement(sql: sql)
        statement.setUncheckedArguments(StatementArguments(arguments))
        try statement.execute()
    }
}
