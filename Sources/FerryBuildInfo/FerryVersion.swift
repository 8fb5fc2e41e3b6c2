/// What build this is: `ferry --version`, `/healthz` and `ferry doctor` print it.
public enum FerryVersion {
    /// The release this source tree is (raised with each landing that changes the contract).
    public static let release = "0.30.0"
    /// The commit it was built from (`-dirty` with uncommitted changes, `unknown` outside git).
    public static var commit: String { BuildInfo.commit }
    /// `0.30.0 (commit 0123456789ab)`.
    public static var description: String { "\(release) (commit \(commit))" }
}
