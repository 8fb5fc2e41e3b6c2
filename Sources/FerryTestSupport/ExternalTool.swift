import Foundation
import Synchronization

/// Runs real programs (curl, wget, aria2c) in tests. A missing tool is a failure, never a skip:
/// `scripts/test` installs them.
public enum ExternalTool {
    /// The result of a run.
    public struct Result: Sendable {
        /// The exit status.
        public var status: Int32
        /// What it wrote to standard output.
        public var stdout: String
        /// What it wrote to standard error.
        public var stderr: String
    }

    /// The absolute path of `name` on PATH, or an error that says how to install it.
    public static func locate(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Missing(name: name)
    }

    /// Starts a tool; the caller waits with `wait(_:timeout:)` or stops it with `terminate()`.
    public static func start(_ name: String, _ arguments: [String]) throws -> Running {
        try Running(executable: locate(name), arguments: arguments, environment: nil, directory: nil)
    }

    /// Starts a program by absolute path with exactly `environment`, in `directory` when given
    /// (so that files a program writes into its current directory land in the test's own place).
    public static func start(
        path: String, _ arguments: [String], environment: [String: String], directory: String? = nil
    ) throws -> Running {
        try Running(executable: path, arguments: arguments, environment: environment, directory: directory)
    }

    /// Runs a tool to completion (killed after `timeout` seconds) and captures its output.
    /// Output goes to files and the exit is awaited through the termination handler, so no
    /// thread of Swift's cooperative pool ever blocks on a pipe (the server under test needs them).
    public static func run(_ name: String, _ arguments: [String], timeout: TimeInterval = 120) async throws -> Result {
        let running = try start(name, arguments)
        return await running.wait(timeout: timeout)
    }

    /// A started process whose output is captured in temporary files.
    public final class Running: Sendable {
        let process: Process
        let outPath: String
        let errPath: String
        let exited: AsyncStream<Void>
        /// The exit status, read inside the termination handler (reading `terminationStatus` later
        /// trips Foundation's "still running" check for programs that daemonise, like nginx).
        let status: ExitStatus

        init(executable: String, arguments: [String], environment: [String: String]?, directory: String?) throws {
            let base = NSTemporaryDirectory() + "ferry-tool-\(UUID().uuidString)"
            outPath = base + ".out"
            errPath = base + ".err"
            _ = FileManager.default.createFile(atPath: outPath, contents: nil)
            _ = FileManager.default.createFile(atPath: errPath, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            if let environment { process.environment = environment }
            if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
            process.standardInput = FileHandle.nullDevice
            let (stream, continuation) = AsyncStream<Void>.makeStream()
            let status = ExitStatus()
            process.terminationHandler = { process in
                status.value.withLock { $0 = process.terminationStatus }
                continuation.finish()
            }
            self.status = status
            self.process = process
            self.exited = stream
            try ExternalTool.spawning.withLock { _ in
                try ExternalTool.checkDescriptorCount()
                try process.run()
            }
        }

        /// The process id (to read its /proc entries).
        public var pid: Int32 { process.processIdentifier }

        /// What the program has written to stdout so far.
        public var outputSoFar: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
        /// Whether the program is still running.
        public var isRunning: Bool { process.isRunning }
        /// What the program wrote to stderr so far.
        public var errorsSoFar: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

        /// Sends a signal.
        public func signal(_ number: Int32) {
            if process.isRunning { _ = Foundation.kill(process.processIdentifier, number) }
        }

        /// Sends SIGTERM.
        public func terminate() {
            if process.isRunning { process.terminate() }
        }

        /// Sends SIGKILL (a crash, as far as the program can tell).
        public func kill() {
            if process.isRunning { _ = Foundation.kill(process.processIdentifier, SIGKILL) }
        }

        /// Waits for the exit: SIGTERM after `timeout` seconds, SIGKILL 10 s later. Returns only
        /// once the program has exited, so the status is always the program's own (a cancelled
        /// iteration of `exited` would end it early, and a program slow to die read as -1).
        public func wait(timeout: TimeInterval) async -> Result {
            let deadline = Task {
                try await Task.sleep(for: .seconds(timeout))
                self.terminate()
                // A program that ignores SIGTERM is killed, so no test waits on it forever.
                try await Task.sleep(for: .seconds(10))
                self.kill()
            }
            for await _ in exited {}
            deadline.cancel()
            defer {
                try? FileManager.default.removeItem(atPath: outPath)
                try? FileManager.default.removeItem(atPath: errPath)
            }
            return Result(
                status: status.value.withLock { $0 } ?? -1,
                stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
        }
    }

    /// One spawn at a time. Foundation's `Process` (Linux) learns that a child exited when the
    /// child's end of a socket pair closes; it closes in the child every descriptor open when it
    /// starts spawning, so a socket pair another thread creates meanwhile (a second spawn) is
    /// inherited: that child then holds the first one's end, and the first one's exit goes
    /// unseen until the second exits too. Seen: a curl that had exited waited on for ever
    /// because a fault proxy started beside it held its socket (and, with a timeout, a
    /// `ferry serve` that exited at once read as status -1).
    static let spawning = Mutex(())

    /// At most this many open descriptors when a program is started. Foundation's `Process.run`
    /// (Linux) lists /proc/self/fd with `readdir` and copies each entry's whole 256-byte `d_name`
    /// (swift-corelibs-foundation `findMaximumOpenFromProcSelfFD`), reading past the entry. With
    /// more than ~1 350 descriptors the listing fills glibc's 32 KiB directory buffer, the last
    /// entry ends at the buffer's end, and the read past it can leave the mapped memory: the whole
    /// test process died with SIGSEGV in `memcpy` under `Process.run` (CI, with 3 000 held).
    public static let descriptorLimit = 1_200

    /// Fails (instead of risking that crash) when the process holds more than `descriptorLimit`.
    static func checkDescriptorCount() throws {
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        if open > descriptorLimit {
            throw TestFailure(
                "The test process holds \(open) descriptors; Foundation's Process can crash starting a program past ~1 350 (see ExternalTool.descriptorLimit). Close what the test no longer needs."
            )
        }
    }

    /// Where the termination handler leaves the exit status.
    final class ExitStatus: Sendable {
        let value = Mutex<Int32?>(nil)
    }

    /// A required tool is not installed.
    public struct Missing: Error, CustomStringConvertible {
        /// The missing tool.
        public var name: String
        public var description: String { "\(name) is not installed; run scripts/test, which installs it" }
    }
}

extension ExternalTool {
    /// A client that asks for `path` on 127.0.0.1:`port` and never reads the answer, so the
    /// response stalls on a full socket. Prints "sent" once the request is out; the caller kills it.
    public static func stalledReader(port: Int, path: String, token: String) throws -> Running {
        let script = """
            import socket, time
            s = socket.create_connection(("127.0.0.1", \(port)))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET \(path) HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer \(token)\\r\\n\\r\\n")
            print("sent", flush=True)
            time.sleep(120)
            """
        return try start("python3", ["-c", script])
    }
}
