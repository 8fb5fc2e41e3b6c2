import ArgumentParser
import FerryCore
import FerryServer
import Foundation
import Hummingbird
import Logging
import NIOCore
import OTel
import ServiceLifecycle
import Tracing
import UnixSignals

/// `ferry serve`: runs the server with the configuration in the environment (API.md "Configuration").
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Ferry server.",
        discussion: """
            Configuration comes from FERRY_* environment variables (see README), and from a file of the \
            same FERRY_NAME=value lines given with --config (the environment wins; a file holding a secret \
            must be mode 0600). With none set, Ferry listens on 127.0.0.1:8080 and keeps its SQLite \
            catalog and blobs in ./ferry-data.
            """)

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A file of FERRY_NAME=value lines (systemd EnvironmentFile format) beneath the environment.",
            valueName: "path"))
    var config: String?

    func run() async throws {
        let configuration: FerryConfiguration
        do {
            if let config {
                configuration = try await FerryConfiguration.load(file: config)
            } else {
                configuration = try FerryConfiguration()
            }
        } catch let error as FerryConfiguration.Invalid {
            FileHandle.standardError.write(Data("ferry: invalid configuration: \(error)\n".utf8))
            throw ExitCode(2)
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical.")
        }
        // One JSON object per line for log collectors; readable text on a terminal.
        var logger =
            isatty(STDERR_FILENO) == 1
            ? Logger(label: "ferry") : Logger(label: "ferry", factory: { JSONLogHandler(label: $0) })
        logger.logLevel = level

        // Before anything is created or printed: a node that cannot listen stops here.
        do {
            try await ListenCheck.run(host: configuration.host, port: configuration.port)
        } catch {
            FileHandle.standardError.write(Data("ferry: \(error.message)\n".utf8))
            throw ExitCode(1)
        }
        if configuration.publicURLNamesNoHost {
            FileHandle.standardError.write(
                Data(
                    "ferry: warning: \(configuration.publicURLNamesNoHostWarning). \(configuration.publicURLNamesNoHostFix)\n"
                        .utf8))
        }

        let backends: Backends.Opened
        let serveLock: (any Sendable)?
        do {
            serveLock = try await Backends.lockForServing(configuration) { pid, seconds in
                let holder = pid.map { "ferry serve (pid \($0))" } ?? "another ferry serve"
                FileHandle.standardError.write(
                    Data(
                        "ferry: \(holder) serves this SQLite catalog; waiting up to \(seconds) s for it to stop\n".utf8)
                )
            }
            backends = try await Backends.open(configuration, logger: logger)
        } catch let error as FerryConfiguration.Invalid {
            FileHandle.standardError.write(Data("ferry: invalid configuration: \(error)\n".utf8))
            throw ExitCode(2)
        } catch let error as FerryError {
            FileHandle.standardError.write(Data("ferry: cannot start: \(error.message)\n".utf8))
            throw ExitCode(1)
        }
        let keyring: SigningKeyring
        do {
            keyring = try SigningKeyring.load(configuration)
        } catch let error as FerryConfiguration.Invalid {
            FileHandle.standardError.write(Data("ferry: invalid configuration: \(error)\n".utf8))
            await backends.close()
            throw ExitCode(2)
        }
        let tracing: [any Service]
        do {
            tracing = try Self.bootstrapTracing(logger: logger)
        } catch {
            FileHandle.standardError.write(Data("ferry: invalid configuration: OpenTelemetry: \(error)\n".utf8))
            await backends.close()
            throw ExitCode(2)
        }
        let services = FerryServices(
            configuration: configuration, catalog: backends.catalog, store: backends.store, logger: logger,
            keyring: keyring)
        // The backends' services (the PostgreSQL pool) run first in the group and stop last; the
        // node migrates and bootstraps once they run, then serves. SIGTERM or SIGINT: stop
        // accepting, let in-flight requests finish, and cancel what is still running after the
        // grace period (a stalled client must not keep the node from stopping).
        let node = FerryNode(
            prepare: {
                do {
                    try await backends.migrate()
                } catch let error as FerryError {
                    FileHandle.standardError.write(Data("ferry: cannot start: \(error.message)\n".utf8))
                    throw ExitCode(1)
                }
                Self.announce(try await Bootstrap.run(services: services), configuration: configuration)
            },
            services: [buildApplication(services: services), Janitor(services: services)])
        do {
            var group = ServiceGroupConfiguration(
                services: tracing + backends.services + [AuditFlush(audit: services.audit), node],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger)
            group.maximumGracefulShutdownDuration = .seconds(configuration.shutdownGrace)
            try await ServiceGroup(configuration: group).run()
        } catch {
            await services.audit.flush()
            await backends.close()
            // The address was taken between the check above and the server's own bind.
            if let io = error as? IOError, [EADDRINUSE, EADDRNOTAVAIL, EACCES].contains(io.errnoCode) {
                let line = ListenCheck.problem(io, host: configuration.host, port: configuration.port)
                FileHandle.standardError.write(Data("ferry: \(line)\n".utf8))
                throw ExitCode(1)
            }
            throw error
        }
        // Graceful shutdown: in-flight transfers have ended; write what the audit queue holds.
        await services.audit.flush()
        await backends.close()
        withExtendedLifetime(serveLock) {}  // held until the catalog is closed
    }

    /// Traces over OTLP/HTTP when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, configured by the standard OTEL_* variables
    /// (swift-otel reads them); logs and metrics stay Ferry's own (JSON lines, Prometheus).
    /// Returns the exporter's service, which runs first in the group and stops last (it flushes).
    static func bootstrapTracing(
        logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> [any Service] {
        let endpoint = environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] ?? environment["OTEL_EXPORTER_OTLP_ENDPOINT"]
        guard let endpoint, !endpoint.isEmpty, environment["OTEL_SDK_DISABLED"]?.lowercased() != "true",
            environment["OTEL_TRACES_EXPORTER"]?.lowercased() != "none"
        else { return [] }
        var configuration = OTel.Configuration.default
        configuration.serviceName = "ferry"
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.diagnosticLogger = .custom(logger)
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        return [backend.service]
    }

    /// Prints what the first start created: the token once, and the one-time sign-in link.
    static func announce(_ outcome: Bootstrap.Outcome, configuration: FerryConfiguration) {
        guard case .created(let token, let code) = outcome else { return }
        var lines = ""
        if let token {
            lines += """
                Created the administrator 'admin'. Its API token, shown only this once:
                  \(token)
                Use it as: Authorization: Bearer <token>

                """
        }
        if let code {
            let minutes = Int(Bootstrap.signInCodeLifetime / 60)
            lines += """
                Open the web app as 'admin' and choose a password (this link works once, for \(minutes) minutes):
                  \(Bootstrap.signInURL(publicURL: configuration.publicURL, code: code))
                Later: ferry passwd admin

                """
        }
        // Written straight to the descriptor: stdout is block-buffered when it is not a terminal
        // (systemd, docker logs, tests) and the lines must show at once.
        if !lines.isEmpty { FileHandle.standardOutput.write(Data(lines.utf8)) }
    }
}

/// A node of `ferry serve` in the ServiceGroup: prepares (migrations, bootstrap) once the backends'
/// services run, then runs its own (the HTTP server, the janitor) until the group shuts down.
struct FerryNode: Service {
    let prepare: @Sendable () async throws -> Void
    let services: [any Service]

    func run() async throws {
        try await prepare()
        try await withThrowingDiscardingTaskGroup { group in
            for service in services { group.addTask { try await service.run() } }
        }
    }
}

/// Writes the audit queue at a graceful shutdown, after the node has stopped (a group stops its
/// services in reverse order) and before the backends' services (the PostgreSQL pool) do: the
/// events of the last requests are committed while the catalog can still take them.
struct AuditFlush: Service {
    let audit: AuditLog

    func run() async throws {
        try? await gracefulShutdown()
        await audit.flush()
    }
}
