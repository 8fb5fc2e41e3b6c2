import FerryCLI
import NIOCore
import NIOPosix

let command = FerryMain.parse()
if FerryMain.isServer(command) {
    // The server runs Swift concurrency's jobs on SwiftNIO's event loops instead of a separate
    // thread pool: a request's handler then runs on the thread that owns its connection, without
    // two thread hops (and wake-ups) per request. Measured on `/t/` 4 KiB: +50-60 % requests per
    // second (BENCHMARKS.md). Blocking work stays off the loops (bcrypt runs on NIOThreadPool,
    // SQLite writes on GRDB's writer queue). Must happen before any task starts, hence here.
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}
await FerryMain.run(command)
