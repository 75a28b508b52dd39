import ArgumentParser
import AutodiffReference
import Datasets
import DSP
import Foundation
import Matching
import Synths

/// Gradient estimators for sound matching: how close each comes to the true gradient of a
/// loss with respect to a synth's (normalised, static) parameters, what one gradient costs,
/// and what that does to matching at an equal time budget (2 s, from 3 starts). Losses: DDSP's
/// multi-scale spectral loss (FFT 1024-64), the same without end-padded frames, and L2 on the
/// waveform.
///
/// Reference: the exact adjoint in float64. Contenders (float32 renders, as the product runs):
/// the exact adjoint; Swift's compiler autodiff on a scalar-loop version of each module
/// (`AutodiffReference.ScalarLoop`, float64: the language's AD has no float32 array story here);
/// central and forward finite differences (step 1e-3 in float32, plus central at 1e-6 in
/// float64); SPSA with 1, 4, 16 and 64 Rademacher perturbations (c = 0.01). Finite
/// differences and SPSA render all their perturbed points as one batch (both cores).
/// Diagnostics (accuracy only): the adjoint with float32 in the synth only, or the loss only.
struct GradientEstimatorStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradients",
        abstract: "Gradient estimators vs the exact adjoint: accuracy, cost, and matching at equal time.")

    @OptionGroup var options: StudyOptions
    @Option(help: "Random (point, target) pairs per module and loss.") var points: Int = 4
    @Option(help: "Seconds of audio.") var duration: Double = 0.25
    @Option(help: "Matching budget per estimator (seconds); 0 skips the matching runs.") var budget: Double = 2
    @Option(help: "Matching runs per estimator (the first problems' starts and targets).") var starts: Int = 3
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Option(parsing: .upToNextOption, help: "Only these modules (default: every registered module with an autodiff twin, and harmonic-noise).") var only: [String] = []

    static let sampleRate = 16000.0

    struct Module {
        let name: String
        let synth: any Synth
        var parameterCount: Int { synth.parameters.count }
    }

    var modules: [Module] {
        // Every registered module with a compiler-autodiff twin (the contender needs one).
        let registry = SynthRegistry.entries.map { Module(name: $0.name, synth: $0.make(Self.sampleRate)) }
            .filter { ScalarLoop.make(for: $0.synth, sampleCount: 16) != nil }
        // DDSP's harmonic-plus-noise with 16 harmonics (the registry's has 64) and 65 noise bands.
        return [Module(name: "harmonic-noise", synth: SynthRegistry.harmonicPlusNoise(sampleRate: Self.sampleRate, harmonicCount: 16))] + registry
    }

    static let frameCount = 4

    /// Normalised static parameters -> controls (every frame of a per-frame parameter equal).
    static func controls<T: SynthScalar>(_ synth: any Synth, _ points: [[Double]]) -> Controls<T> {
        let layout = ControlLayout(parameters: synth.parameters, frameCount: frameCount)
        var c = Controls<T>(zerosFor: layout, batchSize: points.count)
        for (b, x) in points.enumerated() {
            for p in 0..<x.count { for f in 0..<layout.count(p) { c.values[c.index(item: b, parameter: p, frame: f)] = T(x[p]) } }
        }
        return c
    }

    static func losses<T: SynthScalar>(_ synth: any Synth, _ loss: any AudioLoss, _ points: [[Double]], target: [T], n: Int) -> [Double] {
        let audio = synth.render(controls(synth, points) as Controls<T>, RenderRequest(sampleCount: n))
        let targets = AudioBatch(batchSize: points.count, sampleCount: n, samples: Array((0..<points.count).map { _ in target }.joined()))
        return loss.values(audio, targets).map { Double($0) }
    }

    static func adjoint<T: SynthScalar>(_ synth: any Synth, _ loss: any AudioLoss, _ x: [Double], target: [T], n: Int) -> [Double] {
        let c: Controls<T> = controls(synth, [x])
        let (audio, pullback) = synth.valueWithPullback(c, RenderRequest(sampleCount: n))
        let (_, dAudio) = loss.valuesWithGradient(audio, AudioBatch(batchSize: 1, sampleCount: n, samples: target))
        return summedOverFrames(pullback(dAudio))
    }

    /// d(loss)/d(each static parameter): a per-frame parameter's gradient summed over its frames.
    static func summedOverFrames<T: SynthScalar>(_ g: Controls<T>) -> [Double] {
        (0..<g.layout.parameters.count).map { p in (0..<g.layout.count(p)).reduce(0.0) { $0 + Double(g[item: 0, parameter: p, frame: $1]) } }
    }

    /// The adjoint with float32 in one half only (diagnostics: accuracy only, no matching runs),
    /// to tell whether the float32 adjoint's error comes from the synth or from the loss.
    static func splitAdjoint(_ synth: any Synth, _ loss: any AudioLoss, _ x: [Double], target: [Double], n: Int, float32Synth: Bool) -> [Double] {
        let request = RenderRequest(sampleCount: n)
        let targetBatch = AudioBatch(batchSize: 1, sampleCount: n, samples: target)
        if float32Synth {
            let c: Controls<Float> = controls(synth, [x])
            let (audio, pullback) = synth.valueWithPullback(c, request)
            let (_, dAudio) = loss.valuesWithGradient(AudioBatch(batchSize: 1, sampleCount: n, samples: audio.samples.map(Double.init)), targetBatch)
            return summedOverFrames(pullback(AudioBatch(batchSize: 1, sampleCount: n, samples: dAudio.samples.map(Float.init))))
        }
        let c: Controls<Double> = controls(synth, [x])
        let (audio, pullback) = synth.valueWithPullback(c, request)
        let (_, dAudio) = loss.valuesWithGradient(AudioBatch(batchSize: 1, sampleCount: n, samples: audio.samples.map(Float.init)),
                                                  AudioBatch(batchSize: 1, sampleCount: n, samples: target.map(Float.init)))
        return summedOverFrames(pullback(AudioBatch(batchSize: 1, sampleCount: n, samples: dAudio.samples.map(Double.init))))
    }

    enum Estimator: Hashable {
        case adjoint, adjointFloat32SynthOnly, adjointFloat32LossOnly, autodiff, centralFloat32, forwardFloat32, centralFloat64, spsa(Int)
        /// Diagnostics are measured for accuracy but not run as matching contenders.
        var isDiagnostic: Bool { self == .adjointFloat32SynthOnly || self == .adjointFloat32LossOnly }
        var name: String {
            switch self {
            case .adjointFloat32SynthOnly: return "adjoint_float32_synth_only"
            case .adjointFloat32LossOnly: return "adjoint_float32_loss_only"
            case .adjoint: return "adjoint_float32"
            case .autodiff: return "swift_autodiff_float64"
            case .centralFloat32: return "central_fd_float32"
            case .forwardFloat32: return "forward_fd_float32"
            case .centralFloat64: return "central_fd_float64"
            case .spsa(let k): return "spsa_\(k)"
            }
        }
    }

    /// Whether estimator `e` applies to the module (every module has a scalar-loop version
    /// today; `ScalarLoop.make` returns nil for those that would not).
    func available(_ e: Estimator, _ module: Module, n: Int) -> Bool {
        e != .autodiff || ScalarLoop.make(for: module.synth, sampleCount: n) != nil
    }

    func estimate(_ e: Estimator, module: Module, loss: any AudioLoss, x: [Double], target: [Double], n: Int,
                  random: inout CounterRandom) -> [Double]? {
        let synth = module.synth, p = x.count
        let target32 = target.map { Float($0) }
        switch e {
        case .adjoint:
            return Self.adjoint(synth, loss, x, target: target32, n: n)
        case .adjointFloat32SynthOnly, .adjointFloat32LossOnly:
            return Self.splitAdjoint(synth, loss, x, target: target, n: n, float32Synth: e == .adjointFloat32SynthOnly)
        case .autodiff:
            guard let loop = ScalarLoop.make(for: synth, sampleCount: n) else { return nil }
            let (y, pullback) = loop.valueWithPullback(x)
            let (_, dy) = loss.valuesWithGradient(AudioBatch(batchSize: 1, sampleCount: n, samples: y), AudioBatch(batchSize: 1, sampleCount: n, samples: target))
            return pullback(dy.samples)
        case .centralFloat32, .centralFloat64:
            let h = e == .centralFloat32 ? 1e-3 : 1e-6
            var batch: [[Double]] = []
            for i in 0..<p { var a = x, b = x; a[i] += h; b[i] -= h; batch += [a, b] }
            let values = e == .centralFloat32 ? Self.losses(synth, loss, batch, target: target32, n: n) : Self.losses(synth, loss, batch, target: target, n: n)
            return (0..<p).map { (values[2 * $0] - values[2 * $0 + 1]) / (2 * h) }
        case .forwardFloat32:
            let h = 1e-3
            var batch = [x]
            for i in 0..<p { var a = x; a[i] += h; batch.append(a) }
            let values = Self.losses(synth, loss, batch, target: target32, n: n)
            return (0..<p).map { (values[$0 + 1] - values[0]) / h }
        case .spsa(let k):
            let c = 0.01
            var deltas: [[Double]] = [], batch: [[Double]] = []
            for _ in 0..<k {
                let d = (0..<p).map { _ in random.next() & 1 == 0 ? -1.0 : 1.0 }
                deltas.append(d)
                batch += [zip(x, d).map { $0 + c * $1 }, zip(x, d).map { $0 - c * $1 }]
            }
            let values = Self.losses(synth, loss, batch, target: target32, n: n)
            var g = [Double](repeating: 0, count: p)
            for j in 0..<k {
                let slope = (values[2 * j] - values[2 * j + 1]) / (2 * c)
                for i in 0..<p { g[i] += slope * deltas[j][i] / Double(k) }   // 1 / delta_i = delta_i for +-1
            }
            return g
        }
    }

    func run() throws {
        Parallelism.threadCount = options.threads
        let out = options.out ?? "results/gradients"
        let n = Int(duration * Self.sampleRate)
        let estimators: [Estimator] = [.adjoint, .adjointFloat32SynthOnly, .adjointFloat32LossOnly, .autodiff, .centralFloat32, .forwardFloat32,
                                       .centralFloat64, .spsa(1), .spsa(4), .spsa(16), .spsa(64)]
        // DDSP's loss, the same with every frame inside the signal (no end padding: the
        // ripple `bench ripple` traces to the padded frames), and L2 on the waveform.
        let mss = MultiScaleSpectralLoss.ddsp(fftSizes: [1024, 512, 256, 128, 64])
        let lossList: [(String, any AudioLoss)] = [("mss", mss), ("mss_no_end_padding", mss.framed(.none)), ("l2_waveform", WaveformLoss(.l2))]
        var csv = CSVWriter(path: "\(out)/accuracy.csv", header: ["module", "loss", "estimator", "point", "cosine_similarity", "relative_error", "seconds_per_gradient"])
        var summary = CSVWriter(path: "\(out)/accuracy_summary.csv", header: ["module", "loss", "estimator", "mean_cosine_similarity", "median_relative_error", "median_seconds_per_gradient", "speed_vs_adjoint"])
        var matching = CSVWriter(path: "\(out)/matching.csv", header: ["module", "loss", "estimator", "run", "budget_s", "steps", "start_loss", "final_loss", "best_loss"])
        for module in modules where only.isEmpty || only.contains(module.name) {
            for (lossName, loss) in lossList {
                var random = CounterRandom(seed: seed, index: 0, stream: 17)
                var rows: [Estimator: [(Double, Double, Double)]] = [:]
                var problems: [([Double], [Double])] = []
                for point in 0..<points {
                    let x = (0..<module.parameterCount).map { _ in 0.2 + 0.6 * random.unit() }
                    let truth = (0..<module.parameterCount).map { _ in 0.2 + 0.6 * random.unit() }
                    let target = module.synth.render(Self.controls(module.synth, [truth]) as Controls<Double>, RenderRequest(sampleCount: n)).samples
                    problems.append((x, target))
                    let reference = Self.adjoint(module.synth, loss, x, target: target, n: n)
                    let referenceNorm = reference.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    for e in estimators {
                        guard available(e, module, n: n) else { continue }
                        var g: [Double] = []
                        let seconds = medianSeconds(repeats: 3) { var rr = random; g = estimate(e, module: module, loss: loss, x: x, target: target, n: n, random: &rr)! }
                        _ = random.next()
                        let dot = zip(g, reference).reduce(0) { $0 + $1.0 * $1.1 }, norm = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
                        let cosine = dot / max(norm * referenceNorm, 1e-300)
                        let relative = zip(g, reference).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot() / max(referenceNorm, 1e-300)
                        rows[e, default: []].append((cosine, relative, seconds))
                        csv.row([module.name, lossName, e.name, point, cosine, relative, seconds])
                    }
                }
                let adjointTime = (rows[.adjoint] ?? []).map(\.2).sorted()[points / 2]
                for e in estimators {
                    guard let r = rows[e], !r.isEmpty else { continue }
                    let cos = r.map(\.0).reduce(0, +) / Double(r.count), rel = r.map(\.1).sorted()[r.count / 2], t = r.map(\.2).sorted()[r.count / 2]
                    summary.row([module.name, lossName, e.name, cos, rel, t, adjointTime / t])
                    print(String(format: "%-11@ %-11@ %-22@ cos %.6f  rel.err %.2e  %.2e s/gradient (%.3gx the adjoint's time)",
                                 module.name, lossName, e.name, cos, rel, t, t / adjointTime))
                }
                guard budget > 0 else { continue }
                // Matching at equal wall clock, from each of the first `starts` problems' start.
                for run in 0..<min(starts, problems.count) {
                    let (start, target) = problems[run]
                    for e in estimators where !e.isDiagnostic {
                        var r = CounterRandom(seed: seed, index: UInt64(1 + run), stream: 19)
                        guard available(e, module, n: n) else { continue }
                        var logits = start.map { Double.log($0 / (1 - $0)) }
                        var adam = Adam(learningRate: 0.02)
                        let begin = DispatchTime.now().uptimeNanoseconds
                        var steps = 0
                        func current() -> [Double] { logits.map { 1 / (1 + Double.exp(-$0)) } }
                        let startLoss = Self.losses(module.synth, loss, [start], target: target.map { Float($0) }, n: n)[0]
                        var best = startLoss
                        while Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9 < budget {
                            let x = current()
                            let g = estimate(e, module: module, loss: loss, x: x, target: target, n: n, random: &r)!
                            adam.update(&logits, gradient: zip(g, x).map { $0 * $1 * (1 - $1) })
                            steps += 1
                            if steps % 10 == 0 { best = min(best, Self.losses(module.synth, loss, [current()], target: target.map { Float($0) }, n: n)[0]) }
                        }
                        let final = Self.losses(module.synth, loss, [current()], target: target.map { Float($0) }, n: n)[0]
                        best = min(best, final)
                        matching.row([module.name, lossName, e.name, run, budget, steps, startLoss, final, best])
                        print(String(format: "  matching run %d %-22@ %6d steps in %.0f s: loss %.4f -> %.4f", run, e.name, steps, budget, startLoss, final))
                    }
                }
            }
        }
        try csv.finish()
        try summary.finish()
        try matching.finish()
        try StudyPlots.gradients(out)
        print("wrote \(out)/accuracy.csv, accuracy_summary.csv, matching.csv and gradients.svg")
    }
}
