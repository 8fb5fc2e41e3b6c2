import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// OpenTelemetry traces (issue 26, README "Tracing"): `ferry serve` with the standard
/// OTEL_EXPORTER_OTLP_* variables exports over OTLP/HTTP to a real receiver (a small one,
/// `otlp_receiver.py`); one download through `/t/` is one span tree under the caller's trace.
@Suite struct TracingTests {
    struct Span {
        var traceID, spanID, parentID, name: String
        var attributes: [String: String]
    }

    /// An id as hex. OTLP/JSON says hex; swift-otel 1.6 writes protobuf JSON's base64: both are read.
    static func id(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "" }
        if text.count == 32 || text.count == 16, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        return Data(base64Encoded: text).map { Hex.encode(Array($0)) } ?? text
    }

    /// Every span the receiver got, from OTLP's JSON (`resourceSpans/scopeSpans/spans`).
    static func spans(in file: String) -> [Span] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        var out: [Span] = []
        for line in text.split(separator: "\n") {
            let document = ClusterTests.json(String(line))
            for resource in document["resourceSpans"] as? [[String: Any]] ?? [] {
                for scope in resource["scopeSpans"] as? [[String: Any]] ?? [] {
                    for span in scope["spans"] as? [[String: Any]] ?? [] {
                        var attributes: [String: String] = [:]
                        for attribute in span["attributes"] as? [[String: Any]] ?? [] {
                            let value = attribute["value"] as? [String: Any] ?? [:]
                            attributes[attribute["key"] as? String ?? ""] = value.values.first.map { "\($0)" } ?? ""
                        }
                        out.append(
                            Span(
                                traceID: id(span["traceId"]), spanID: id(span["spanId"]),
                                parentID: id(span["parentSpanId"]),
                                name: span["name"] as? String ?? "", attributes: attributes))
                    }
                }
            }
        }
        return out
    }

    @Test func aDownloadThroughALinkIsOneSpanTreeUnderTheCallersTrace() async throws {
        let home = try TemporaryDirectory("ferry-tracing")
        defer { home.remove() }
        let receiverPort = try FreePort.pick()
        let received = home.appending("spans.jsonl")
        let receiver = try ExternalTool.start(
            path: "/usr/bin/env",
            [
                "python3",
                URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                    .appendingPathComponent("otlp_receiver.py").path, "\(receiverPort)", received,
            ], environment: ServeCommandTests.baseEnvironment)
        defer { receiver.kill() }
        let port = try FreePort.pick()
        let token = Identifier.secret()
        let server = try await DoctorTests.serve(
            [
                "FERRY_LISTEN": "127.0.0.1:\(port)", "FERRY_BOOTSTRAP_TOKEN": token,
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(receiverPort)",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_BSP_SCHEDULE_DELAY": "200",
                "OTEL_SERVICE_NAME": "ferry-under-test",
            ], port: port, directory: home.path)
        defer { server.kill() }
        let base = "http://127.0.0.1:\(port)"
        let payload = home.appending("report.bin")
        try Data(TestData.bytes(100_000)).write(to: URL(fileURLWithPath: payload))
        let upload = try await ClusterTests.curl(
            ["-H", "Authorization: Bearer \(token)", "-T", payload, "-X", "POST", "\(base)/v1/files?name=report.bin"])
        let fileID = try #require(ClusterTests.json(upload.body)["id"] as? String, "\(upload.body)")
        let issued = try await ClusterTests.curl(
            [
                "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json", "-d", "{}",
                "\(base)/v1/files/\(fileID)/links",
            ])
        let url = try #require(ClusterTests.json(issued.body)["url"] as? String, "\(issued.body)")
        let linkID = try #require(ClusterTests.json(issued.body)["id"] as? String)
        let linkToken = String(url.split(separator: "/").last ?? "")

        // The caller's trace: a W3C traceparent with a parent span of its own.
        let traceID = Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
        let callerSpan = Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
        let download = try await ExternalTool.run(
            "curl",
            ["-sS", "-D", "-", "-o", "/dev/null", "-H", "traceparent: 00-\(traceID)-\(callerSpan)-01", url],
            timeout: 60)
        #expect(download.stdout.hasPrefix("HTTP/1.1 200"), "\(download.stdout)")
        // The answer carries the trace on: same trace id, the server span as parent.
        let returned = download.stdout.split(separator: "\r\n").first { $0.lowercased().hasPrefix("traceparent:") }
        #expect(returned?.contains("-\(traceID)-") == true, "\(download.stdout)")

        var tree: [Span] = []
        try await Eventually.check(timeout: 30) {
            tree = Self.spans(in: received).filter { $0.traceID == traceID }
            return tree.contains { $0.name.hasPrefix("store ") } && tree.contains { $0.name == "GET /t/{token}" }
        }
        let request = try #require(tree.first { $0.name == "GET /t/{token}" }, "\(tree.map(\.name))")
        #expect(request.parentID == callerSpan)
        #expect(request.attributes["http.route"] == "/t/{token}")
        #expect(request.attributes["http.response.status_code"] == "200")
        #expect(request.attributes["ferry.link_id"] == linkID)
        #expect(returned?.contains("-\(request.spanID)-") == true, "the returned parent is the server span")
        let children = tree.filter { $0.parentID == request.spanID }
        #expect(children.contains { $0.name == "catalog linkState" && $0.attributes["db.system"] == "sqlite" })
        #expect(children.contains { $0.name == "store openRead" && $0.attributes["ferry.store"] == "local" })
        // A HEAD keeps the GET's length through the span's body wrapper; a refusal names its code.
        let head = try await ExternalTool.run("curl", ["-sS", "-I", url], timeout: 60)
        #expect(head.stdout.lowercased().contains("content-length: 100000"), "\(head.stdout)")
        let forged = try await ExternalTool.run(
            "curl",
            ["-sS", "-o", "/dev/null", "-H", "traceparent: 00-\(traceID)-\(callerSpan)-01", "\(base)/t/forged"],
            timeout: 60)
        #expect(forged.status == 0)
        try await Eventually.check(timeout: 30) {
            Self.spans(in: received).contains {
                $0.traceID == traceID && $0.attributes["ferry.code"] == "invalid_signature"
                    && $0.attributes["http.response.status_code"] == "403"
            }
        }
        // Never a token: not in names, not in attributes, not anywhere the receiver got.
        let everything = (try? String(contentsOfFile: received, encoding: .utf8)) ?? ""
        #expect(!everything.contains(linkToken))
        #expect(!everything.contains(token))
        #expect(everything.contains("ferry-under-test"), "OTEL_SERVICE_NAME names the service")
    }
}
