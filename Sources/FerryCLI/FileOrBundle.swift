import FerryClient

/// CLI.md "Bundles": a bundle id works wherever a file id does. The id is tried as a file
/// first (the usual case); only when there is no such file, as a bundle. If it is no bundle
/// either, the file's 404 stands; any other refusal of the bundle's (a password too short, no
/// access) is the answer, not hidden behind the file's 404.
enum FileOrBundle {
    static func run<T>(file: () async throws -> T, bundle: () async throws -> T) async throws -> T {
        do {
            return try await file()
        } catch let error as FerryClientError where error.status == 404 {
            do {
                return try await bundle()
            } catch let bundleError as FerryClientError where bundleError.status == 404 {
                throw error
            }
        }
    }
}
