import DSP
import Foundation

/// Evaluation distances between a match and its target (lower is better), all on one
/// centred 1024-point Hann STFT with hop 256:
///
/// - `spectral`: the multi-scale spectral loss the matcher optimises (DDSP preset).
/// - `logSpectral` (LSD, dB): per frame `sqrt(mean_k (10 log10((P_t + e) / (P_p + e)))^2)`,
///   averaged over frames; `e = 1e-8` keeps silence finite.
/// - `melCepstral` (dB): Kubichek's `(10 / ln 10) sqrt(2 sum_{d=1..12} (c_t - c_p)^2)` per frame,
///   averaged, with `c` the orthonormal DCT-II of the natural-log 40-band, floor 1e-6 (Slaney) mel
///   power; `c_0` left out. Not the usual scale: sqrt(2 x 40) = 8.94 times the MCD papers report
///   (`StandardMetrics.melCepstralDB`); kept as `mcd_ortho_db`.
public struct MatchMetrics: Sendable, Codable, Equatable {
    public var spectral: Double
    public var logSpectral: Double
    public var melCepstral: Double

    /// Column names: the per-frame LSD and the orthonormal-DCT MCD are ours, kept under their own
    /// names; `StandardMetrics` has the forms papers report.
    public static let names = ["spectral", "lsd_frame_db", "mcd_ortho_db"]
    public var values: [Double] { [spectral, logSpectral, melCepstral] }

    public static func measure(_ prediction: [Float], _ target: [Float], sampleRate: Double,
                               loss: MultiScaleSpectralLoss = .ddsp()) -> MatchMetrics {
        precondition(prediction.count == target.count, "metrics: signals differ in length")
        let spectral = spectralDistance(prediction, target, loss: loss)
        // The spectrograms the standard metrics use (centred 1024-point STFT, hop 256).
        guard let pp = StandardMetrics.power(prediction.map(Double.init), StandardMetrics.centred1024),
              let pt = StandardMetrics.power(target.map(Double.init), StandardMetrics.centred1024) else {
            return MatchMetrics(spectral: spectral, logSpectral: .nan, melCepstral: .nan)
        }
        let bins = pp.bins, frames = pp.frames
        var lsd = 0.0
        for f in 0..<frames {
            var s = 0.0
            for k in 0..<bins {
                let d = 10 * log10((pt.values[f * bins + k] + 1e-8) / (pp.values[f * bins + k] + 1e-8))
                s += d * d
            }
            lsd += (s / Double(bins)).squareRoot()
        }
        // The orthonormal DCT-II of ln(mel power) is sqrt(2 M) times the SPTK-convention
        // cepstrum of ln(mel amplitude) (M = 40 bands), and the distance is linear in it.
        let mcd = StandardMetrics.melCepstral(pp, pt, sampleRate: sampleRate) * (2 * 40.0).squareRoot()
        return MatchMetrics(spectral: spectral, logSpectral: lsd / Double(frames), melCepstral: mcd)
    }
}

extension MatchMetrics {
    /// The spectral loss of a trivial imitation, to read a match's loss against: a sine at the
    /// note's f0 whose amplitude follows the target's RMS envelope (10 ms frames, linearly
    /// interpolated). A match should score well below it.
    public static func sineBaseline(target: [Float], f0: Double, sampleRate: Double,
                                    loss: MultiScaleSpectralLoss = .ddsp()) -> Double {
        let n = target.count, hop = max(1, Int(0.01 * sampleRate))
        let levels = stride(from: 0, to: n, by: hop).map { start -> Double in
            let end = min(n, start + hop)
            return (target[start..<end].reduce(0.0) { $0 + Double($1) * Double($1) } / Double(end - start)).squareRoot()
        }
        let sine = (0..<n).map { i -> Float in
            let x = (Double(i) - Double(hop) / 2) / Double(hop)
            let f = min(max(Int(x.rounded(.down)), 0), levels.count - 1), g = min(f + 1, levels.count - 1)
            let w = min(max(x - Double(f), 0), 1)
            let level = levels[f] * (1 - w) + levels[g] * w
            return Float(level * 2.0.squareRoot() * Double.sin(2 * Double.pi * f0 * Double(i) / sampleRate))
        }
        return spectralDistance(sine, target, loss: loss)
    }

