import FerryCore
import Foundation
import Synchronization

/// A PostgreSQL server of a test's own (Debian's binaries, found through FERRY_TEST_POSTGRES_BIN that
/// `scripts/services/postgres` exports), for tests that stop and restart the database: the shared
/// server must keep serving the other suites.
public final class PrivatePostgres: Sendable {
    /// The cluster's connection URL.
    public let url: String
    let bin: String
    let data: String
    let port: Int
    let directory: TemporaryDirectory
    let running = Mutex<ExternalTool.Running?>(nil)

    /// Initialises a cluster in a temporary directory and starts it on 127.0.0.1.
    public static func start() async throws -> PrivatePostgres {
        guard let bin = ProcessInfo.processInfo.environment["FERRY_TEST_POSTGRES_BIN"] else {
            throw Missing(message: "FERRY_TEST_POSTGRES_BIN is not set: run scripts/test (it installs PostgreSQL)")
        }
        let directory = try TemporaryDirectory("ferry-pg")
        let port = try FreePort.pick()
        let password = Identifier.secret()
        let pwfile = directory.appending("pw")
        try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: pwfile))
        if getuid() == 0 {
            _ = try await ExternalTool.run("chown", ["-R", "postgres", directory.path], timeout: 10)
        }
        let server = PrivatePostgres(
            url: "postgres://postgres:\(password)@127.0.0.1:\(port)/postgres?sslmode=disable", bin: bin,
            data: directory.appending("db"), port: port, directory: directory)
        let initdb = try await server.asPostgres(
            "\(bin)/initdb", ["-D", server.data, "-U", "postgres", "--auth-host=scram-sha-256", "--pwfile=\(pwfile)"])
        guard initdb.status == 0 else { throw Missing(message: "initdb failed: \(initdb.stderr)") }
        try await server.resume()
        return server
    }

    init(url: String, bin: String, data: String, port: Int, directory: TemporaryDirectory) {
        self.url = url
        self.bin = bin
        self.data = data
        self.port = port
        self.directory = directory
    }

    func asPostgres(_ program: String, _ arguments: [String]) async throws -> ExternalTool.Result {
        if getuid() == 0 {
            return try await ExternalTool.run("runuser", ["-u", "postgres", "--", program] + arguments, timeout: 60)
        }
        return try await ExternalTool.run(program, arguments, timeout: 60)
    }

    /// Starts (or restarts) the server and waits until it accepts connections. The postmaster runs
    /// in the foreground as a child of the test (pg_ctl's daemonising start does not mix with
    /// Foundation's process monitoring); `halt()` stops it through its pid file.
    public func resume() async throws {
        let arguments = [
            "\(bin)/postgres", "-D", data, "-c", "listen_addresses=127.0.0.1", "-c", "port=\(port)",
            "-c", "unix_socket_directories=\(directory.path)", "-c", "fsync=off",
        ]
        let postmaster =
            getuid() == 0
            ? try ExternalTool.start("runuser", ["-u", "postgres", "--"] + arguments)
            : try ExternalTool.start(path: arguments[0], Array(arguments.dropFirst()), environment: [:])
        running.withLock { $0 = postmaster }
        try await Eventually.check(timeout: 60) {
            let ready = try await asPostgres("\(bin)/pg_isready", ["-h", "127.0.0.1", "-p", "\(port)", "-t", "1"])
            return ready.status == 0
        }
    }

    /// Stops the server at once (connections are cut, as in a crash of the database host).
    public func halt() async throws {
        _ = try await asPostgres("\(bin)/pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
        if let postmaster = running.withLock({ $0 }) { _ = await postmaster.wait(timeout: 30) }
    }

    /// Stops the server and removes its files.
    public func remove() async {
        _ = try? await halt()
        directory.remove()
    }

    struct Missing: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
