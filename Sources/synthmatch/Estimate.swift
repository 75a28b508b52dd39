import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import Synths

/// `synthmatch estimate`: the network's guess alone, no refinement (DXnet's job: audio in,
/// synth settings out), for many recordings at once. What `match` starts from, as a table.
struct Estimate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the estimator network's parameter guess for recordings (no refinement).",
        discussion: """
            Each TARGET is read and analysed as `match` reads it (onset, note kept, level) and the model reads
            its window from the onset. Writes --out (CSV, one row per target): the target, the detected f0, every
            parameter's physical value, and for a categorical parameter (the dx7 module's algorithm) its likeliest
            choices with their scores ("5:0.81 12:0.07 ..."). Unreadable targets are reported and skipped.
            Example: synthmatch estimate notes/*.wav --synth dx7 --out guesses.csv
            """)

    @Argument(help: "Recordings of one note each.") var targets: [String]
    @Option(help: "Module name.") var synth: String
    @Option(help: "Estimator model file (default: the shipped models/SYNTH.h5).") var model: String?
    @Option(help: "Likeliest choices listed per categorical parameter, 1...64.") var top: Int = 3
    @Option(help: "Output CSV.") var out: String

    func validate() throws {
        guard !targets.isEmpty, targets.count <= 100_000 else { throw ValidationError("give 1 to 100000 targets") }
        guard (1...64).contains(top) else { throw ValidationError("--top must be within 1...64") }
        guard !out.isEmpty else { throw ValidationError("--out must name a file") }
    }

    func run() throws {
        try AtomicFile.checkWritable(out)
        let path = try model ?? ModelSearch.find(synth)
        try HDF5Probe.check(path, as: .model)
        let estimator = try Checkpoint.load(path).estimator
        guard estimator.synthName == synth else { throw CommandFailure("\(path) is a model for \(estimator.synthName), not \(synth)") }
        let specs = estimator.parameters
        let categorical = specs.indices.filter { specs[$0].choiceCount != nil }
        var csv = CSVWriter(path: out, header: ["target", "detected_f0_hz"] + specs.map(\.name) + categorical.map { specs[$0].name + "_ranked" })
        var failures = 0
        for target in targets {
            let note: [Float], f0: Double?
            do {
                let (_, analysis, kept) = try Match.readNote(target, rate: estimator.sampleRate, maxDuration: 8)
                note = LoudnessMatch.workingLevel(kept).samples
                f0 = analysis.f0
            } catch {
                FileHandle.standardError.write("estimate: skipping \(target): \(error)\n".data(using: .utf8)!)
                failures += 1
                continue
            }
            let controls = estimator.predict(recording: note)
            // A path may hold commas or quotes: quoted as CSV quotes them.
            let field = target.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + target.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : target
            var row = [field, f0.map { String(format: "%.3f", $0) } ?? ""]
            row += specs.enumerated().map { q, spec in String(format: "%.6g", spec.physical(Double(controls.values[q]))) }
            for q in categorical {
                let low = Int(specs[q].minimum)
                row.append(estimator.rankedChoices(note, parameter: q).prefix(top)
                    .map { String(format: "%d:%.3f", low + $0.choice, $0.score) }.joined(separator: " "))
            }
            csv.row(row)
        }
        try csv.finish()
        guard failures < targets.count else { throw CommandFailure("no target could be read (\(failures) skipped)") }
        print("\(targets.count - failures) estimates written to \(out)" + (failures > 0 ? " (\(failures) targets skipped)" : ""))
    }
}