    /// The multi-scale spectral loss of one prediction against its target (equal lengths).
    public static func spectralDistance(_ prediction: [Float], _ target: [Float], loss: MultiScaleSpectralLoss = .ddsp()) -> Double {
        Double(loss.values(AudioBatch(batchSize: 1, sampleCount: target.count, samples: prediction),
                           AudioBatch(batchSize: 1, sampleCount: target.count, samples: target))[0])
    }
}

/// Loudness matching of a rendered preset to its target.
public enum LoudnessMatch {
    /// The gain in dB that gives `rendered` the RMS of `target` (over their common length),
    /// lowered if needed so that the rendered peak stays at or below -0.1 dBFS (no clipping).
    /// 0 dB when either is silent.
    public static func gainDB(for rendered: [Float], toMatch target: [Float]) -> Double {
        let n = min(rendered.count, target.count)
        guard n > 0 else { return 0 }
        func rms(_ x: [Float]) -> Double { (x[0..<n].reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n)).squareRoot() }
        let r = rms(rendered), t = rms(target)
        guard r > 1e-9, t > 1e-9 else { return 0 }
        var gain = 20 * log10(t / r)
        let peak = Double(rendered.map { abs($0) }.max() ?? 0)
        let ceiling = 20 * log10(0.988553 / peak)   // -0.1 dBFS
        if peak > 0, gain > ceiling { gain = ceiling }
        return gain
    }
}

/// What a listener notices about a whole-note match, beyond the spectral distance: right note,
/// the same loudness contour, a release that ends when the target's does, the same brightness.
///
/// - `pitchErrorCents`: the match's YIN pitch against the target's (nil when either is unpitched);
///   a note is "right" when `|error| < 50` cents.
/// - `envelopeCorrelation`: Pearson correlation of the two RMS envelopes in dB (10 ms frames,
///   floored 80 dB below the target's loudest frame) over the whole note, release included.
/// - `releaseErrorDB`: mean absolute difference of those envelopes over the frames after the
///   target's key release (nil when the target holds to the end).
/// - `centroidRatio`: spectral centroid of the match over the target's (power-weighted over the
///   whole note; 1 is equally bright).
/// - `logSpectralDistanceAllDB`: Masuda & Saito's form of the log-spectral distance, the root of
///   the mean squared dB difference over all bins and frames together
///   (`sqrt(mean_{t,k} (10 log10 (P + 1e-8) - 10 log10 (Q + 1e-8))^2)`, STFT 1024/256, Hann, centred),
///   where `MatchMetrics.logSpectral` averages a per-frame root.
public struct ListenerMetrics: Sendable, Equatable {
    public var pitchErrorCents: Double?
    public var envelopeCorrelation: Double
    public var releaseErrorDB: Double?
    public var centroidRatio: Double

    public static let names = ["pitch_error_cents", "right_note", "envelope_corr", "release_error_db", "centroid_ratio"]
    public var values: [Double] {
        [pitchErrorCents ?? .nan, pitchErrorCents.map { abs($0) < 50 ? 1 : 0 } ?? .nan, envelopeCorrelation,
         releaseErrorDB ?? .nan, centroidRatio]
    }

