import FerryCore
import Foundation
import Logging

/// The HMAC keys of server links: from `FERRY_SIGNING_KEYS` (first signs, all verify), else one
/// key generated once into `<data dir>/signing-keys` with mode 0600.
public struct SigningKeyring: Sendable {
    /// The key that signs new links.
    public let current: FerryConfiguration.SigningKey
    /// Every key that verifies, by id.
    public let verifying: [String: [UInt8]]

    /// Creates a keyring from keys, the first signing.
    public init(keys: [FerryConfiguration.SigningKey]) {
        current = keys[0]
        verifying = Dictionary(keys.map { ($0.id, $0.secret) }, uniquingKeysWith: { first, _ in first })
    }

    /// Loads the configured keys or the generated key file, creating it when absent.
    public static func load(_ configuration: FerryConfiguration) throws -> SigningKeyring {
        if let keys = configuration.signingKeys { return SigningKeyring(keys: keys) }
        let path = configuration.dataDirectory + "/signing-keys"
        let manager = FileManager.default
        if !manager.fileExists(atPath: path) {
            try manager.createDirectory(
                atPath: configuration.dataDirectory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            var generator = SystemRandomNumberGenerator()
            let secret = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let line = "k\(Identifier.random(bytes: 4)):\(Data(secret).base64EncodedString())\n"
            guard manager.createFile(atPath: path, contents: Data(line.utf8), attributes: [.posixPermissions: 0o600])
            else {
                throw FerryConfiguration.Invalid(variable: "FERRY_DATA_DIR", problem: "cannot write \(path)")
            }
        }
        let text = try SecretFile.read(path, variable: "FERRY_SIGNING_KEYS")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let keys = try FerryConfiguration.parseSigningKeys(text.replacingOccurrences(of: "\n", with: ","))
        return SigningKeyring(keys: keys)
    }
}
