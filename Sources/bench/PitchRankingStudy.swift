import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching

/// Do distances rank pitch? DiffMoog's test (Uzrad et al. 2024, Table 1; after Turian &
/// Henry 2020), on its own setup, with DiffMoog's spectrogram losses and ours side by side.
///
/// Setup read from DiffMoog's `misc_notebooks/wasserstein_research.ipynb` and `src/synth`
/// (re-implemented, not copied): 1 s at 16 kHz, `t = linspace(0, 1, 16000)`; a target and a
/// prediction drawn independently per trial (amplitude 10^U(-2.5, 0), frequency log-uniform in
/// 30..4000 Hz, phase U(0, 2 pi)) of one naive waveform (sine, `sign(sin)` square, or the
/// closed-form sawtooth); a perturbed copy of the prediction moved `c` cents further from the
/// target. A trial scores 1 when d(target, prediction) < d(target, perturbed). DiffMoog's
/// column "f +- epsilon" was meant as the share of trials whose f0 gradient points to the
/// target, but its notebook differentiates the frequency itself (`predicted_freq.backward()`),
/// so it measures only whether the target lies below the prediction: ~0.5 for every loss by
/// construction. Here that column is the test it meant, by a central step of +-0.5 cent.
///
/// DiffMoog's losses (its `spectral_loss.py` presets `mss_magnitude`, `mss_cumsum_time`,
/// `mss_cumsum_freq`): torchaudio power spectrograms (FFT 2048..64, hop N/4, centred, reflect)
/// compared by mean |.| after the identity, a cumulative sum over frames ("Wasserstein time")
/// or over bins ("Wasserstein frequency"), summed over sizes. Their mel variants are not
/// reproduced (torchaudio's HTK filterbank with 1024 bands).
struct PitchRankingStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pitch-ranking",
        abstract: "DiffMoog's pitch-ranking test (+-epsilon, 300, 600 cents) for its losses and ours.")

    @OptionGroup var options: StudyOptions

    @Option(help: "Trials per waveform and seed (DiffMoog: 1000).")
    var trials: Int = 1000

    @Option(help: "Number of seeds (each a fresh draw of all trials).")
    var seeds: Int = 5

    @Option(parsing: .upToNextOption, help: "Perturbations in cents; 0 is the local test (+-0.5 cent).")
    var cents: [Double] = [0, 300, 600]

    @Option(help: "Compare the DiffMoog losses with reference values (Experiments/reference/diffmoog_loss_vectors.json) and stop.")
    var checkReference: String?

    static let sampleRate = 16000.0, sampleCount = 16000
    static let waveforms = ["sine", "square", "sawtooth"]

    struct Draw { var amplitude: Double; var frequency: Double; var phase: Double }

    func validate() throws {
        guard (1...100_000).contains(trials) else { throw ValidationError("--trials must be within 1...100000") }
        guard (1...1000).contains(seeds) else { throw ValidationError("--seeds must be within 1...1000") }
        guard !cents.isEmpty, cents.allSatisfy({ $0.isFinite && (0...2400).contains($0) }) else { throw ValidationError("--cents must be within 0...2400") }
    }

    func run() throws {
        Parallelism.threadCount = options.threads
        if let checkReference { return try check(checkReference) }
        let out = options.out ?? "results/pitch_ranking"
        let distances = Self.distances()
        Provenance.record("seeds", "1...\(seeds)")
        var rows = CSVWriter(path: "\(out)/accuracy.csv", header: ["waveform", "loss", "family", "cents", "seed", "trials", "accuracy"])
        var summary = CSVWriter(path: "\(out)/summary.csv", header: [
            "waveform", "loss", "family", "cents", "accuracy", "ci_low", "ci_high", "seeds", "trials_per_seed"])
        var accuracies: [String: [Double]] = [:]
        for (w, waveform) in Self.waveforms.enumerated() {
            for seed in 1...seeds {
                let draws = (0..<trials).map { i -> (Draw, Draw) in
                    var rng = CounterRandom(seed: UInt64(seed), index: UInt64(i), stream: UInt64(100 + w))
                    return (Self.draw(&rng), Self.draw(&rng))
                }
                let target = render(waveform, draws.map { $0.0 })
                let prediction = render(waveform, draws.map { $0.1 })
                for c in cents {
                    // The local test compares a step toward the target with a step away.
                    let away = render(waveform, draws.map { Self.moved($0.1, from: $0.0, cents: c == 0 ? 0.5 : c) })
                    let near = c == 0 ? render(waveform, draws.map { Self.moved($0.1, from: $0.0, cents: -0.5) }) : prediction
                    for d in distances {
                        let dn = d.measure(near, target), da = d.measure(away, target)
                        let hits = zip(dn, da).filter { $0 < $1 }.count
                        let accuracy = Double(hits) / Double(trials)
                        rows.row([waveform, d.name, d.family, c, seed, trials, accuracy])
                        accuracies["\(waveform)|\(d.name)|\(c)", default: []].append(accuracy)
                    }
                }
                print("\(waveform) seed \(seed) done")
            }
        }
        for waveform in Self.waveforms {
            for d in distances {
                for c in cents {
                    let a = accuracies["\(waveform)|\(d.name)|\(c)"] ?? []
                    let m = Bootstrap.meanInterval(a)
                    summary.row([waveform, d.name, d.family, c, m.mean, m.low, m.high, seeds, trials])
                }
            }
        }
        try rows.finish()
        try summary.finish()
        print("wrote \(out)/accuracy.csv and summary.csv")
    }

    /// The re-implemented DiffMoog losses against torch's values for the same signals.
    func check(_ path: String) throws {
        struct Case: Decodable { let waveform: String; let prediction: [Double]; let target: [Double]; let identity, time, frequency: Double }
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        var worst = 0.0
        for c in cases {
            func one(_ v: [Double]) -> Draw { Draw(amplitude: v[0], frequency: v[1], phase: v[2]) }
            let p = render(c.waveform, [one(c.prediction)]), t = render(c.waveform, [one(c.target)])
            for (transform, expected) in [(DiffMoogSpectrogramLoss.Transform.identity, c.identity), (.cumulativeTime, c.time), (.cumulativeFrequency, c.frequency)] {
                let got = DiffMoogSpectrogramLoss(transform).values(p, t)[0]
                worst = max(worst, abs(got - expected) / abs(expected))
            }
        }
        print(String(format: "DiffMoog losses: %d cases x 3 transforms, largest relative difference to torch %.2e", cases.count, worst))
        guard worst < 1e-6 else { throw ValidationError("DiffMoog losses differ from the reference by \(worst) (relative)") }
    }

    static func draw(_ rng: inout CounterRandom) -> Draw {
        Draw(amplitude: pow(10, -2.5 * rng.unit()), frequency: pow(10, log10(30) + (log10(4000) - log10(30)) * rng.unit()),
             phase: 2 * .pi * rng.unit())
    }

    /// `d` moved `cents` further from `target` (negative: closer), DiffMoog's `get_perturbed_freq`.
    static func moved(_ d: Draw, from target: Draw, cents: Double) -> Draw {
        var m = d
        let direction: Double = d.frequency > target.frequency ? 1 : (d.frequency < target.frequency ? -1 : 0)
        m.frequency = d.frequency * pow(2, direction * cents / 1200)
        return m
    }

    func render(_ waveform: String, _ draws: [Draw]) -> AudioBatch<Float> {
        var audio = AudioBatch<Float>(zeros: draws.count, sampleCount: Self.sampleCount)
        let n = Self.sampleCount
        audio.samples.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out
            Parallelism.forEach(draws.count) { b in
                let d = draws[b]
                for i in 0..<n {
                    let t = Double(i) / Double(n - 1)
                    let v: Double
                    switch waveform {
                    case "sine": v = sin(2 * .pi * d.frequency * t + d.phase)
                    case "square": let s = sin(2 * .pi * d.frequency * t + d.phase); v = s > 0 ? 1 : (s < 0 ? -1 : 0)
                    default:
                        let raw = 2 * (t * d.frequency - (0.5 + t * d.frequency).rounded(.down))
                        var u = ((raw + 1) / 2 + d.phase / (2 * .pi)).truncatingRemainder(dividingBy: 1)
                        if u < 0 { u += 1 }
                        v = u * 2 - 1
                    }
                    out[b * n + i] = Float(d.amplitude * v)
                }
            }
        }
        return audio
    }

    struct Distance {
        let name: String
        let family: String
        let measure: (AudioBatch<Float>, AudioBatch<Float>) -> [Double]
    }

    static func distances() -> [Distance] {
        func ours(_ name: String, _ loss: any AudioLoss) -> Distance {
            Distance(name: name, family: "synthmatch") { p, t in loss.values(p, t).map(Double.init) }
        }
        return [
            Distance(name: "spectrogram_identity", family: "diffmoog") { DiffMoogSpectrogramLoss(.identity).values($0, $1) },
            Distance(name: "spectrogram_wasserstein_time", family: "diffmoog") { DiffMoogSpectrogramLoss(.cumulativeTime).values($0, $1) },
            Distance(name: "spectrogram_wasserstein_frequency", family: "diffmoog") { DiffMoogSpectrogramLoss(.cumulativeFrequency).values($0, $1) },
            ours("ddsp_mss", MultiScaleSpectralLoss.ddsp()),
            ours("ddsp_mss_frames_inside", MultiScaleSpectralLoss.ddsp().framed(.none)),
            ours("auraloss_mrstft", MultiScaleSpectralLoss.auraloss()),
            ours("auraloss_mel", MultiScaleSpectralLoss.mel(sampleRate: sampleRate)),
            ours("spectral_wasserstein", SpectralWasserstein(sampleRate: sampleRate)),
            ours("l1_waveform", WaveformLoss(.l1)),
        ]
    }
}

