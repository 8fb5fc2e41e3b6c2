import FerryCore
import HTTPTypes
import Hummingbird

/// Every response under `/v1/uploads` carries `Tus-Resumable`, errors included; every request
/// but `OPTIONS` must say `Tus-Resumable: 1.0.0` (else 412 with `Tus-Version`).
struct TusMiddleware: RouterMiddleware {
    typealias Context = FerryRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response: Response
        if request.method != .options, request.headers[.tusResumable] != Tus.version {
            response = FerryError(
                .preconditionFailed, "Send Tus-Resumable: \(Tus.version); this server speaks tus \(Tus.version)."
            ).response(headers: [.tusVersion: Tus.version])
        } else {
            do {
                response = try await next(request, context)
            } catch {
                context.notes.set("code", FerryError.from(error).code.rawValue)
                response = FerryError.from(error).response()
            }
        }
        response.headers[.tusResumable] = Tus.version
        return response
    }
}

extension HTTPField.Name {
    static let tusResumable = HTTPField.Name("Tus-Resumable")!
    static let tusVersion = HTTPField.Name("Tus-Version")!
    static let tusExtension = HTTPField.Name("Tus-Extension")!
    static let tusMaxSize = HTTPField.Name("Tus-Max-Size")!
    static let tusChecksumAlgorithm = HTTPField.Name("Tus-Checksum-Algorithm")!
    static let uploadLength = HTTPField.Name("Upload-Length")!
    static let uploadOffset = HTTPField.Name("Upload-Offset")!
    static let uploadMetadata = HTTPField.Name("Upload-Metadata")!
    static let uploadChecksum = HTTPField.Name("Upload-Checksum")!
    static let uploadExpires = HTTPField.Name("Upload-Expires")!
    static let ferryFileID = HTTPField.Name("Ferry-File-Id")!
}
