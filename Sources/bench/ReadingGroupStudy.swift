import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import Synths

/// The DDSP reading group's three experiments with the group's own settings (their script,
/// `experiments/ddsp/ddsp_from_sratch.py` in mclemcrew/music-ai-reading-group): 4 s at
/// 16 kHz, plain sums of sines as targets with their amplitudes, 250 untied frames of 60
/// harmonics and 65 noise bands, f0 given, their loss (FFT sizes 2048..64, hop N/4, centred
/// reflect-padded STFT, mean |S - Y| + mean |log(S + 1e-7) - log(Y + 1e-7)| summed over
/// sizes), Adam at 1e-2 on the harmonic controls and 1e-3 on the noise, 3000 steps, starts
/// at logits 0.01 N(0, 1). Every seed is one item of one batch.
///
/// What differs, and cannot be set the same here: the `harmonic` module's amplitudes are
/// DDSP's (an overall `exp_sigmoid` amplitude times a normalised `exp_sigmoid` distribution,
/// masked above Nyquist), where the group's script learns 60 free `softplus` amplitudes
/// (aliasing above Nyquist); the noise is DDSP's FIR-filtered noise, drawn once per run
/// rather than every step. `Experiments/reading_group/reference.py` runs the group's
/// setup in torch with either parametrisation, which isolates the first difference.
struct ReadingGroupStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reading-group",
        abstract: "The DDSP reading group's three experiments with their settings (4 s, 60 harmonics, linear + log loss, 3000 steps).")

    @OptionGroup var options: StudyOptions

    @Option(help: "Adam steps.")
    var steps: Int = 3000

    @Option(help: "Adam learning rate on the harmonic controls' logits (the noise gets a tenth).")
    var learningRate: Double = 1e-2

    @Option(help: "Weight of the log-magnitude term (the group's loss: 1).")
    var logWeight: Double = 1

    @Option(help: "Epsilon inside log(S + eps) (the group's: 1e-7).")
    var logEpsilon: Double = 1e-7

    @Option(help: "Number of seeds (each a batch item with its own start and noise).")
    var seeds: Int = 5

    @Option(help: "Length in seconds (the group's: 4).")
    var seconds: Double = 4

    @Option(parsing: .upToNextOption, help: "Targets to run (a440, c261, e329_odd); all by default.")
    var only: [String] = []

    @Option(help: "Name of this variant in the CSVs.")
    var variant: String = "group_settings"

    struct Target {
        let name: String
        let f0: Double
        /// The group's absolute amplitude of harmonic k = index + 1.
        let amplitudes: [Double]
    }

    static let targets = [
        Target(name: "a440", f0: 440, amplitudes: [1, 0.5, 0.25]),
        Target(name: "c261", f0: 261.63, amplitudes: [1, 0.7, 0.5, 0.3, 0.15, 0.08]),
        Target(name: "e329_odd", f0: 329.63, amplitudes: [1, 0, 0.6, 0, 0.3, 0, 0.15]),
    ]
    static let sampleRate = 16000.0, frameCount = 250, harmonicCount = 60, noiseBands = 65

    /// The group's loss, expressed in the one spectral-loss type.
    var loss: MultiScaleSpectralLoss {
        MultiScaleSpectralLoss(resolutions: [2048, 1024, 512, 256, 128, 64].map {
            STFTConfiguration(fftSize: $0, hopSize: $0 / 4, padding: .centerReflect)
        }, linearWeight: 1, logWeight: logWeight, logarithm: .offset(epsilon: logEpsilon), scaleReduction: .sum)
    }

    func validate() throws {
        guard (1...1_000_000).contains(steps) else { throw ValidationError("--steps must be within 1...1000000") }
        guard (1...64).contains(seeds) else { throw ValidationError("--seeds must be within 1...64") }
        guard seconds.isFinite, seconds > 0.2, seconds <= 60 else { throw ValidationError("--seconds must be in (0.2, 60]") }
        guard learningRate.isFinite, learningRate > 0, learningRate <= 1 else { throw ValidationError("--learning-rate must be in (0, 1]") }
        guard logWeight.isFinite, logWeight >= 0 else { throw ValidationError("--log-weight must be finite and not negative") }
        guard logEpsilon.isFinite, logEpsilon > 0 else { throw ValidationError("--log-epsilon must be finite and positive") }
    }

    func run() throws {
        Parallelism.threadCount = options.threads
        let out = options.out ?? "results/reading_group"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let model = SynthRegistry.harmonicPlusNoise(sampleRate: Self.sampleRate, harmonicCount: Self.harmonicCount,
                                                    noiseBands: Self.noiseBands)
        let bank = model.parts[0] as! HarmonicOscillatorBank
        let sampleCount = Int(seconds * Self.sampleRate)
        var summary = CSVWriter(path: "\(out)/\(variant)-runs.csv", header: [
            "target", "variant", "seed", "steps", "final_loss", "rms_ratio", "max_relative_error", "max_absent_amplitude",
            "start_log_term_amplitude_gradient", "start_linear_term_amplitude_gradient", "start_share_of_bins_above_target",
        ] + (1...7).map { "harmonic_\($0)" })
        Provenance.record("seeds", "1...\(seeds)")
        for target in Self.targets where only.isEmpty || only.contains(target.name) {
            let targetBatch = Self.renderTarget(target, sampleCount: sampleCount, batchSize: seeds)
            let initial = start(layout: model.layout(frameCount: Self.frameCount), f0: target.f0, bank: bank)
            let votes = startVotes(model: model, initial: initial, target: targetBatch)
            var fit = ControlFit(synth: model, loss: loss, target: targetBatch, initial: initial,
                                 trainable: { $0.name != "f0" },
                                 learningRateScale: { $0.name.hasPrefix("noise_") ? 0.1 : 1 },
                                 optimiser: Adam(learningRate: learningRate), schedule: .constant,
                                 noiseKeys: (1...seeds).map { UInt64($0) })
            var curve = CSVWriter(path: "\(out)/\(variant)-\(target.name)-curve.csv",
                                  header: ["step", "seed", "loss", "overall_amplitude"])
            var progress = ProgressBar("\(target.name) \(variant)", total: steps)
            var losses = [Float](repeating: 0, count: seeds)
            for step in 0...steps {
                losses = step < steps ? fit.step() : loss.values(fit.render(), targetBatch)
                if step % 100 == 0 || step == steps {
                    let c = fit.controls
                    for s in 0..<seeds {
                        curve.row([step, s + 1, Double(losses[s]),
                                   bank.parameters[0].physical(Double(meanOverFrames(c, item: s, parameter: 0)))])
                    }
                }
                progress.update(step, note: String(format: "loss %.3f", Double(losses[0])))
            }
            try curve.finish()
            let finalAudio = fit.render()
            let targetRMS = Self.rms(targetBatch, item: 0)
            for s in 0..<seeds {
                let learned = amplitudes(fit.controls, item: s, bank: bank, f0: target.f0)
                let present = target.amplitudes.enumerated().filter { $0.element > 0 }
                let maxError = present.map { abs(learned[$0.offset] - $0.element) / $0.element }.max() ?? 0
                let absent = learned.enumerated().filter { k in !present.contains { $0.offset == k.offset } }.map(\.element).max() ?? 0
                var row: [Any] = [target.name, variant, s + 1, steps, Double(losses[s]), Self.rms(finalAudio, item: s) / targetRMS,
                                  maxError, absent, votes.logGradient[s], votes.linearGradient[s], votes.shareAbove[s]]
                row += (0..<7).map { $0 < learned.count ? learned[$0] : 0 }
                summary.row(row)
                print(String(format: "%@ seed %d: loss %.4f, output/target RMS %.3f, max harmonic error %.1f%%",
                             target.name, s + 1, Double(losses[s]), Self.rms(finalAudio, item: s) / targetRMS, 100 * maxError))
            }
        }
        try summary.finish()
        print("wrote \(out)/\(variant)-runs.csv")
    }

    /// `sum_k a_k sin(2 pi k f0 n / sr)`, n from 0, as the group's `make_target`.
    static func renderTarget(_ target: Target, sampleCount: Int, batchSize: Int) -> AudioBatch<Float> {
        let one = (0..<sampleCount).map { n -> Float in
            let t = Double(n) / sampleRate
            return Float(target.amplitudes.enumerated().reduce(0.0) { $0 + $1.element * sin(2 * .pi * target.f0 * Double($1.offset + 1) * t) })
        }
        return AudioBatch(rows: [[Float]](repeating: one, count: batchSize))
    }

    /// Every control at sigmoid(0.01 N(0, 1)), the group's start; f0 at the target. Seed s is item s - 1.
    func start(layout: ControlLayout, f0: Double, bank: HarmonicOscillatorBank) -> Controls<Float> {
        var c = Controls<Float>(zerosFor: layout, batchSize: seeds)
        for s in 0..<seeds {
            var rng = CounterRandom(seed: UInt64(s + 1), index: 0, stream: 16)
            for p in layout.parameters.indices {
                for f in 0..<layout.count(p) { c[item: s, parameter: p, frame: f] = Float(1 / (1 + exp(-0.01 * rng.normal()))) }
            }
            c.set(item: s, parameter: bank.f0Index, to: Float(bank.parameters[bank.f0Index].normalised(f0)))
        }
        return c
    }

    /// Why the overall amplitude moves at the start: d(term)/d(amplitude control), frames
    /// summed, for the log and the linear terms alone, and the share of STFT bins (all
    /// resolutions) where the prediction's magnitude exceeds the target's.
    func startVotes(model: SynthSum, initial: Controls<Float>, target: AudioBatch<Float>)
        -> (logGradient: [Double], linearGradient: [Double], shareAbove: [Double]) {
        let request = RenderRequest(sampleCount: target.sampleCount, noiseKeys: (1...seeds).map { UInt64($0) })
        let (audio, pullback) = model.valueWithPullback(initial, request)
        func amplitudeGradient(_ l: MultiScaleSpectralLoss) -> [Double] {
            let g = pullback(l.valuesWithGradient(audio, target).1)
            return (0..<seeds).map { s in (0..<Self.frameCount).reduce(0.0) { $0 + Double(g[item: s, parameter: 0, frame: $1]) } }
        }
        var logOnly = loss, linearOnly = loss
        logOnly.linearWeight = 0; logOnly.logWeight = 1
        linearOnly.logWeight = 0; linearOnly.linearWeight = 1
        let share = (0..<seeds).map { s -> Double in
            var above = 0, total = 0
            for r in loss.resolutions {
                let p = Self.power(audio.item(s), r), y = Self.power(target.item(s), r)
                for (a, b) in zip(p, y) { total += 1; if a > b { above += 1 } }
            }
            return Double(above) / Double(total)
        }
        return (amplitudeGradient(logOnly), amplitudeGradient(linearOnly), share)
    }

    func meanOverFrames(_ c: Controls<Float>, item s: Int, parameter p: Int) -> Float {
        (0..<Self.frameCount).reduce(Float(0)) { $0 + c[item: s, parameter: p, frame: $1] } / Float(Self.frameCount)
    }

    /// Learned amplitude of each harmonic (A d_k, Nyquist-masked, normalised), averaged over frames.
    func amplitudes(_ c: Controls<Float>, item s: Int, bank: HarmonicOscillatorBank, f0: Double) -> [Double] {
        let specs = bank.parameters
        var mean = [Double](repeating: 0, count: Self.harmonicCount)
        for f in 0..<Self.frameCount {
            let a = specs[0].physical(Double(c[item: s, parameter: 0, frame: f]))
            let w = (1...Self.harmonicCount).map { k in
                Double(k) * f0 < Self.sampleRate / 2 ? specs[k].physical(Double(c[item: s, parameter: k, frame: f])) : 0
            }
            let sum = w.reduce(0, +)
            for k in 0..<Self.harmonicCount { mean[k] += a * w[k] / sum / Double(Self.frameCount) }
        }
        return mean
    }

    /// |STFT x|^2 at every frame and bin.
    static func power(_ x: [Float], _ configuration: STFTConfiguration) -> [Double] {
        ShortTimeFourierTransform<Double>(configuration, sampleCount: x.count)?.power(x.map(Double.init)) ?? []
    }

    static func rms(_ audio: AudioBatch<Float>, item s: Int) -> Double {
        let row = audio.item(s)
        return (row.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(row.count)).squareRoot()
    }
}
