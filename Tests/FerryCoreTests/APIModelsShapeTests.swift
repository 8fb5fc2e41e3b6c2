import FerryAPIModels
import FerryCore
import Foundation
import Testing

/// The wire types of FerryAPIModels against API.md: each example below is built from the field
/// lists of API.md (quoted), decodes with the shared model, and encodes back with exactly those
/// keys (null ones included), so the server, the client and the tests cannot drift from it.
@Suite struct APIModelsShapeTests {
    static func keys(_ value: some Encodable) throws -> Set<String> {
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as? [String: Any]
        return Set(object?.keys.map { $0 } ?? [])
    }

    static func roundTrip<T: Codable>(_ type: T.Type, _ json: String, keys expected: [String]) throws -> T {
        let value = try JSONDecoder().decode(T.self, from: Data(json.utf8))
        #expect(try keys(value) == Set(expected), "\(T.self)")
        return value
    }

    // API.md "Files": {"id", "name", "size", "content_type", "sha256", "etag", "version", "owner", "created_at", "updated_at"}
    static let file = """
        {"id": "Hq3", "name": "Q3 report.pdf", "size": 48213, "content_type": "application/pdf",
         "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "etag": "\\"5f1c-1\\"",
         "version": 1, "owner": "admin", "created_at": "2026-11-22T18:00:00Z", "updated_at": "2026-11-22T18:00:00Z"}
        """

