import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import Synths

/// `synthmatch match`: the product's main job.
struct Match: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the synth parameters that best reproduce a recording.",
        discussion: """
            Reads TARGET (any format libsndfile opens, any rate and channel count: downmixed to mono, resampled to the
            model's rate, trimmed or zero-padded to the model's length from the start), estimates the parameters with the
            network, refines them by gradient descent on the multi-scale spectral loss from the estimate and from
            perturbations of it, and writes into --out: preset.json (physical values with names), match.wav (the
            re-synthesis) and refinement.csv (loss per step and restart).
            Without --model, models/SYNTH.h5 is used when it exists; otherwise refinement starts from random points.
            Example: synthmatch match Examples/subtractive-bass.wav --synth subtractive --out match-bass
            """)

    @Argument(help: "Target recording.") var target: String
    @Option(help: "Module name (see `synthmatch synths`).") var synth: String
    @Option(help: "Estimator model (default: models/SYNTH.h5 if present).") var model: String?
    @Flag(help: "Ignore any model: refine from random starts.") var noModel = false
    @Option(help: "Refinement steps.") var steps: Int = 300
    @Option(help: "Refinements run side by side (the estimate and perturbations of it).") var restarts: Int = 4
    @Option(help: "Refinement learning rate (Adam, on the parameters' logits).") var learningRate: Double = 0.05
    @Option(help: "Seconds of audio to match when there is no model.") var duration: Double = 1
    @Option(help: "Sample rate when there is no model.") var sampleRate: Double = 16000
    @Option(help: "Seed of the perturbations / random starts.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var out: String = "match"

    func run() throws {
        guard steps >= 0, restarts >= 1 else { throw ValidationError("--steps must be >= 0 and --restarts >= 1") }
        var estimator: ParameterEstimator?
        let modelPath = noModel ? nil : (model ?? (FileManager.default.fileExists(atPath: "models/\(synth).h5") ? "models/\(synth).h5" : nil))
        if let modelPath {
            let loaded = try Checkpoint.load(modelPath)
            guard loaded.estimator.synthName == synth else { throw ValidationError("\(modelPath) is a model for \(loaded.estimator.synthName), not \(synth)") }
            estimator = loaded.estimator
        } else {
            FileHandle.standardError.write("match: no model for \(synth): refining from \(restarts) random starts\n".data(using: .utf8)!)
        }
        let rate = estimator?.sampleRate ?? sampleRate
        let count = estimator?.sampleCount ?? Int((duration * rate).rounded())
        let module = try SynthRegistry.make(synth, sampleRate: rate)
        if let estimator, estimator.parameters != module.parameters {
            throw ValidationError("\(modelPath!) was trained for another version of \(synth)'s parameters; retrain it")
        }
        let audio = try AudioFile.read(target, sampleRate: rate)
        let samples = audio.fitted(to: count)
        let rms = (samples.reduce(0) { $0 + Double($1 * $1) } / Double(count)).squareRoot()
        guard rms > 1e-5 else { throw ValidationError("\(target): the first \(count) samples are silent (RMS \(rms)); nothing to match") }
        var options = MatchOptions()
        options.steps = steps
        options.restarts = restarts
        options.learningRate = learningRate
        options.seed = seed
        try options.loss.validate(sampleCount: count)

        let result = Matcher.match(target: samples, synth: module, estimator: estimator, options: options)
        let metrics = MatchMetrics.measure(result.audio, samples, sampleRate: rate, loss: options.loss)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try writePreset(result, module: module, metrics: metrics, to: (out as NSString).appendingPathComponent("preset.json"))
        try AudioFile.write(MonoAudio(samples: result.audio, sampleRate: rate), to: (out as NSString).appendingPathComponent("match.wav"))
        var csv = CSVWriter(path: (out as NSString).appendingPathComponent("refinement.csv"), header: ["step", "restart", "loss"])
        for (s, losses) in result.history.enumerated() { for (r, l) in losses.enumerated() { csv.row([s, r, l]) } }
        try csv.finish()
        if let e = result.estimateLoss { print(String(format: "estimate: spectral loss %.4f", e)) }
        print(String(format: "refined (%d steps x %d restarts, %.1f s): spectral loss %.4f, log-spectral distance %.2f dB, mel-cepstral distance %.2f dB",
                     steps, restarts, result.seconds, metrics.spectral, metrics.logSpectral, metrics.melCepstral))
        print("wrote \(out)/preset.json, \(out)/match.wav, \(out)/refinement.csv")
    }

    func writePreset(_ result: MatchResult, module: any Synth, metrics: MatchMetrics, to path: String) throws {
        struct Parameter: Encodable { let name: String; let unit: String; let value: Double; let normalised: Double }
        struct Preset: Encodable {
            let synth: String; let target: String; let sample_rate: Double; let samples: Int
            let parameters: [Parameter]
            let spectral_loss: Double; let log_spectral_distance_db: Double; let mel_cepstral_distance_db: Double
            let estimate_spectral_loss: Double?
        }
        let parameters = module.parameters.enumerated().map { q, spec in
            Parameter(name: spec.name, unit: spec.unit, value: spec.physical(Double(result.best.values[q])), normalised: Double(result.best.values[q]))
        }
        let preset = Preset(synth: module.name, target: target, sample_rate: module.sampleRate, samples: result.audio.count, parameters: parameters,
                            spectral_loss: metrics.spectral, log_spectral_distance_db: metrics.logSpectral,
                            mel_cepstral_distance_db: metrics.melCepstral, estimate_spectral_loss: result.estimateLoss)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(preset), to: path)
    }
}
