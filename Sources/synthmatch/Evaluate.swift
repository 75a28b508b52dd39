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
            Every method gets the same wall-clock budget per target (--budget seconds, both cores). Recordings
            (--targets) are matched as `match` matches them: the whole note from its onset (up to --max-duration),
            the pitch held at the tracked f0 and the key release at the analysed one, for every method. Synthetic
            targets (--data) are analysed the same way (tracked f0 and key release held) but matched whole as
            stored. Every method minimises what `match` minimises: the spectral loss plus --envelope-weight x the
            loudness-contour term; the scores use the spectral loss alone.
            Scores per target: the multi-scale spectral distance; the standard forms papers report (mcd_db:
            Kubichek's MCD on SPTK-convention mel-cepstra; lsd_all_db: Masuda & Saito's LSD over all bins and
            frames; spectral_convergence: auraloss's, over its three default resolutions; mfcc_l1: spiegelib's
            MFCCEval mean absolute error); our older forms under their own names (lsd_frame_db, mcd_ortho_db);
            and what a listener notices: pitch error in cents
            and the right-note share (|error| < 50 cents), the correlation of the dB envelopes over the whole note,
            the release's envelope error, the spectral-centroid ratio; on synthetic targets the parameters' mean
            absolute error. Writes OUT.csv (per target, rewritten after each target) and OUT-summary.csv (per
            method: means with 95% bootstrap intervals over targets, and the paired spectral difference to the
            matcher with its interval); with --data, OUT-parameters.csv (each parameter's true and found value
            and normalised error, per target and method; the pinned ones left out).
            Example: synthmatch evaluate --synth subtractive --targets gm-test --budget 5 --out results/matching/subtractive-gm
            """)

    @Option(help: "Module name.") var synth: String
    @Option(help: "Estimator model (default: the shipped models/SYNTH.h5).") var model: String?
    @Option(help: "Synthetic targets: a dataset file (its test split is used).") var data: String?
    @Option(help: "Real targets: a folder of recordings.") var targets: String?
    @Option(help: "Number of targets (the first ones), 1...100000.") var count: Int = 100_000
    @Option(help: "Seconds per target and method, (0, 3600].") var budget: Double = 5
    @Option(help: "Also cap each method at this many synth evaluations per target (1...100000000; a gradient step is one per restart), so results do not depend on the machine's load.") var evaluations: Int?
    @Option(help: "Methods, comma-separated: \(MatchMethod.allCases.map(\.rawValue).joined(separator: ","))") var methods: String =
        MatchMethod.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "A dataset of the module (its training split) for the nearest-neighbour method; without it that method is skipped.") var neighbours: String?
    @Option(help: "Gradient restarts (matcher and gradient), 1...64.") var restarts: Int = 4
    @Option(help: "Refinement learning rate (matcher and gradient), in (0, 1].") var learningRate: Double = 0.05
    @Option(help: "Weight of the loudness-contour term in what every method minimises (see `match --help`), 0...100.") var envelopeWeight: Double = MatchOptions().envelopeWeight
    @Option(help: "Longest stretch of a recorded note kept, in seconds (8...60).") var maxDuration: Double = 8
    @Option(help: "Framing of the loss the methods minimise: ddsp (frames run past the end, as DDSP) or inside (every frame inside the signal). Scores always use DDSP's.")
    var searchFraming: String = "ddsp"
    @Flag(help: "Refine the key release from the analysed value instead of holding it (gradient methods).") var refineNoteOff = false
    @Option(help: "Output path without extension.") var out: String
    @Option(help: "Seed.") var seed: UInt64 = 0
    @Flag(help: "No progress bar.") var quiet = false
    @Option(help: "Score only shard i of n of the targets (0-based), e.g. 0/4, or 'auto' in a SLURM job array; join the shards' outputs with `synthmatch evaluate-merge`.")
    var shard: String?

    func validate() throws {
        guard (data == nil) != (targets == nil) else { throw ValidationError("give exactly one of --data and --targets") }
        guard (1...100_000).contains(count) else { throw ValidationError("--count must be within 1...100000") }
        guard budget.isFinite, budget > 0, budget <= 3600 else { throw ValidationError("--budget must be in (0, 3600] seconds") }
        guard (1...64).contains(restarts) else { throw ValidationError("--restarts must be within 1...64") }
        if let evaluations { guard (1...100_000_000).contains(evaluations) else { throw ValidationError("--evaluations must be within 1...100000000") } }
        guard learningRate.isFinite, learningRate > 0, learningRate <= 1 else { throw ValidationError("--learning-rate must be in (0, 1]") }
        guard envelopeWeight.isFinite, (0...100).contains(envelopeWeight) else { throw ValidationError("--envelope-weight must be within 0...100") }
        guard maxDuration.isFinite, maxDuration >= 8, maxDuration <= 60 else { throw ValidationError("--max-duration must be within 8...60 seconds") }
        guard ["ddsp", "inside"].contains(searchFraming) else { throw ValidationError("--search-framing: ddsp or inside, not '\(searchFraming)'") }
        guard !out.isEmpty else { throw ValidationError("--out must name a path") }
        _ = try chosenMethods()
        if let shard { do { _ = try Shard.parse(shard) } catch let error as ShardError { throw ValidationError(error.description) } }
    }

    /// What every method is given, as `match` would: the tracked f0 and the key release held
    /// (the release refined from there with --refine-note-off).
    func analysedTarget(_ samples: [Float], _ analysis: NoteAnalysis?) -> EvaluationTarget {
        var target = EvaluationTarget(samples: samples)
        guard let analysis else { return target }
        if let f0 = analysis.f0 { target.pinned["f0"] = f0 }
        let release = ADSR.clampedNoteOff(analysis.noteOffSeconds)
        if refineNoteOff { target.starts["note_off"] = release } else { target.pinned["note_off"] = release }
        return target
    }

    func chosenMethods() throws -> [MatchMethod] {
        let names = methods.split(separator: ",").map(String.init)
        guard !names.isEmpty else { throw ValidationError("--methods names no method") }
        return try names.map { name in
            guard let m = MatchMethod(rawValue: name) else { throw ValidationError("unknown method '\(name)'") }
            return m
        }
    }

    func run() throws {
        let chosen = try chosenMethods()
        Provenance.record("seed", "\(seed)")
        Provenance.record("budget_seconds", "\(budget)")
        Provenance.record("budget_evaluations", evaluations.map { "\($0)" } ?? "none")
        try AtomicFile.checkWritable(out + ".csv")
        var estimator: ParameterEstimator?
        do {
            let path = try model ?? ModelSearch.find(synth)
            try HDF5Probe.check(path, as: .model)
            estimator = try Checkpoint.load(path).estimator
            if estimator!.synthName != synth { throw CommandFailure("\(path) is a model for \(estimator!.synthName)") }
        } catch let error as ModelSearchError {
            FileHandle.standardError.write("evaluate: \(error.description): the matcher and estimate rows are skipped\n".data(using: .utf8)!)
        }

        // Targets: (name, what the methods see, the analysis, true normalised parameters if synthetic).
        var items: [(name: String, target: EvaluationTarget, analysis: NoteAnalysis?, truth: [Float]?)] = []
        var rate = estimator?.sampleRate ?? 16000
        if let data {
            try HDF5Probe.check(data, as: .dataset)
            let reader = try DatasetReader(path: data)
            guard reader.info.synth == synth else { throw CommandFailure("\(data) holds \(reader.info.synth) examples, not \(synth)") }
            if estimator == nil { rate = reader.info.sampleRate }
            guard reader.info.sampleRate == rate else { throw CommandFailure("\(data) is at \(reader.info.sampleRate) Hz; the model reads \(rate) Hz") }
            // Analysed as `match` analyses a recording (tracked f0 and key release held), but not
            // trimmed or rescaled, so the true parameters still describe the audio.
            for row in reader.rows(.test).prefix(count) {
                let e = try reader.example(row)
                let analysis = try? NoteAnalysis.analyse(e.audio, sampleRate: rate)
                items.append(("\(data)#\(reader.info.firstIndex + row)", analysedTarget(e.audio, analysis), analysis, e.params))
            }
        } else if let targets {
            let folder = try AudioFile.readFolder(targets, sampleRate: rate, maxSeconds: maxDuration + Match.leadingSilence)
            for (name, error) in folder.failures { FileHandle.standardError.write("evaluate: skipping \(name): \(error)\n".data(using: .utf8)!) }
            var settings = NoteAnalysis.Settings()
            settings.maximumDuration = maxDuration
            for clip in folder.clips.prefix(count) {
                let analysis: NoteAnalysis
                do { analysis = try NoteAnalysis.analyse(clip.audio.samples, sampleRate: rate, settings: settings) } catch {
                    FileHandle.standardError.write("evaluate: skipping \(clip.name): \(error)\n".data(using: .utf8)!)
                    continue
                }
                let note = LoudnessMatch.workingLevel(analysis.note(in: clip.audio.samples)).samples
                if analysis.f0 == nil { FileHandle.standardError.write("evaluate: \(clip.name): no pitch found; f0 is searched like the rest\n".data(using: .utf8)!) }
                items.append((clip.name, analysedTarget(note, analysis), analysis, nil))
            }
        }
        guard !items.isEmpty else { throw CommandFailure("no targets") }
        let module = try SynthRegistry.make(synth, sampleRate: rate)
        let names = Set(module.parameters.map { $0.name })
        var evaluator = MatchEvaluator(synth: module, estimator: estimator, budget: budget)
        evaluator.evaluationBudget = evaluations
        evaluator.restarts = restarts
        evaluator.learningRate = learningRate
        evaluator.envelopeWeight = envelopeWeight
        if searchFraming == "inside" { evaluator.searchLoss = evaluator.loss.framed(.none) }
        if let neighbours {
            try HDF5Probe.check(neighbours, as: .dataset)
            let reader = try DatasetReader(path: neighbours)
            guard reader.info.synth == synth else { throw CommandFailure("\(neighbours) holds \(reader.info.synth) examples, not \(synth)") }
            guard reader.info.sampleRate == rate else { throw CommandFailure("\(neighbours) is at \(reader.info.sampleRate) Hz; the targets are matched at \(rate) Hz") }
            var indexing = ProgressBar("index \(neighbours)", total: reader.rows(.train).count)
            evaluator.neighbours = try NearestNeighbours(reader: reader) { done, _ in if !quiet { indexing.update(done) } }
        }
        let active = chosen.filter { method in
            if method == .nearest { return evaluator.neighbours != nil }
            return estimator != nil || ![.matcher, .estimate, .matcherSingle, .estimateCMAES].contains(method)
        }

        let columns = MatchMetrics.names + StandardMetrics.names + ListenerMetrics.names + ["param_mae"]
        // With --shard, this process scores its share of the targets; each keeps its global
        // index (and seed), so the shards' outputs join into the single run's.
        let part = try shard.map { try Shard.parse($0) }
        let range = part?.range(of: items.count) ?? 0..<items.count
        var csv = CSVWriter(path: out + ".csv", header: ["target", "target_index", "method", "seconds", "evaluations", "samples"] + columns)
        // Synthetic targets: each parameter's error, per target and method (which parameters are
        // hard to recover; pinned ones are left out: every method is given them).
        var parameterCSV = CSVWriter(path: out + "-parameters.csv", header: ["target", "method", "parameter", "true_value", "found_value", "abs_error_normalised"])
        let hasTruth = items.contains { $0.truth != nil }
        var scores: [MatchMethod: [String: [Double]]] = [:]
        var bar = ProgressBar("evaluate \(synth)", total: range.count * active.count)
        var done = 0
        for i in range {
            let item = items[i]
            var target = item.target
            // Values the module has, in its ranges (a pitch outside its f0 range is searched instead).
            target.pinned = target.pinned.filter { key, value in module.parameters.first { $0.name == key }?.contains(value) ?? false }
            target.starts = target.starts.filter { names.contains($0.key) }
            for method in active {
                let outcome = evaluator.run(method, target: target, seed: seed &+ UInt64(i))
                let metrics = MatchMetrics.measure(outcome.audio, target.samples, sampleRate: rate, loss: evaluator.loss)
                let listener = item.analysis.map { ListenerMetrics.measure(outcome.audio, target.samples, sampleRate: rate, target: $0).values }
                    ?? [Double](repeating: .nan, count: ListenerMetrics.names.count)
                let mae = item.truth.map { t in zip(outcome.controls, t).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) } / Double(t.count) } ?? .nan
                if let t = item.truth, outcome.controls.count == t.count {
                    for (q, spec) in module.parameters.enumerated() where target.pinned[spec.name] == nil {
                        parameterCSV.row([item.name, method.rawValue, spec.name, spec.physical(Double(t[q])), spec.physical(Double(outcome.controls[q])),
                                          Double(abs(outcome.controls[q] - t[q]))])
                    }
                }
                let standard = StandardMetrics.measure(outcome.audio, target.samples, sampleRate: rate).values
                // Summarised as written (9 digits), so `evaluate-merge` reproduces the summary exactly.
                let row = (metrics.values + standard + listener + [mae]).map(CSVWriter.rounded)
                csv.row([item.name, i, method.rawValue, outcome.seconds, outcome.evaluations, target.samples.count] + row.map { $0.isNaN ? "" as Any : $0 as Any })
                for (c, v) in zip(columns, row) { scores[method, default: [:]][c, default: []].append(v) }
                done += 1
                if !quiet { bar.update(done) }
            }
            try csv.finish()   // results so far are on disk after every target
            if hasTruth { try parameterCSV.finish() }
        }
        try EvaluationSummary.write(out: out, scores: scores, methods: active, targets: range.count, columns: columns, budget: budget)
        print("wrote \(out).csv and \(out)-summary.csv")
        if let part, range.count < items.count {
            print("shard \(part): targets \(range.lowerBound)..<\(range.upperBound) of \(items.count); join the shards with `synthmatch evaluate-merge --out OUT SHARD...`")
        }
    }
}
