import Foundation

/// Where a download lands: `-o`, a directory, or the server's name made safe.
extension Downloader {
    /// The destination: `-o PATH`, or the server's name (made safe) in the directory. A `-o` that
    /// names a directory (existing, or written with a trailing `/`) gets the server's name inside
    /// it, as `curl --output-dir`, `wget -P` and `aria2c -d` do.
    func destinationPath(_ options: DownloadOptions, plan: DownloadPlan) throws -> String {
        guard let destination = options.destination else {
            return options.directory + "/" + Self.safeName(plan.name)
        }
        let exists = FileManager.default.fileExists(atPath: destination)
        if Self.isDirectory(destination) {
            return (destination.hasSuffix("/") ? destination : destination + "/") + Self.safeName(plan.name)
        }
        if destination.hasSuffix("/") {
            throw FerryClientError(.usage, "The directory \(destination) does not exist; create it first.")
        }
        // The result is renamed into place: never over a device, a pipe or a socket (as root, a
        // rename onto /dev/null would replace it).
        if exists, !Self.isRegularFile(destination) {
            throw FerryClientError(
                .usage,
                "\(destination) is not a regular file (a device or a pipe): a segmented download writes a file and renames it into place. Stream into it instead: ferry get SOURCE -o - > \(destination)."
            )
        }
        let parent = (destination as NSString).deletingLastPathComponent
        if !parent.isEmpty, !Self.isDirectory(parent) {
            throw FerryClientError(.usage, "The directory \(parent) does not exist; create it first.")
        }
        return destination
    }

    /// Whether `path` is a directory (after symbolic links).
    public static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Whether `path` is a regular file (after symbolic links); false for devices, pipes, sockets.
    public static func isRegularFile(_ path: String) -> Bool {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let type = (try? FileManager.default.attributesOfItem(atPath: resolved))?[.type] as? FileAttributeType
        return type == .typeRegular
    }

    /// A server-provided name made safe to create in the current directory: the last path component,
    /// no control characters, never `.`/`..`, never hidden, never empty.
    public static func safeName(_ name: String) -> String {
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var cleaned = String(last.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F })
        while cleaned.hasPrefix(".") { cleaned.removeFirst() }
        cleaned = cleaned.trimmingCharacters(in: .whitespaces)
        return cleaned.isEmpty ? "download" : String(cleaned.prefix(200))
    }
}
