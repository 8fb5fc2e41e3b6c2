import ArgumentParser
import FerryAPIModels
import FerryServer
import Foundation
import Logging

/// `ferry doctor`: checks the deployment a configuration describes (CLI.md "Deployment check").
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor", abstract: "Check the deployment the configuration describes, before users do.",
        discussion: """
            Reads the configuration `ferry serve` would use and checks it: every variable, unknown FERRY_* \
            names, the catalog, the store (a probe object written, read back, range-read and deleted; on \
            S3 the clock against the store's and temporary credentials), the signing keys' file mode, and \
            the running service at FERRY_PUBLIC_URL. One line per check: ok, warn, fail or skip, what was \
            found, and the fix. Exit 0 when nothing fails, 1 otherwise, 2 for a configuration that does \
            not parse.
            """)

    @Option(
        name: .long,
        help: ArgumentHelp("A file of FERRY_NAME=value lines, as for `ferry serve --config`.", valueName: "path"))
    var config: String?

    @Flag(name: .long, help: "One JSON object per check and line.") var json = false

    func run() async throws {
        var variables = ProcessInfo.processInfo.environment
        let configuration: FerryConfiguration
        do {
            if let config {
                configuration = try await FerryConfiguration.load(file: config)
                if let text = try? String(contentsOfFile: config, encoding: .utf8) {
                    for name in FerryConfiguration.variables(inFile: text).keys where variables[name] == nil {
                        variables[name] = ""
                    }
                }
            } else {
                configuration = try FerryConfiguration()
            }
        } catch let error as FerryConfiguration.Invalid {
            FileHandle.standardError.write(Data("ferry: invalid configuration: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var logger = Logger(label: "ferry-doctor")
        logger.logLevel = .critical
        let offset = Self.testClockOffset(variables)
        let doctor = Doctor(
            configuration: configuration, variables: variables, logger: logger,
            now: { Date().addingTimeInterval(offset) })
        let checks = await doctor.run()
        for check in checks {
            if json {
                Terminal.out(try APIJSON.line(check))
            } else {
                var line =
                    "\(check.status.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0))  \(check.check): \(check.detail)"
                if let fix = check.fix, check.status != .ok { line += "\n      fix: \(fix)" }
                Terminal.out(line)
            }
        }
        if checks.contains(where: { $0.status == .fail }) { throw ExitCode(1) }
    }

    /// A test-only shift of this host's clock (`FERRY_TEST_CLOCK_OFFSET` seconds), honoured in
    /// debug builds only so that a release binary cannot be talked into a wrong verdict.
    static func testClockOffset(_ variables: [String: String]) -> TimeInterval {
        #if DEBUG
            return variables["FERRY_TEST_CLOCK_OFFSET"].flatMap(TimeInterval.init) ?? 0
        #else
            return 0
        #endif
    }
}
