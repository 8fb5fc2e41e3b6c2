import Foundation

/// How Ferry writes the JSON of API.md, in API answers and in the CLI's `--json` lines: keys
/// sorted, so one value is one text on every node and after every restart (Swift's dictionary
/// order changes with each process), and `/` left unescaped, so URLs, paths and media types read
/// as they are (`"application/pdf"`, not `"application\/pdf"`).
public enum APIJSON {
    /// The encoder's settings.
    public static let formatting: JSONEncoder.OutputFormatting = [.sortedKeys, .withoutEscapingSlashes]

    /// The JSON text of `value`.
    public static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = formatting
        return try encoder.encode(value)
    }

    /// The JSON text of `value` as one line.
    public static func line(_ value: some Encodable) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }
}
