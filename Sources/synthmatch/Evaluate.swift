import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import Synths

/// `synthmatch evaluate`: the matcher against baselines at an equal time budget.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score the matcher and baselines (random search, CMA-ES, gradient descent from random starts) on targets.",
        discussion: """
            Every method gets the same wall-clock budget per target (--budget seconds, both cores). Reports per target
            and on average: the multi-scale spectral distance, log-spectral distance (dB), mel-cepstral distance (dB)
            and, on synthetic targets (--data), the mean absolute error of the normalised parameters. Writes
            OUT.csv (per target) and OUT-summary.csv (per method).
            Example: synthmatch evaluate --synth subtractive --data sub-test.h5 --count 16 --budget 5 --out results/matching/subtractive-synthetic
            """)

    @Option(help: "Module name.") var synth: String
    @Option(help: "Estimator model (default: models/SYNTH.h5).") var model: String?
    @Option(help: "Synthetic targets: a dataset file (its test split is used).") var data: String?
    @Option(help: "Real targets: a folder of recordings.") var targets: String?
    @Option(help: "Number of targets (the first ones).") var count: Int = 16
    @Option(help: "Seconds per target and method.") var budget: Double = 5
    @Option(help: "Methods, comma-separated: \(MatchMethod.allCases.map(\.rawValue).joined(separator: ","))") var methods: String =
        MatchMethod.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Gradient restarts (matcher and gradient).") var restarts: Int = 4
    @Option(help: "Refinement learning rate (matcher and gradient).") var learningRate: Double = 0.05
    @Option(help: "Framing of the loss the methods minimise: ddsp (frames run past the end, as DDSP) or inside (every frame inside the signal). Scores always use DDSP's.")
    var searchFraming: String = "ddsp"
    @Option(help: "Output path without extension.") var out: String
    @Option(help: "Seed.") var seed: UInt64 = 0
    @Flag(help: "No progress bar.") var quiet = false

    func run() throws {
        guard (data == nil) != (targets == nil) else { throw ValidationError("give exactly one of --data and --targets") }
        guard count >= 1, budget > 0, restarts >= 1 else { throw ValidationError("--count, --budget and --restarts must be positive") }
        let chosen = try methods.split(separator: ",").map { name -> MatchMethod in
            guard let m = MatchMethod(rawValue: String(name)) else { throw ValidationError("unknown method '\(name)'") }
            return m
        }
        let modelPath = model ?? "models/\(synth).h5"
        let estimator: ParameterEstimator? = FileManager.default.fileExists(atPath: modelPath) ? try Checkpoint.load(modelPath).estimator : nil
        if estimator == nil {
            guard model == nil else { throw ValidationError("\(modelPath): no such model") }
            FileHandle.standardError.write("evaluate: no model at \(modelPath): the matcher and estimate rows are skipped\n".data(using: .utf8)!)
        }
        if let estimator, estimator.synthName != synth { throw ValidationError("\(modelPath) is a model for \(estimator.synthName)") }

        // Targets: (name, audio, true normalised parameters if synthetic).
        var items: [(name: String, audio: [Float], truth: [Float]?)] = []
        var rate = estimator?.sampleRate ?? 16000, n = estimator?.sampleCount ?? 16000
        if let data {
            let reader = try DatasetReader(path: data)
            guard reader.info.synth == synth else { throw ValidationError("\(data) holds \(reader.info.synth) examples, not \(synth)") }
            if estimator == nil { (rate, n) = (reader.info.sampleRate, reader.info.sampleCount) }
            guard reader.info.sampleRate == rate, reader.info.sampleCount == n else {
                throw ValidationError("\(data) has \(reader.info.sampleCount) samples at \(reader.info.sampleRate) Hz; the model reads \(n) at \(rate) Hz")
            }
            for row in reader.rows(.test).prefix(count) {
                let e = try reader.example(row)
                items.append(("\(data)#\(reader.info.firstIndex + row)", e.audio, e.params))
            }
        } else if let targets {
            let folder = try AudioFile.readFolder(targets, sampleRate: rate)
            for (name, error) in folder.failures { FileHandle.standardError.write("evaluate: skipping \(name): \(error)\n".data(using: .utf8)!) }
            for clip in folder.clips.prefix(count) {
                let fitted = clip.audio.fitted(to: n)
                guard fitted.contains(where: { abs($0) > 1e-5 }) else { FileHandle.standardError.write("evaluate: skipping \(clip.name): silent\n".data(using: .utf8)!); continue }
                items.append((clip.name, fitted, nil))
            }
        }
        guard !items.isEmpty else { throw ValidationError("no targets") }
        let module = try SynthRegistry.make(synth, sampleRate: rate)
        var evaluator = MatchEvaluator(synth: module, estimator: estimator, sampleCount: n, budget: budget)
        evaluator.restarts = restarts
        evaluator.learningRate = learningRate
        switch searchFraming {
        case "ddsp": break
        case "inside": evaluator.searchLoss = evaluator.loss.framed(.none)
        default: throw ValidationError("--search-framing: ddsp or inside, not '\(searchFraming)'")
        }
        let active = chosen.filter { estimator != nil || ($0 != .matcher && $0 != .estimate) }

        var csv = CSVWriter(path: out + ".csv", header: ["target", "method", "seconds", "evaluations"] + MatchMetrics.names + ["param_mae"])
        var scores: [MatchMethod: [[Double]]] = [:], wins: [MatchMethod: Int] = [:]
        var bar = ProgressBar("evaluate \(synth)", total: items.count * active.count)
        var done = 0
        for (i, item) in items.enumerated() {
            var best: (MatchMethod, Double)?
            for method in active {
                let outcome = evaluator.run(method, target: item.audio, seed: seed &+ UInt64(i))
                let metrics = MatchMetrics.measure(outcome.audio, item.audio, sampleRate: rate, loss: evaluator.loss)
                let mae = item.truth.map { t in zip(outcome.controls, t).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) } / Double(t.count) }
                csv.row([item.name, method.rawValue, outcome.seconds, outcome.evaluations] + metrics.values + [mae.map { "\($0)" } ?? ""])
                scores[method, default: []].append(metrics.values + [mae ?? .nan])
                if method != .estimate, metrics.spectral < best?.1 ?? .infinity { best = (method, metrics.spectral) }
                done += 1
                if !quiet { bar.update(done) }
            }
            if let best { wins[best.0, default: 0] += 1 }
        }
        try csv.finish()
        var summary = CSVWriter(path: out + "-summary.csv", header: ["method", "targets", "budget_s"] + MatchMetrics.names + ["param_mae", "best_spectral_count"])
        print(String(format: "%-9@ %9@ %8@ %8@ %9@ %5@", "method", "spectral", "LSD dB", "MCD dB", "param MAE", "best"))
        for method in active {
            let rows = scores[method] ?? []
            let means = (0..<4).map { c in rows.map { $0[c] }.reduce(0, +) / Double(max(rows.count, 1)) }
            summary.row([method.rawValue, rows.count, budget] + means + [wins[method] ?? 0])
            print(String(format: "%-9@ %9.3f %8.2f %8.2f %9@ %5d", method.rawValue, means[0], means[1], means[2],
                         means[3].isNaN ? "-" : String(format: "%.4f", means[3]), wins[method] ?? 0))
        }
        try summary.finish()
        print("wrote \(out).csv and \(out)-summary.csv")
    }
}
