import ArgumentParser
import FerryAPIModels
import FerryClient
import Foundation

enum ListingPrinter {
    static func print(_ answer: [String: JSONValue], key: String, columns: [String], json: Bool) async throws {
        guard case .array(let items)? = answer[key] else {
            throw FerryClientError(.unexpected, "The server's answer has no \(key).")
        }
        if json {
            for item in items { Terminal.out(try APIJSON.line(item)) }
            return
        }
        Terminal.table(
            columns.map { $0.uppercased() },
            items.map { item in
                guard case .object(let fields) = item else { return [] }
                return columns.map { fields[$0]?.description ?? "-" }
            })
    }
}