    public static func measure(_ match: [Float], _ target: [Float], sampleRate: Double, target analysis: NoteAnalysis) -> ListenerMetrics {
        precondition(match.count == target.count, "listener metrics: signals differ in length")
        let matched = try? NoteAnalysis.analyse(match, sampleRate: sampleRate)
        let pitch: Double? = {
            guard let a = matched?.f0, let b = analysis.f0 else { return nil }
            return 1200 * Double.log2(a / b)
        }()
        let hop = max(1, Int((0.01 * sampleRate).rounded()))
        let m = NoteAnalysis.frameLevels(match, hop: hop), t = NoteAnalysis.frameLevels(target, hop: hop)
        let floor = (t.max() ?? 0) * 1e-4
        func db(_ x: [Double]) -> [Double] { x.map { 20 * Double.log10(max($0, floor, 1e-12)) } }
        let dm = db(m), dt = db(t)
        let releaseFrame = Int((analysis.noteOffSeconds * sampleRate).rounded()) / hop
        let release: Double? = analysis.released && releaseFrame < dt.count
            ? zip(dm[releaseFrame...], dt[releaseFrame...]).map { abs($0 - $1) }.reduce(0, +) / Double(dt.count - releaseFrame) : nil
        return ListenerMetrics(pitchErrorCents: pitch, envelopeCorrelation: correlation(dm, dt), releaseErrorDB: release,
                               centroidRatio: centroidRatio(match, target, sampleRate: sampleRate))
    }

    static func correlation(_ a: [Double], _ b: [Double]) -> Double {
        let n = Double(a.count), ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for (x, y) in zip(a, b) { sab += (x - ma) * (y - mb); saa += (x - ma) * (x - ma); sbb += (y - mb) * (y - mb) }
        return saa > 0 && sbb > 0 ? sab / (saa * sbb).squareRoot() : (saa == sbb ? 1 : 0)
    }

    /// The match's spectral centroid over the target's (power-weighted over all frames).
    static func centroidRatio(_ x: [Float], _ y: [Float], sampleRate: Double) -> Double {
        guard let px = StandardMetrics.power(x.map(Double.init), StandardMetrics.centred1024),
              let py = StandardMetrics.power(y.map(Double.init), StandardMetrics.centred1024) else { return .nan }
        func centroid(_ p: StandardMetrics.Spectrogram) -> Double {
            var num = 0.0, den = 0.0
            for (i, v) in p.values.enumerated() { num += v * Double(i % p.bins) * sampleRate / 1024; den += v }
            return den > 0 ? num / den : 0
        }
        let cy = centroid(py)
        return cy > 0 ? centroid(px) / cy : .nan
    }
}

/// Percentile-bootstrap confidence intervals over targets.
public enum Bootstrap {
    /// The mean of `values` (NaNs dropped) with its 95% percentile-bootstrap interval
    /// (`resamples` draws with replacement, a fixed seed so reruns agree).
    public static func meanInterval(_ values: [Double], resamples: Int = 2000, seed: UInt64 = 1) -> (mean: Double, low: Double, high: Double) {
        let x = values.filter { $0.isFinite }
        guard !x.isEmpty else { return (.nan, .nan, .nan) }
        let mean = x.reduce(0, +) / Double(x.count)
        var rng = CounterRandom(seed: seed, index: 0, stream: 9)
        var means: [Double] = []
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var s = 0.0
            for _ in 0..<x.count { s += x[Int(rng.next() % UInt64(x.count))] }
            means.append(s / Double(x.count))
        }
        means.sort()
        return (mean, means[Int(0.025 * Double(resamples - 1))], means[Int(0.975 * Double(resamples - 1))])
    }
}

extension LoudnessMatch {
    /// The note brought to a level the synths can reach: a peak above 1 (a float file with
    /// overs, or 1e20 from a broken source, whose squares overflow float32) or below 0.01 is
    /// scaled to a peak of 0.5; anything between is left as it is. `match.wav` gets its
    /// loudness back from the gain computed against the original level.
    public static func workingLevel(_ x: [Float]) -> (samples: [Float], scale: Double) {
        let peak = Double(x.map { abs($0) }.max() ?? 0)
        guard peak > 0, peak > 1 || peak < 0.01 else { return (x, 1) }
        let scale = 0.5 / peak
        return (x.map { Float(Double($0) * scale) }, scale)
    }
}