/// DiffMoog's `SpectralLoss` for its `mss_magnitude`, `mss_cumsum_time` and `mss_cumsum_freq`
/// presets: per FFT size (2048..64, hop N/4) torchaudio's power spectrogram (periodic Hann,
/// centred, reflect-padded), the transform, then mean |prediction - target|; summed over sizes.
struct DiffMoogSpectrogramLoss {
    enum Transform { case identity, cumulativeTime, cumulativeFrequency }
    let transform: Transform
    init(_ transform: Transform) { self.transform = transform }

    func values(_ prediction: AudioBatch<Float>, _ target: AudioBatch<Float>) -> [Double] {
        var out = [Double](repeating: 0, count: prediction.batchSize)
        out.withUnsafeMutableBufferPointer { result in
            nonisolated(unsafe) let result = result
            Parallelism.forEach(prediction.batchSize) { b in
                result[b] = value(prediction.item(b), target.item(b))
            }
        }
        return out
    }

    func value(_ p: [Float], _ t: [Float]) -> Double {
        var total = 0.0
        for size in [2048, 1024, 512, 256, 128, 64] {
            let c = STFTConfiguration(fftSize: size, hopSize: size / 4, padding: .centerReflect)
            guard let (sp, frames, bins) = Self.power(p, c), let (st, _, _) = Self.power(t, c) else { continue }
            var a = sp, y = st
            switch transform {
            case .identity: break
            case .cumulativeTime: // running sum over frames, per bin (torch dim 2)
                for f in 1..<max(frames, 1) { for k in 0..<bins { a[f * bins + k] += a[(f - 1) * bins + k]; y[f * bins + k] += y[(f - 1) * bins + k] } }
            case .cumulativeFrequency: // running sum over bins, per frame (torch dim 1)
                for f in 0..<frames { for k in 1..<bins { a[f * bins + k] += a[f * bins + k - 1]; y[f * bins + k] += y[f * bins + k - 1] } }
            }
            var s = 0.0
            for i in a.indices { s += abs(a[i] - y[i]) }
            total += s / Double(a.count)
        }
        return total
    }

    /// |STFT x|^2, frames x bins, of float32 input promoted to double.
    static func power(_ x: [Float], _ c: STFTConfiguration) -> ([Double], Int, Int)? {
        guard let stft = ShortTimeFourierTransform<Double>(c, sampleCount: x.count) else { return nil }
        return (stft.power(x.map(Double.init)), stft.frameCount, stft.binCount)
    }
}
