import FerryCore
import Foundation
import Logging
import Synchronization

/// One JSON object per log line, for log shippers when stderr is not a terminal. swift-log ships
/// only a text handler, so this one is written here. Messages are static and data sits in
/// metadata (STYLE.md), so no secret reaches a line unless someone puts it in metadata.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    /// Metadata added to every line.
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    let label: String
    let sink: Sink

    /// Serialises writes to one file handle.
    final class Sink: Sendable {
        let handle: FileHandle
        let lock = Mutex(())

        init(handle: FileHandle) { self.handle = handle }

        func write(_ line: Data) {
            lock.withLock { _ in handle.write(line) }
        }
    }

    static let stderrSink = Sink(handle: .standardError)

    /// A handler writing to stderr.
    public init(label: String) {
        self.label = label
        self.sink = Self.stderrSink
    }

    /// The logger's own metadata.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata { fields[key] = "\(value)" }
        if let provided = metadataProvider?.get() { for (key, value) in provided { fields[key] = "\(value)" } }
        if let extra = event.metadata { for (key, value) in extra { fields[key] = "\(value)" } }
        fields["ts"] = Self.timestamp()
        fields["level"] = event.level.rawValue
        fields["message"] = event.message.description
        fields["logger"] = label
        // Written directly, keys sorted: JSONEncoder took a third of a logged request's time.
        var line = "{"
        line.reserveCapacity(512)
        for (index, key) in fields.keys.sorted().enumerated() {
            if index > 0 { line += "," }
            JSONText.appendString(key, to: &line)
            line += ":"
            JSONText.appendString(fields[key] ?? "", to: &line)
        }
        line += "}\n"
        sink.write(Data(line.utf8))
    }

    /// The second's RFC 3339 text, kept for the next lines of the same second.
    static let lastSecond = Mutex<(second: Int64, text: String)>((-1, ""))

    static func timestamp() -> String {
        let now = Date()
        let millisSinceEpoch = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        let second = millisSinceEpoch / 1000
        let base = lastSecond.withLock { cached in
            if cached.second != second {
                cached = (second, String(HTTPDate.rfc3339(Date(timeIntervalSince1970: Double(second))).dropLast()))
            }
            return cached.text
        }
        let millis = Int(millisSinceEpoch % 1000)
        return base + (millis < 10 ? ".00" : millis < 100 ? ".0" : ".") + String(millis) + "Z"
    }
}
