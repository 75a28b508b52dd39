import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import Synths

/// The DDSP reading group's seed experiments: learn the harmonic amplitudes (and noise
/// filter) of three static tones with the multi-scale spectral loss and Adam, f0 given;
/// then again with f0 learned from starts off the target, to show the loss's non-convexity
/// in f0.
struct DDSPSeedStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddsp-seed",
        abstract: "Learn harmonic amplitudes of three tones (f0 given), then with f0 learned from a wrong start.")

    @OptionGroup var options: StudyOptions

    @Option(help: "Adam steps per run.")
    var steps: Int = 1500

    @Option(help: "Adam learning rate on the controls' logits.")
    var learningRate: Double = 0.05

    @Option(help: "Learning rate at the last step, as a fraction of --learning-rate (exponential decay).")
    var finalRateFraction: Double = 0.05

    @Option(help: "Seed for the random initial amplitudes.")
    var seed: UInt64 = 1

    @Option(parsing: .upToNextOption, help: "Relative f0 offsets of the learned-f0 runs' starts.")
    var f0Offsets: [Double] = [0.01, -0.03, 0.10, -0.10, 0.25, -0.25, 0.50]

    @Option(help: "Learning-rate multiplier for f0 (its logit moves f0 by ln(200) per unit).")
    var f0RateScale: Double = 0.1

    @Option(help: "Weight of the log-magnitude term (DDSP's library default is 0, its configs use 1).")
    var logWeight: Double = 0

    @Option(parsing: .upToNextOption, help: "Targets to run (a440, c261, e329_odd); all by default.")
    var only: [String] = []

    @Flag(help: "Leave out the filtered noise (the harmonic bank alone).")
    var noNoise = false

    @Option(help: "Learning-rate multiplier for the noise bands (the reading group's script: 0.1).")
    var noiseRateScale: Double = 1

    @Flag(help: "Run only the f0-given fits (no learned-f0 runs).")
    var fixedF0Only = false

    @Option(help: "Take the log as log(S + EPS) (the reading group's, EPS 1e-7) instead of DDSP's safe_log (1e-5).")
    var logOffset: Double?

    @Option(help: "STFT framing of every resolution: endZeros (DDSP's, default), centerReflect (torch.stft's), none.")
    var framing: STFTPadding = .endZeros

    struct Target {
        let name: String
        let f0: Double
        /// Relative amplitude of harmonic k (1-based) for the harmonics present.
        let harmonics: [(k: Int, amplitude: Double)]
    }

    static let targets = [
        Target(name: "a440", f0: 440, harmonics: [(1, 1), (2, 0.5), (3, 0.25)]),
        Target(name: "c261", f0: 261.63, harmonics: (1...6).map { ($0, 1.0 / Double($0)) }),
        Target(name: "e329_odd", f0: 329.63, harmonics: [(1, 1), (3, 1.0 / 3), (5, 1.0 / 5), (7, 1.0 / 7)]),
    ]

    static let sampleRate = 16000.0, sampleCount = 16000, frameCount = 250, level = 0.5

    /// The options the collapse study added (the older ones predate these checks and are left as they were).
    func validate() throws {
        guard noiseRateScale.isFinite, noiseRateScale >= 0 else { throw ValidationError("--noise-rate-scale must be finite and not negative") }
        if let logOffset { guard logOffset.isFinite, logOffset > 0 else { throw ValidationError("--log-offset must be finite and positive") } }
    }

    func run() throws {
        Parallelism.threadCount = options.threads
        let out = options.out ?? "results/ddsp_seed"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let full = SynthRegistry.harmonicPlusNoise(sampleRate: Self.sampleRate)
        let model = noNoise ? SynthSum(name: "harmonic-bank", parts: [full.parts[0]]) : full
        let bank = model.parts[0] as! HarmonicOscillatorBank
        var loss = MultiScaleSpectralLoss.ddsp(logMagnitudeWeight: logWeight).framed(framing)
        if let logOffset { loss.logarithm = .offset(epsilon: logOffset) }
        var summary = CSVWriter(path: "\(out)/summary.csv", header: [
            "target", "run", "f0_start_hz", "f0_final_hz", "f0_target_hz", "final_loss", "max_relative_amplitude_error", "steps"])
        for target in Self.targets where only.isEmpty || only.contains(target.name) {
            let targetAudio = renderTarget(target, bank: bank)
            try AudioFile.write(MonoAudio(samples: targetAudio.samples, sampleRate: Self.sampleRate), to: "\(out)/\(target.name)_target.wav")
            var runs: [(name: String, start: Double?)] = [("fixed_f0", nil)]
            for o in f0Offsets where !fixedF0Only { runs.append((String(format: "learn_f0_%@%.0fpct", o < 0 ? "minus" : "plus", abs(o) * 100), target.f0 * (1 + o))) }
            for run in runs {
                let result = try fit(target, run: run.name, f0Start: run.start, model: model, bank: bank, loss: loss,
                                     targetAudio: targetAudio, out: out)
                summary.row([target.name, run.name, run.start ?? target.f0, result.f0, target.f0, result.loss,
                             result.maxError, steps])
                print(String(format: "%@ %@: loss %.4f, f0 %.2f Hz (target %.2f), max harmonic amplitude error %.2f%%",
                             target.name, run.name, result.loss, result.f0, target.f0, 100 * result.maxError))
            }
        }
        try summary.finish()
        print("wrote \(out)/summary.csv")
    }

    /// Target audio from the harmonic bank with exact amplitudes: a_k = level * t_k / sum t.
    func renderTarget(_ target: Target, bank: HarmonicOscillatorBank) -> AudioBatch<Float> {
        var c = Controls<Double>(zerosFor: bank.layout(frameCount: Self.frameCount), batchSize: 1)
        c.set(item: 0, parameter: 0, to: bank.parameters[0].normalised(Self.level))
        for h in target.harmonics { c.set(item: 0, parameter: h.k, to: bank.parameters[h.k].normalised(h.amplitude)) }
        c.set(item: 0, parameter: bank.f0Index, to: bank.parameters[bank.f0Index].normalised(target.f0))
        return bank.render(c.converted(to: Float.self), RenderRequest(sampleCount: Self.sampleCount))
    }

    func fit(_ target: Target, run: String, f0Start: Double?, model: SynthSum, bank: HarmonicOscillatorBank,
             loss: MultiScaleSpectralLoss, targetAudio: AudioBatch<Float>, out: String)
        throws -> (loss: Double, f0: Double, maxError: Double) {
        let layout = model.layout(frameCount: Self.frameCount)
        var initial = Controls<Float>(defaultsFor: layout, batchSize: 1)
        var rng = CounterRandom(seed: seed, index: 0)
        for p in 0...bank.harmonicCount { initial.set(item: 0, parameter: p, to: Float(0.2 + 0.6 * rng.unit())) }
        let f0Index = bank.f0Index
        initial.set(item: 0, parameter: f0Index, to: Float(model.parameters[f0Index].normalised(f0Start ?? target.f0)))
        let learnF0 = f0Start != nil
        var fit = ControlFit(synth: model, loss: loss, target: targetAudio, initial: initial,
                             trainable: { learnF0 || $0.name != "f0" },
                             learningRateScale: { $0.name == "f0" ? f0RateScale : ($0.name.hasPrefix("noise_") ? noiseRateScale : 1) }, tieFrames: true,
                             optimiser: Adam(learningRate: learningRate),
                             schedule: .exponential(finalFraction: finalRateFraction, steps: steps), noiseKeys: [seed])
        var header = ["step", "loss", "f0_hz", "overall_amplitude", "mean_noise_gain"]
        for h in target.harmonics { header += ["harmonic_\(h.k)_amplitude", "harmonic_\(h.k)_relative_error"] }
        var csv = CSVWriter(path: "\(out)/\(target.name)_\(run).csv", header: header)
        try AudioFile.write(MonoAudio(samples: fit.render().samples, sampleRate: Self.sampleRate), to: "\(out)/\(target.name)_\(run)_start.wav")
        let noiseSpecs = model.parameters.indices.filter { model.parameters[$0].name.hasPrefix("noise_") }
        var progress = ProgressBar("\(target.name) \(run)", total: steps)
        var last: (loss: Double, f0: Double, maxError: Double) = (0, 0, 0)
        for step in 0...steps {
            let controls = fit.controls
            let (amplitudes, f0) = harmonicAmplitudes(controls, bank: bank, count: bank.harmonicCount)
            let sum = target.harmonics.reduce(0) { $0 + $1.amplitude }
            // The overall harmonic amplitude and the noise bands' mean gain (frame 0): where a
            // collapse goes (README, "DDSP seed experiments").
            let overall = bank.parameters[0].physical(Double(controls[item: 0, parameter: 0, frame: 0]))
            let noiseGain = noiseSpecs.isEmpty ? 0 : noiseSpecs.reduce(0.0) { $0 + model.parameters[$1].physical(Double(controls[item: 0, parameter: $1, frame: 0])) } / Double(noiseSpecs.count)
            var row: [Any] = [step, 0.0, f0, overall, noiseGain]
            var maxError = 0.0
            for h in target.harmonics {
                let expected = Self.level * h.amplitude / sum
                let err = abs(amplitudes[h.k - 1] - expected) / expected
                maxError = max(maxError, err)
                row += [amplitudes[h.k - 1], err]
            }
            let value = step < steps ? Double(fit.step()[0]) : Double(loss.values(fit.render(), targetAudio)[0])
            row[1] = value
            if step % 10 == 0 || step == steps { csv.row(row) }
            last = (value, f0, maxError)
            progress.update(step, note: String(format: "loss %.4f", value))
        }
        try csv.finish()
        try AudioFile.write(MonoAudio(samples: fit.render().samples, sampleRate: Self.sampleRate), to: "\(out)/\(target.name)_\(run)_final.wav")
        return last
    }

    /// Physical per-harmonic amplitudes A d_k of frame 0, and f0, from normalised controls.
    func harmonicAmplitudes(_ controls: Controls<Float>, bank: HarmonicOscillatorBank, count: Int) -> ([Double], Double) {
        let specs = bank.parameters
        let a = specs[0].physical(Double(controls[item: 0, parameter: 0, frame: 0]))
        let f0 = specs[bank.f0Index].physical(Double(controls[item: 0, parameter: bank.f0Index, frame: 0]))
        let weights = (1...count).map { specs[$0].physical(Double(controls[item: 0, parameter: $0, frame: 0])) }
        let valid = (1...count).map { Double($0) * f0 < Self.sampleRate / 2 }
        let sum = zip(weights, valid).reduce(0) { $0 + ($1.1 ? $1.0 : 0) }
        return (zip(weights, valid).map { $1 ? a * $0 / sum : 0 }, f0)
    }
}

extension STFTPadding: ExpressibleByArgument {}
