import Crypto
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
            try createSecretFile(path, contents: Array(line.utf8))
        }
        let text = try SecretFile.read(path, variable: "FERRY_SIGNING_KEYS")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let keys = try FerryConfiguration.parseSigningKeys(text.replacingOccurrences(of: "\n", with: ","))
        return SigningKeyring(keys: keys)
    }

    /// The keys a deployment already has, without creating any: the configured keys, the key
    /// file when it exists, else nil (`ferry doctor`).
    public static func existing(_ configuration: FerryConfiguration) throws -> SigningKeyring? {
        if configuration.signingKeys == nil,
            !FileManager.default.fileExists(atPath: configuration.dataDirectory + "/signing-keys")
        {
            return nil
        }
        return try load(configuration)
    }

    /// The answer to a deployment probe (`GET /readyz?probe=NONCE`, header `Ferry-Probe`): an HMAC
    /// of the nonce under a key derived from the current signing key, so `ferry doctor` can tell
    /// that the node at the public URL holds its configuration's key without either revealing it
    /// (the derived key signs nothing else, so the answer is no oracle for link tokens).
    public func deploymentProof(nonce: String) -> String {
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: current.secret), info: Array("ferry deployment probe".utf8),
            outputByteCount: 32)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(nonce.utf8), using: key)
        return Base64URL.encode(Array(mac))
    }

    /// Creates `path` holding `contents`, mode 0600 from its first byte and complete when it
    /// appears: written under a temporary name, synced, then hard-linked into place. When another
    /// node of a shared data dir created the file first, its key is kept (every node must use
    /// the same one) and ours is dropped.
    ///
    /// By hand: Foundation's `createFile` writes through a temporary file with the default mode
    /// and sets 0600 afterwards, so a secret was briefly readable by others and a kill left it.
    static func createSecretFile(_ path: String, contents: [UInt8]) throws {
        let temporary = path + ".new-" + Identifier.random(bytes: 8)
        func failed(_ what: String) -> FerryConfiguration.Invalid {
            let reason = String(cString: strerror(errno))
            return FerryConfiguration.Invalid(variable: "FERRY_DATA_DIR", problem: "cannot \(what) \(path): \(reason)")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failed("write") }
        defer { unlink(temporary) }
        var written = 0
        while written < contents.count {
            let n = contents.withUnsafeBytes { write(fd, $0.baseAddress! + written, contents.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                close(fd)
                throw failed("write")
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            close(fd)
            throw failed("sync")
        }
        close(fd)
        guard link(temporary, path) == 0 || errno == EEXIST else { throw failed("create") }
    }
}
