import Foundation

/// Where `match` and `evaluate` look for a shipped estimator `SYNTH.h5`, in order:
/// 1. `$SYNTHMATCH_MODELS/` (a folder of models, e.g. an installed share/synthmatch/models);
/// 2. `models/` next to the executable, then `../share/synthmatch/models/` (an installed tree);
/// 3. the repository the executable was built in: `models/` in the nearest folder above the
///    executable that holds `Package.swift` (so `.build/release/synthmatch` finds them from any
///    working directory).
/// The working directory is never searched: a model must not change with where you stand.
enum ModelSearch {
    static func folders() -> [String] {
        var folders: [String] = []
        if let env = ProcessInfo.processInfo.environment["SYNTHMATCH_MODELS"], !env.isEmpty { folders.append(env) }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0].contains("/") ? CommandLine.arguments[0] : "/proc/self/exe")
            .resolvingSymlinksInPath().deletingLastPathComponent()
        folders.append(executable.appendingPathComponent("models").path)
        folders.append(executable.deletingLastPathComponent().appendingPathComponent("share/synthmatch/models").path)
        var folder = executable
        while folder.path != "/" {
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path) {
                folders.append(folder.appendingPathComponent("models").path)
                break
            }
            folder = folder.deletingLastPathComponent()
        }
        return folders
    }

    /// The first `SYNTH.h5` found, or an error naming every place looked in.
    static func find(_ synth: String) throws -> String {
        let places = folders()
        for folder in places {
            let path = (folder as NSString).appendingPathComponent("\(synth).h5")
            if FileManager.default.isReadableFile(atPath: path) { return path }
        }
        throw ModelSearchError(synth: synth, places: places)
    }
}

struct ModelSearchError: Error, CustomStringConvertible {
    let synth: String
    let places: [String]
    var description: String {
        "no model \(synth).h5 found; looked in: \(places.joined(separator: ", ")). "
            + "Pass --model FILE, set SYNTHMATCH_MODELS to a folder of models, or use --no-model to refine from random starts"
    }
}

/// A failure while running a command (bad file contents, an unusable target): printed as
/// "Error: ..." without the usage text, which is for mistakes in the command line itself.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
