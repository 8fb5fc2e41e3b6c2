import Crypto
import FerryCore
import FerryServer
import FerryTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// `openapi.yaml` against the server (issue 26): no drift either way between the document and the
/// router, the served document is the committed one, and the error codes are Core's.
/// (scripts/test also validates the document and runs schemathesis against a live server.)
@Suite struct OpenAPITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The document as the server serves it.
    static func served(_ client: any TestClientProtocol) async throws -> [String: Any] {
        let response = try await client.execute(uri: "/openapi.json", method: .get)
        #expect(response.status == .ok)
        #expect(response.headers[.contentType] == "application/json")
        let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body))
        return try #require(object as? [String: Any])
    }

    /// `(METHOD, /path/{param})` of every operation in the document.
    static func operations(_ document: [String: Any]) throws -> Set<String> {
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        var out: Set<String> = []
        for (path, item) in paths {
            for method in methods where item[method] != nil { out.insert("\(method.uppercased()) \(path)") }
        }
        return out
    }

    /// The router's routes, with Hummingbird's `**` catch-all spelt as the document's `{path}`.
    static func routes(_ services: FerryServices) -> Set<String> {
        Set(
            buildRouter(services: services, answeringOtherMethods: false).routes.map {
                "\($0.method.rawValue) \($0.path.description.replacingOccurrences(of: "**", with: "{path}"))"
            })
    }

    /// HEAD is generated for every GET route (`autoGenerateHeadEndpoints`) and documented only
    /// where it is part of the contract; drop a HEAD whose path has a GET.
    static func withoutImpliedHeads(_ operations: Set<String>) -> Set<String> {
        operations.filter { operation in
            guard operation.hasPrefix("HEAD ") else { return true }
            return !operations.contains("GET " + operation.dropFirst(5))
        }
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteIsRouted() async throws {
        let server = try await TestServer.make()
        let routes = Self.routes(server.services)
        try await server.test { client in
            let documented = try Self.operations(try await Self.served(client))
            let routed = Self.withoutImpliedHeads(routes)
            #expect(
                routed.subtracting(Self.withoutImpliedHeads(documented)).isEmpty,
                "routes missing from openapi.yaml: \(routed.subtracting(Self.withoutImpliedHeads(documented)).sorted())"
            )
            // A documented HEAD needs a GET (or HEAD) route; every other operation a route of its own.
            let missing = documented.filter { operation in
                if operation.hasPrefix("HEAD ") {
                    return !routes.contains(operation) && !routes.contains("GET " + operation.dropFirst(5))
                }
                return !routes.contains(operation)
            }
            #expect(missing.isEmpty, "documented but not routed: \(missing.sorted())")
        }
    }

    @Test func everyDocumentedOperationAnswersFromItsRoute() async throws {
        let server = try await TestServer.make()
        try await server.test { client in
            let documented = try Self.operations(try await Self.served(client))
            #expect(documented.count > 40)
            for operation in documented.sorted() {
                let parts = operation.split(separator: " ", maxSplits: 1)
                let method = HTTPRequest.Method(String(parts[0]))!
                // Fill every path parameter with an id that does not exist.
                let path = String(parts[1]).replacing(/\{[a-z_]+\}/, with: "zzzz")
                var headers: HTTPFields = [.authorization: "Bearer \(server.adminToken)"]
                if path.hasPrefix("/v1/uploads") { headers[HTTPField.Name("Tus-Resumable")!] = "1.0.0" }
                let response = try await client.execute(uri: path, method: method, headers: headers)
                // Whatever it answers (an id that does not exist is 404 not_found), it is not the
                // router's "nothing here" nor a method the route does not take.
                #expect(response.status != .methodNotAllowed, "\(operation)")
                #expect(
                    !String(buffer: response.body).contains("There is nothing at this address"),
                    "\(operation) is not routed: \(response.status)")
            }
        }
    }

    @Test func theServedDocumentIsTheCommittedYAML() throws {
        // scripts/embed-openapi must have been run after the last change of openapi.yaml.
        let yaml = try Data(contentsOf: Self.root.appendingPathComponent("openapi.yaml"))
        let generated = try String(
            contentsOf: Self.root.appendingPathComponent(
                "Sources/FerryServer/Controllers/OpenAPIDocument+Generated.swift"), encoding: .utf8)
        #expect(
            generated.contains("sourceSHA256 = \"\(Hex.encode(SHA256.hash(data: yaml)))\""),
            "openapi.yaml changed: run scripts/embed-openapi")
    }

    @Test func theErrorCodesAreCoresAndEveryOperationHasTheErrorShape() async throws {
        let source = try String(
            contentsOf: Self.root.appendingPathComponent("Sources/FerryCore/FerryError.swift"), encoding: .utf8)
        let codes = Set(source.matches(of: /Code\(\d+, "([a-z_]+)"\)/).map { String($0.output.1) })
        #expect(codes.count > 25)
        let server = try await TestServer.make()
        try await server.test { client in
            let document = try await Self.served(client)
            let components = try #require(document["components"] as? [String: Any])
            let schemas = try #require(components["schemas"] as? [String: Any])
            let error = try #require(schemas["Error"] as? [String: Any])
            let detail = try #require((error["properties"] as? [String: Any])?["error"] as? [String: Any])
            let code = try #require((detail["properties"] as? [String: Any])?["code"] as? [String: Any])
            #expect(Set(code["enum"] as? [String] ?? []) == codes)
            // Every operation answers errors in API.md's shape.
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            for (path, item) in paths {
                for (method, value) in item {
                    guard let operation = value as? [String: Any],
                        let responses = operation["responses"] as? [String: Any]
                    else { continue }
                    #expect(responses["default"] != nil, "\(method) \(path) has no default (error) response")
                }
            }
        }
    }
}
