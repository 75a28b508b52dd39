import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import Synths

/// The reading group's phase-accumulation demo, measured: a sine whose f0 changes between two
/// control frames, rendered by the harmonic bank (phase accumulated, DDSP's cumulative sum)
/// and by the naive rule `sin(2 pi f(n) n / sr)` on the same upsampled f0 curve. With the
/// naive rule the phase jumps by `2 pi (f2 - f1) t` within one frame: a click. The click is
/// measured as the share of energy above 4 kHz (the sines stay below 1.8 kHz) in a 512-sample
/// Hann window centred on the change, in dB; a window of steady tone gives the floor. A trial
/// clicks when that share exceeds -60 dB (a millionth of the window's energy).
struct PhaseAccumulationStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phase-accumulation",
        abstract: "Clicks at an f0 change without phase accumulation, none with it.")

    @OptionGroup var options: StudyOptions
    @Option(help: "Seeds.") var seeds: Int = 5
    @Option(help: "Trials per seed.") var trials: Int = 20

    static let sampleRate = 16000.0, sampleCount = 16000, frameCount = 250, window = 512

    func validate() throws {
        guard (1...1000).contains(seeds), (1...10_000).contains(trials) else { throw ValidationError("--seeds must be within 1...1000, --trials within 1...10000") }
    }

    func run() throws {
        Parallelism.threadCount = options.threads
        let out = options.out ?? "results/phase_accumulation"
        Provenance.record("seeds", "1...\(seeds)")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let bank = HarmonicOscillatorBank(sampleRate: Self.sampleRate, harmonicCount: 1)
        let upsampler = FrameUpsampler<Double>(frameCount: Self.frameCount, sampleCount: Self.sampleCount, interpolation: bank.frequencyInterpolation)
        var csv = CSVWriter(path: "\(out)/trials.csv", header: [
            "seed", "trial", "f0_before_hz", "f0_after_hz", "change_frame", "rule", "high_band_share_db", "steady_high_band_share_db"])
        var shares: [String: [Double]] = [:]
        var clicks: [String: [Double]] = [:]
        for seed in 1...seeds {
            for trial in 0..<trials {
                var rng = CounterRandom(seed: UInt64(seed), index: UInt64(trial), stream: 41)
                let before = 110 * pow(8, rng.unit()), after = before * pow(2, 2 * rng.unit() - 1)
                let change = 75 + Int(100 * rng.unit())
                let frames = (0..<Self.frameCount).map { $0 < change ? before : after }
                var c = Controls<Double>(zerosFor: bank.layout(frameCount: Self.frameCount), batchSize: 1)
                for f in 0..<Self.frameCount {
                    c[item: 0, parameter: 0, frame: f] = bank.parameters[0].normalised(0.5)
                    c[item: 0, parameter: 1, frame: f] = bank.parameters[1].normalised(1)
                    c[item: 0, parameter: bank.f0Index, frame: f] = bank.parameters[bank.f0Index].normalised(frames[f])
                }
                let accumulated = bank.render(c, RenderRequest(sampleCount: Self.sampleCount)).samples
                // The same f0 curve (as the bank reads it back from its controls) under the naive rule.
                let f0Frames = (0..<Self.frameCount).map { bank.parameters[bank.f0Index].physical(c[item: 0, parameter: bank.f0Index, frame: $0]) }
                let f0 = upsampler.upsample(f0Frames)
                let amplitude = accumulated.map(abs).max() ?? 0.5
                let naive = (0..<Self.sampleCount).map { n in amplitude * sin(2 * .pi * f0[n] * Double(n) / Self.sampleRate) }
                let centre = change * Self.sampleCount / Self.frameCount
                for (rule, x) in [("accumulated", accumulated), ("naive", naive)] {
                    let share = Self.highBandShare(x, centre: centre), steady = Self.highBandShare(x, centre: Self.sampleCount / 8)
                    csv.row([seed, trial, before, after, change, rule, share, steady])
                    shares[rule, default: []].append(share)
                    clicks[rule, default: []].append(share > -60 ? 1 : 0)
                }
                if seed == 1 && trial == 0 {
                    for (rule, x) in [("accumulated", accumulated), ("naive", naive)] {
                        try AudioFile.write(MonoAudio(samples: x.map { Float($0) }, sampleRate: Self.sampleRate), to: "\(out)/example_\(rule).wav")
                    }
                }
            }
        }
        var summary = CSVWriter(path: "\(out)/summary.csv", header: ["rule", "high_band_share_db", "ci_low", "ci_high", "click_fraction", "trials"])
        for rule in ["accumulated", "naive"] {
            let m = Bootstrap.meanInterval(shares[rule] ?? [])
            let clickFraction = (clicks[rule] ?? []).reduce(0, +) / Double(max(clicks[rule]?.count ?? 0, 1))
            summary.row([rule, m.mean, m.low, m.high, clickFraction, shares[rule]?.count ?? 0])
            print(String(format: "%@: energy above 4 kHz around the change %.1f dB [%.1f, %.1f]; clicks (above -60 dB) in %.0f%% of trials",
                         rule, m.mean, m.low, m.high, 100 * clickFraction))
        }
        try csv.finish()
        try summary.finish()
        print("wrote \(out)/trials.csv and summary.csv (example WAVs beside them)")
    }

    /// 10 log10 of the share of energy above 4 kHz in a Hann-windowed 512-sample frame at `centre`.
    static func highBandShare(_ x: [Double], centre: Int) -> Double {
        let start = max(0, min(x.count - window, centre - window / 2))
        let hann: [Double] = periodicHann(window)
        let frame = (0..<window).map { hann[$0] * x[start + $0] }
        var spectrum = [Double](repeating: 0, count: window + 2)
        frame.withUnsafeBufferPointer { f in spectrum.withUnsafeMutableBufferPointer { RealFFT<Double>(size: window).forward(f.baseAddress!, $0.baseAddress!) } }
        var total = 0.0, high = 0.0
        for k in 0...(window / 2) {
            let p = spectrum[2 * k] * spectrum[2 * k] + spectrum[2 * k + 1] * spectrum[2 * k + 1]
            total += p
            if Double(k) * sampleRate / Double(window) >= 4000 { high += p }
        }
        return 10 * log10(max(high, 1e-300) / max(total, 1e-300))
    }
}
