import FerryTestSupport
import Foundation
import Testing

@testable import FerryClient

// `struct stat` is defined by Glibc or by CDispatch (whose headers include <sys/stat.h>),
// depending on which module a clean build compiles first; MemberImportVisibility needs the
// defining module imported, so both are.
#if canImport(CDispatch)
    import CDispatch
#endif

/// A disk that fills up is named as the cause, with what to do; a download reserves its space
/// before its first byte.
@Suite struct DiskSpaceTests {
    /// `/dev/full` answers every write with ENOSPC: a real full disk, on demand, through both
    /// ways the client writes (SwiftNIO for the data, Foundation for the control file).
    @Test func aFullDiskIsNamedWithWhatToDo() async throws {
        let nioError: (any Error)? = try await DiskFull.nioWriteError()
        var foundationError: (any Error)?
        do {
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: "/dev/full"))
        } catch {
            foundationError = error
        }
        for error in [nioError, foundationError] {
            let fault = try #require(error)
            #expect(DiskSpace.isDiskFull(fault), "\(fault)")
            let told = DiskSpace.writeError(fault, path: "/x/a.bin.ferry-part.data", destination: "/x/a.bin")
            #expect(told.kind == .unexpected)
            #expect(told.message.hasPrefix("The disk holding /x is full."), "\(told.message)")
            #expect(told.message.contains("run the same command again"))
        }
        #expect(!DiskSpace.isDiskFull(CancellationError()))
        let other = DiskSpace.writeError(CocoaError(.fileNoSuchFile), path: "/x/p", destination: "/x/a")
        #expect(other.message.hasPrefix("Cannot write /x/p"))
        let reserved = DiskSpace.full("/tmp/a.bin", needed: 5 << 20)
        #expect(reserved.message.contains("(the file needs 5.0 MiB, ") && reserved.message.contains(" free)"))
    }

    /// The whole file is allocated up front (blocks, not a sparse hole), so a disk that cannot
    /// hold it is told before the transfer, not minutes into it.
    @Test func reservingAllocatesTheWholeFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-reserve-\(UUID())").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let descriptor = open(path, O_RDWR)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        try DiskSpace.reserve(descriptor, bytes: 3 << 20, destination: path)
        var info = stat()
        #expect(fstat(descriptor, &info) == 0)
        #expect(info.st_size == 3 << 20)
        #expect(Int64(info.st_blocks) * 512 >= 3 << 20)
    }

    /// Only regular files are renamed over: devices, pipes and links to them are not.
    @Test func onlyRegularFilesAreDestinations() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-dest-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/file"
        let link = directory + "/null"
        let pipe = directory + "/pipe"
        #expect(FileManager.default.createFile(atPath: file, contents: Data([1])))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/dev/null")
        #expect(mkfifo(pipe, 0o600) == 0)
        #expect(Downloader.isRegularFile(file))
        for other in ["/dev/null", link, pipe, directory, directory + "/missing"] {
            #expect(!Downloader.isRegularFile(other), "\(other)")
        }
    }
}
