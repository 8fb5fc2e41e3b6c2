import ArgumentParser
import FerryClient
import Foundation

/// `ferry put`: a streamed upload with its SHA-256.
struct PutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Upload a file (streamed; the server checks its SHA-256).")

    @OptionGroup var server: ServerOptions
    @Argument(help: "The file to upload; `-` reads standard input (then --name is needed).") var path: String
    @Option(name: .long, help: "Name on the server (default: the file's name).") var name: String?
    @Option(name: .long, help: "Media type (default: application/octet-stream).") var type: String?
    @Flag(name: .long, help: "Print the file JSON.") var json = false

    func validate() throws {
        if path == "-" && name == nil {
            throw ValidationError("Name the upload with --name when reading standard input.")
        }
    }

    func run() async throws {
        try await ClientContext.run(server) { context in
            let source = path == "-" ? "/dev/stdin" : path
            guard FileManager.default.isReadableFile(atPath: source) else {
                throw FerryClientError(.usage, "Cannot read \(path).")
            }
            let fileName = name ?? (path as NSString).lastPathComponent
            let contentType = type ?? "application/octet-stream"
            let showProgress = Terminal.stderrIsTerminal && !json
            var progress: (@Sendable (Int64) -> Void)?
            if showProgress {
                progress = { sent in FileHandle.standardError.write(Data("\r\(Terminal.bytes(sent)) sent  ".utf8)) }
            }
            let file: RemoteFile
            if Downloader.isRegularFile(source) {
                file = try await context.api().upload(
                    path: source, name: fileName, contentType: contentType, progress: progress)
            } else {
                // A pipe or a terminal: read once, as it comes (the digest is checked afterwards).
                let descriptor = open(source, O_RDONLY)
                guard descriptor >= 0 else { throw FerryClientError(.usage, "Cannot read \(path).") }
                file = try await context.api().upload(
                    pipe: descriptor, name: fileName, contentType: contentType, progress: progress)
            }
            if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            if json {
                Terminal.out(String(decoding: try JSONEncoder().encode(file), as: UTF8.self))
            } else {
                Terminal.out("\(file.id)  \(file.name)  \(Terminal.bytes(file.size))  sha256 \(file.sha256)")
            }
        }
    }
}
