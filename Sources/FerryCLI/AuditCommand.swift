import ArgumentParser
import FerryClient
import Foundation

/// `ferry audit`: the audit log (admins), newest first, filtered by file, actor or event.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Show the audit log, newest first (admin).")
    @OptionGroup var server: ServerOptions
    @Option(name: .long, help: "Only this file.") var file: String?
    @Option(name: .long, help: "Only this actor (username).") var actor: String?
    @Option(name: .long, help: "Only this event, e.g. download.failed.") var event: String?
    @Option(name: .long, help: "How many events (1-1000).") var limit: Int = 50
    @Flag(name: .long, help: "One JSON object per line.") var json = false

    func run() async throws {
        try await ClientContext.run(server) { context in
            var query = [("limit", "\(limit)")]
            if let file { query.append(("file_id", file)) }
            if let actor { query.append(("actor", actor)) }
            if let event { query.append(("event", event)) }
            // Values escaped whole: a '+' or '&' in them must reach the server as itself.
            let path = "/v1/audit?" + query.map { "\($0.0)=\(FerryAPI.segment($0.1))" }.joined(separator: "&")
            try await ListingPrinter.print(
                try await context.api().raw(path), key: "events",
                columns: ["at", "event", "actor", "file_id", "client_ip", "detail"], json: json)
        }
    }
}