    @Test func filesAndTheirPages() throws {
        let file = try Self.roundTrip(
            APIFile.self, Self.file,
            keys: [
                "id", "name", "size", "content_type", "sha256", "etag", "version", "owner", "created_at", "updated_at",
            ])
        #expect(file.contentType == "application/pdf" && file.etag == "\"5f1c-1\"")
        // `{"files": [...], "next_cursor": null|"..."}`
        let page = try Self.roundTrip(
            APIFileList.self, #"{"files": [\#(Self.file)], "next_cursor": null}"#, keys: ["files", "next_cursor"])
        #expect(page.files == [file] && page.nextCursor == nil)
    }

    @Test func linksIssuedAndListed() throws {
        // Request (all optional): {"ttl_seconds", "disposition", "filename", "max_downloads", "single_use", "bind_ip"}
        // and "password" (API.md "Password-protected links").
        let withPassword = try JSONDecoder().decode(
            APILinkRequest.self, from: Data(#"{"password": "correct horse"}"#.utf8))
        #expect(withPassword.password == "correct horse")
        let request = try JSONDecoder().decode(
            APILinkRequest.self,
            from: Data(
                #"{"ttl_seconds": 600, "disposition": "inline", "filename": "a.pdf", "max_downloads": 3, "single_use": false, "bind_ip": "192.0.2.1"}"#
                    .utf8))
        #expect(
            request
                == APILinkRequest(
                    ttlSeconds: 600, maxDownloads: 3, singleUse: false, bindIP: "192.0.2.1", disposition: "inline",
                    filename: "a.pdf"))
        // Response 201: {"id", "url", "expires_at", "etag", "strategy": "server"|"storage"|"cdn", "max_downloads": null|N}
        _ = try Self.roundTrip(
            APIIssuedLink.self,
            #"{"id": "L1", "url": "https://f.example/t/x", "expires_at": "2026-11-22T18:05:00Z", "etag": "\"e\"", "strategy": "server", "max_downloads": null}"#,
            keys: ["id", "url", "expires_at", "etag", "strategy", "max_downloads"])
        // {"links": [{"id", "issuer", "created_at", "expires_at", "strategy", "max_downloads", "downloads_used", "bind_ip", "revoked_at"}]}
        // plus "password": true|false ("Password-protected links": "Listings show ...").
        let listed = try Self.roundTrip(
            APILink.self,
            #"{"id": "L1", "issuer": "bob", "created_at": "2026-11-22T18:00:00Z", "expires_at": "2026-11-22T18:05:00Z", "strategy": "server", "max_downloads": 1, "downloads_used": 0, "bind_ip": null, "revoked_at": null, "password": true}"#,
            keys: [
                "id", "issuer", "created_at", "expires_at", "strategy", "max_downloads", "downloads_used", "bind_ip",
                "revoked_at", "password",
            ])
        #expect(listed.maxDownloads == 1 && listed.downloadsUsed == 0 && listed.password)
        // A listing from a server that predates password links decodes as "no password".
        let older = try JSONDecoder().decode(
            APILink.self,
            from: Data(
                #"{"id": "L1", "issuer": "bob", "created_at": "2026-11-22T18:00:00Z", "expires_at": "2026-11-22T18:05:00Z", "strategy": "server", "max_downloads": 1, "downloads_used": 0, "bind_ip": null, "revoked_at": null}"#
                    .utf8))
        #expect(!older.password)
    }

    @Test func theResumePlan() throws {
        // {"file": {...}, "link": {"url", "expires_at", "strategy"}, "part_size", "refresh", "block_size", "block_sha256"}
        let manifest = try Self.roundTrip(
            APIManifest.self,
            #"{"file": \#(Self.file), "link": {"url": "https://f.example/t/x", "expires_at": "2026-11-22T18:05:00Z", "strategy": "server"}, "part_size": 1048576, "refresh": "/v1/files/Hq3/manifest", "block_size": 8388608, "block_sha256": ["ab"]}"#,
            keys: ["file", "link", "part_size", "refresh", "block_size", "block_sha256"])
        #expect(manifest.blockSize == 8_388_608 && manifest.link.strategy == "server")
    }

    @Test func accountsGrantsAuditLimitsAndErrors() throws {
        // -> 201 {"id", "username", "role", "created_at"} (Ferry adds "disabled")
        _ = try Self.roundTrip(
            APIUser.self,
            #"{"id": "U1", "username": "bob", "role": "member", "disabled": false, "created_at": "2026-11-22T18:00:00Z"}"#,
            keys: ["id", "username", "role", "disabled", "created_at"])
        // -> 201 {"token", "id", "name", "created_at"}
        _ = try Self.roundTrip(
            APIToken.self, #"{"token": "s3cr3t", "id": "T1", "name": "laptop", "created_at": "2026-11-22T18:00:00Z"}"#,
            keys: ["token", "id", "name", "created_at"])
        // -> 201 {"file_id", "username", "expires_at"}
        _ = try Self.roundTrip(
            APIGrant.self, #"{"file_id": "Hq3", "username": "bob", "expires_at": null}"#,
            keys: ["file_id", "username", "expires_at"])
        // {"events": [{"at", "event", "actor", "file_id", "client_ip", "detail": {...}}], "next_cursor"}
        let audit = try Self.roundTrip(
            APIAuditList.self,
            #"{"events": [{"at": "2026-11-22T18:00:00Z", "event": "link.issued", "actor": "bob", "file_id": "Hq3", "client_ip": "192.0.2.1", "detail": {"link_id": "L1", "ttl_seconds": 600, "strategy": "server", "max_downloads": null}}], "next_cursor": null}"#,
            keys: ["events", "next_cursor"])
        #expect(try Self.keys(audit.events[0]) == ["at", "event", "actor", "file_id", "client_ip", "detail"])
        #expect(audit.events[0].detail["ttl_seconds"] == .int(600))
        // {"max_upload_bytes", "allowed_types": [...] | null, "proxy_max_bytes", "link_ttl", "link_ttl_max", "block_size"}
        _ = try Self.roundTrip(
            APILimits.self,
            #"{"max_upload_bytes": 10737418240, "allowed_types": null, "proxy_max_bytes": 5242880, "link_ttl": 300, "link_ttl_max": 86400, "block_size": 8388608}"#,
            keys: ["max_upload_bytes", "allowed_types", "proxy_max_bytes", "link_ttl", "link_ttl_max", "block_size"])
        // {"error": {"code": "link_expired", "message": "This download link expired at 18:05 UTC. Ask for a fresh link."}}
        let error = try Self.roundTrip(
            APIError.self,
            #"{"error": {"code": "link_expired", "message": "This download link expired at 18:05 UTC. Ask for a fresh link."}}"#,
            keys: ["error"])
        #expect(error.error.code == "link_expired")
    }
}
