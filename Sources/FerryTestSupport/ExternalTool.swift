import Foundation
import Glibc
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
        let processID: pid_t
        let outPath: String
        let errPath: String
        let exited: AsyncStream<Void>
        /// The exit status (a signal's number if one ended it), set when the process is reaped.
        let status: ExitStatus

        init(executable: String, arguments: [String], environment: [String: String]?, directory: String?) throws {
            let base = NSTemporaryDirectory() + "ferry-tool-\(UUID().uuidString)"
            outPath = base + ".out"
            errPath = base + ".err"
            let (stream, continuation) = AsyncStream<Void>.makeStream()
            let status = ExitStatus()
            self.status = status
            self.exited = stream
            let pid = try Spawn.start(
                executable: executable, arguments: arguments, environment: environment, directory: directory,
                stdout: outPath, stderr: errPath)
            processID = pid
            // A thread of its own blocks in waitpid (never one of Swift's cooperative pool).
            Thread {
                var raw: Int32 = 0
                while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
                // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (macros).
                let signal = raw & 0x7f
                status.value.withLock { $0 = signal == 0 ? (raw >> 8) & 0xff : signal }
                continuation.finish()
            }.start()
        }

        /// The process id (to read its /proc entries).
        public var pid: Int32 { processID }

        /// What the program has written to stdout so far.
        public var outputSoFar: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
        /// Whether the program is still running.
        public var isRunning: Bool { status.value.withLock { $0 == nil } }
        /// What the program wrote to stderr so far.
        public var errorsSoFar: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

        /// Sends a signal.
        public func signal(_ number: Int32) {
            if isRunning { _ = Glibc.kill(processID, number) }
        }

        /// Sends SIGTERM.
        public func terminate() {
            signal(SIGTERM)
        }

        /// Sends SIGKILL (a crash, as far as the program can tell).
        public func kill() {
            signal(SIGKILL)
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

    /// Starting programs with `posix_spawn`, written here rather than with Foundation's `Process`
    /// (or swift-subprocess, whose API is async and scoped to a closure, where tests start a
    /// program and keep a handle). Foundation's `Process` (Linux) broke the test run twice:
    /// - It learns of an exit when the child's end of a socket pair closes, and closes in the child
    ///   only the descriptors open when it starts: a pair made meanwhile by another spawn was
    ///   inherited, and an exit went unseen until the other program ended (a curl waited on for
    ///   ever beside a fault proxy).
    /// - It lists /proc/self/fd copying each entry's whole 256-byte `d_name` past the entry; with
    ///   ~1 350 descriptors open the listing fills glibc's 32 KiB buffer and the read can leave
    ///   mapped memory: the whole test process died with SIGSEGV in `memcpy` under `Process.run`.
    /// Here the child closes every descriptor from 3 up (`posix_spawn_file_actions_addclosefrom_np`,
    /// glibc 2.34) after taking /dev/null and the two output files, and a thread reaps it.
    enum Spawn {
        typealias FileActions = UnsafeMutablePointer<posix_spawn_file_actions_t>
        /// glibc's GNU extensions of posix_spawn, which Swift's Glibc module does not import.
        static let addCloseFrom: (@convention(c) (FileActions, CInt) -> CInt)? = symbol(
            "posix_spawn_file_actions_addclosefrom_np")
        static let addChdir: (@convention(c) (FileActions, UnsafePointer<CChar>) -> CInt)? = symbol(
            "posix_spawn_file_actions_addchdir_np")

        static func symbol<T>(_ name: String) -> T? {
            dlsym(nil, name).map { unsafeBitCast($0, to: T.self) }
        }

        /// Starts `executable` in its own process group (as Foundation did), standard input
        /// /dev/null, output into the two files; returns its pid.
        static func start(
            executable: String, arguments: [String], environment: [String: String]?, directory: String?,
            stdout: String, stderr: String
        ) throws -> pid_t {
            guard let addCloseFrom, let addChdir else {
                throw TestFailure("glibc 2.34 or later is needed (posix_spawn_file_actions_addclosefrom_np)")
            }
            let input = open("/dev/null", O_RDONLY | O_CLOEXEC)
            let output = open(stdout, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            let errors = open(stderr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            defer { for descriptor in [input, output, errors] where descriptor >= 0 { close(descriptor) } }
            guard input >= 0, output >= 0, errors >= 0 else {
                throw TestFailure("cannot open the output files of \(executable): \(String(cString: strerror(errno)))")
            }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var failed = posix_spawn_file_actions_adddup2(&actions, input, 0)
            if failed == 0 { failed = posix_spawn_file_actions_adddup2(&actions, output, 1) }
            if failed == 0 { failed = posix_spawn_file_actions_adddup2(&actions, errors, 2) }
            if failed == 0 { failed = addCloseFrom(&actions, 3) }
            if failed == 0, let directory { failed = addChdir(&actions, directory) }
            if failed == 0 { failed = posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP)) }
            if failed == 0 { failed = posix_spawnattr_setpgroup(&attributes, 0) }
            guard failed == 0 else {
                throw TestFailure("cannot prepare \(executable): \(String(cString: strerror(failed)))")
            }
            let argv = ([executable] + arguments).map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            let variables = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
            defer { for pointer in variables ?? [] { free(pointer) } }
            var pid: pid_t = 0
            let result = argv.withUnsafeBufferPointer { argvBuffer in
                if let variables {
                    return variables.withUnsafeBufferPointer { envBuffer in
                        posix_spawn(
                            &pid, executable, &actions, &attributes, argvBuffer.baseAddress!, envBuffer.baseAddress!)
                    }
                }
                return posix_spawn(&pid, executable, &actions, &attributes, argvBuffer.baseAddress!, environ)
            }
            guard result == 0 else {
                throw TestFailure("cannot start \(executable): \(String(cString: strerror(result)))")
            }
            return pid
        }
    }

    /// Where the reaping thread leaves the exit status (nil while the program runs).
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
            time.sleep(300)
            """
        return try start("python3", ["-c", script])
    }
}
