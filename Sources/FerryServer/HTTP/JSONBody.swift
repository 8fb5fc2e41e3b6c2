import FerryAPIModels
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// JSON request and response bodies outside the typed DTOs.
enum JSONBody {
    /// Decodes a JSON body, turning decoding failures into a 400 that names the problem.
    static func decode<T: Decodable>(
        _ type: T.Type, from request: Request, context: FerryRequestContext
    )
        async throws -> T
    {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw FerryError(
                .badRequest, "The JSON body is larger than \(context.maxUploadSize) bytes.", underlying: error)
        }
        let bytes = Array(buffer.readableBytesView)
        do {
            try JSONSyntax.validate(bytes)
        } catch {
            // `curl -d name=value`, `requests.post(data={...})` and HTML forms send fields, not JSON.
            let type = request.headers[.contentType].flatMap(MediaType.essence)
            if type == "application/x-www-form-urlencoded" || type == "multipart/form-data" {
                throw FerryError(
                    .badRequest,
                    "The body is form fields (\(type!)), not JSON: send a JSON object with Content-Type: application/json (curl -H 'Content-Type: application/json' -d '{...}'; Python requests: json={...})."
                )
            }
            throw FerryError(
                .badRequest, "The body is not valid JSON (RFC 8259): \(error.reason) at byte \(error.offset).")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch DecodingError.keyNotFound(let key, _) {
            throw FerryError(.badRequest, "The JSON body lacks the field '\(key.stringValue)'.")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context)
        {
            // Foundation on Linux reports a number that does not fit its field (`max_downloads:
            // 2.5`) without a path: find the field by decoding each one alone.
            let field =
                context.codingPath.isEmpty
                ? culprit(T.self, in: bytes) : context.codingPath.map(\.stringValue).joined(separator: ".")
            guard let field else {
                throw FerryError(.badRequest, "The body must be a JSON object with the fields this call expects.")
            }
            throw FerryError(.badRequest, "The field '\(field)' has the wrong type or value.")
        } catch {
            throw FerryError(.badRequest, "The body does not have the fields this call expects.", underlying: error)
        }
    }

    /// The top-level field of a JSON object whose value alone fails to decode as part of `T`
    /// (only on the error path).
    static func culprit<T: Decodable>(_ type: T.Type, in bytes: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return nil }
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            guard let single = try? JSONSerialization.data(withJSONObject: [key: value], options: .fragmentsAllowed)
            else { continue }
            do {
                _ = try JSONDecoder().decode(T.self, from: single)
            } catch DecodingError.keyNotFound {
                continue  // another, required field is missing: not this one's fault
            } catch {
                return key
            }
        }
        return nil
    }

    /// A 200 JSON response from any Encodable value.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try APIJSON.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
