import FerryCore
import Foundation
import Logging
import Synchronization

/// One JSON object per log line, for log shippers when stderr is not a terminal. swift-log ships
/// only a text handler, so this one is written here. Messages are static and data sits in
/// metadata (STYLE.md), so no secret reaches a line unless someone puts it in metadata.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
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

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: String] = [:]
        let merged = metadata.merging(metadataProvider?.get() ?? [:]) { $1 }.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged { fields[key] = "\(value)" }
        fields["ts"] = Self.timestamp()
        fields["level"] = event.level.rawValue
        fields["message"] = event.message.description
        fields["logger"] = label
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var data = try? encoder.encode(fields) else { return }
        data.append(0x0A)
        sink.write(data)
    }

    static func timestamp() -> String {
        let now = Date()
        let millis = Int((now.timeIntervalSince1970 * 1000).truncatingRemainder(dividingBy: 1000))
        let base = HTTPDate.rfc3339(now)
        return String(base.dropLast()) + "." + String(format: "%03d", millis) + "Z"
    }
}
