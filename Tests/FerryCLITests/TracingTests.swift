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

    /// `ferry serve` exporting to a receiver (`otlp_receiver.py`), with one file uploaded and one
    /// link issued (`linkRequest` is the link's JSON).
    struct Traced {
        var receiver: ExternalTool.Running
        var server: ExternalTool.Running
        var received: String
        var base: String
        var token: String
        var url: String
        var linkID: String

        static func start(
            _ environment: [String: String], port: Int, home: TemporaryDirectory, linkRequest: String = "{}"
        ) async throws -> Traced {
            let receiverPort = try FreePort.pick()
            let received = home.appending("spans.jsonl")
            let receiver = try ExternalTool.start(
                path: "/usr/bin/env",
                [
                    "python3",
                    URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                        .appendingPathComponent("otlp_receiver.py").path, "\(receiverPort)", received,
                ], environment: ServeCommandTests.baseEnvironment)
            let token = Identifier.secret()
            var serverEnvironment = environment
            serverEnvironment.merge(
                [
                    "FERRY_LISTEN": "127.0.0.1:\(port)", "FERRY_BOOTSTRAP_TOKEN": token,
                    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(receiverPort)",
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_BSP_SCHEDULE_DELAY": "200",
                    "OTEL_SERVICE_NAME": "ferry-under-test",
                ]
            ) { $1 }
            let server: ExternalTool.Running
            do {
                server = try await DoctorTests.serve(serverEnvironment, port: port, directory: home.path)
            } catch {
                receiver.kill()
                throw error
            }
            let base = "http://127.0.0.1:\(port)"
            let payload = home.appending("report.bin")
            try Data(TestData.bytes(100_000)).write(to: URL(fileURLWithPath: payload))
            let upload = try await ClusterTests.curl(
                [
                    "-H", "Authorization: Bearer \(token)", "-T", payload, "-X", "POST",
                    "\(base)/v1/files?name=report.bin",
                ]
            )
            let fileID = try #require(ClusterTests.json(upload.body)["id"] as? String, "\(upload.body)")
            let issued = try await ClusterTests.curl(
                [
                    "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json", "-d", linkRequest,
                    "\(base)/v1/files/\(fileID)/links",
                ])
            let url = try #require(ClusterTests.json(issued.body)["url"] as? String, "\(issued.body)")
            let linkID = try #require(ClusterTests.json(issued.body)["id"] as? String)
            return Traced(
                receiver: receiver, server: server, received: received, base: base, token: token, url: url,
                linkID: linkID)
        }

        func stop() {
            server.kill()
            receiver.kill()
        }

        /// Downloads through the link under a fresh caller trace (a W3C `traceparent` with a
        /// parent span of its own): the trace id, the caller's span id and curl's output.
        func download() async throws -> (traceID: String, callerSpan: String, result: ExternalTool.Result) {
            let traceID = Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
            let callerSpan = Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
            let result = try await ExternalTool.run(
                "curl",
                ["-sS", "-D", "-", "-o", "/dev/null", "-H", "traceparent: 00-\(traceID)-\(callerSpan)-01", url],
                timeout: 60)
            return (traceID, callerSpan, result)
        }

        /// The spans of `traceID` once the request span and a store span have arrived.
        func tree(_ traceID: String) async throws -> [Span] {
            var tree: [Span] = []
            try await Eventually.check(timeout: 30) {
                tree = TracingTests.spans(in: received).filter { $0.traceID == traceID }
                return tree.contains { $0.name.hasPrefix("store ") } && tree.contains { $0.name == "GET /t/{token}" }
            }
            return tree
        }
    }

    @Test func aDownloadThroughALinkIsOneSpanTreeUnderTheCallersTrace() async throws {
        let home = try TemporaryDirectory("ferry-tracing")
        defer { home.remove() }
        let traced = try await Traced.start([:], port: try FreePort.pick(), home: home)
        defer { traced.stop() }
        let (url, linkID, received, base, token) = (
            traced.url, traced.linkID, traced.received, traced.base, traced.token
        )
        let linkToken = String(url.split(separator: "/").last ?? "")

        let (traceID, callerSpan, download) = try await traced.download()
        #expect(download.stdout.hasPrefix("HTTP/1.1 200"), "\(download.stdout)")
        // The answer carries the trace on: same trace id, the server span as parent.
        let returned = download.stdout.split(separator: "\r\n").first { $0.lowercased().hasPrefix("traceparent:") }
        #expect(returned?.contains("-\(traceID)-") == true, "\(download.stdout)")

        let tree = try await traced.tree(traceID)
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

    /// From S3 (behind `fault_proxy.py`, which records what reaches the store): the GetObject that
    /// streams the bytes is a `store GetObject` span of the request, and the GET to the store carries
    /// that span in its `traceparent`.
    @Test func aDownloadFromS3CarriesTheTraceToTheStore() async throws {
        var (environment, home) = try await DoctorTests.s3Environment("ferry-tracing-s3")
        defer { home.remove() }
        let proxy = try await FaultProxy.start(upstream: try #require(environment["FERRY_S3_ENDPOINT"]))
        defer { proxy.stop() }
        environment["FERRY_S3_ENDPOINT"] = proxy.endpoint
        // A limited link is always served by Ferry (`/t/`), which reads the bytes from S3.
        let port = try #require(environment["FERRY_LISTEN"]?.split(separator: ":").last.flatMap { Int($0) })
        let traced = try await Traced.start(environment, port: port, home: home, linkRequest: #"{"max_downloads": 2}"#)
        defer { traced.stop() }
        let (traceID, _, download) = try await traced.download()
        #expect(download.stdout.hasPrefix("HTTP/1.1 200"), "\(download.stdout)")
        let tree = try await traced.tree(traceID)
        let request = try #require(tree.first { $0.name == "GET /t/{token}" }, "\(tree.map(\.name))")
        let get = try #require(tree.first { $0.name == "store GetObject" }, "\(tree.map(\.name))")
        #expect(get.parentID == request.spanID)
        #expect(get.attributes["ferry.store"] == "s3")
        // Ferry reads a whole file as the range 0-(size-1): S3 answers 206.
        #expect(get.attributes["http.response.status_code"] == "206")
        let seen = try await proxy.traceparents()
        #expect(seen.contains("00-\(traceID)-\(get.spanID)-01"), "\(seen)")
    }
}
