import FerryCore
import Foundation

/// Secrets kept in files must be readable by their owner only (mode 0600 or stricter).
enum SecretFile {
    /// Refuses a secret file that group or others may read.
    static func checkMode(_ path: String, variable: String) throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw FerryConfiguration.Invalid(variable: variable, problem: "\(path) is readable by others; chmod 600 it")
        }
    }

    /// Reads a secret file after checking its mode; a missing file is one clear line.
    static func read(_ path: String, variable: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw FerryConfiguration.Invalid(variable: variable, problem: "\(path) does not exist")
        }
        try checkMode(path, variable: variable)
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw FerryConfiguration.Invalid(variable: variable, problem: "cannot read \(path)")
        }
    }
}
