import FerrySigV4
import Foundation
import Testing

/// Golden vectors generated once with botocore (`scripts/generate-signing-vectors`) over tricky keys,
/// session tokens, response overrides, regions, path-style and virtual-hosted addressing, hashed and
/// unsigned payloads: Ferry's signer must produce the same bytes.
@Suite struct BotocoreVectorTests {
    struct Vector: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var kind: String
        var method: String
        var scheme: String
        var host: String
        var path: String
        var query: [[String]]
        var headers: [[String]]
        var payload_hash: String
        var date: Int
        var access_key: String
        var secret_key: String
        var session_token: String?
        var region: String
        var expires: Int?
        var expected_authorization: String?
        var expected_url: String

        var testDescription: String { "\(name) \(method) \(path)" }

        var request: SigV4Request {
            SigV4Request(
                method: method, scheme: scheme, host: host, path: path,
                query: query.map { (name: $0[0], value: $0[1]) }, headers: headers.map { (name: $0[0], value: $0[1]) })
        }

        var signer: SigV4Signer {
            SigV4Signer(
                credentials: AWSCredentials(
                    accessKeyID: access_key, secretAccessKey: secret_key, sessionToken: session_token),
                region: region)
        }
    }

    static let vectors: [Vector] = {
        guard
            let url = Bundle.module.url(forResource: "sigv4-vectors", withExtension: "json", subdirectory: "Fixtures"),
            let data = try? Data(contentsOf: url),
            let vectors = try? JSONDecoder().decode([Vector].self, from: data)
        else { return [] }
        return vectors
    }()

    @Test func vectorsAreThere() {
        #expect(Self.vectors.count >= 30)
        #expect(Self.vectors.contains { $0.kind == "header" && $0.session_token != nil })
        #expect(Self.vectors.contains { $0.kind == "presign" && $0.query.count == 2 })
    }

    @Test(arguments: vectors)
    func matchesBotocore(_ vector: Vector) {
        let date = Date(timeIntervalSince1970: TimeInterval(vector.date))
        #expect(
            vector.request.url
                == vector.expected_url.components(separatedBy: "&X-Amz-Algorithm")[0]
                .components(separatedBy: "?X-Amz-Algorithm")[0])
        switch vector.kind {
        case "header":
            let headers = vector.signer.authorizationHeaders(
                for: vector.request, payloadHash: vector.payload_hash, date: date)
            #expect(headers.first { $0.name == "Authorization" }?.value == vector.expected_authorization)
        default:
            let url = vector.signer.presignedURL(for: vector.request, expires: vector.expires ?? 0, date: date)
            #expect(url == vector.expected_url)
        }
    }
}
