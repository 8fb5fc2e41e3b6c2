import Foundation
import PackagePlugin

/// Generates `BuildInfo.swift` (the checkout's commit) before every build, so `ferry --version`
/// and `/healthz` name the exact build. Hand-written: no listed package stamps a build.
/// The script rewrites the file only when the commit changes, so an unchanged checkout
/// recompiles nothing.
@main struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = context.package.directoryURL.appending(path: "scripts/build-info")
        return [
            .prebuildCommand(
                displayName: "Stamping the build with its commit",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [
                    script.path, context.package.directoryURL.path, output.appending(path: "BuildInfo.swift").path,
                ],
                outputFilesDirectory: output)
        ]
    }
}
