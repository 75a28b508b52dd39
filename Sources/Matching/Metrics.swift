import DSP
import Foundation

/// Evaluation distances between a match and its target (lower is better), all on one
/// centred 1024-point Hann STFT with hop 256:
///
/// - `spectral`: the multi-scale spectral loss the matcher optimises (DDSP preset).
/// - `logSpectral` (LSD, dB): per frame `sqrt(mean_k (10 log10((P_t + e) / (P_p + e)))^2)`,
///   averaged over frames; `e = 1e-8` keeps silence finite.
/// - `melCepstral` (MCD, dB): Kubichek's `(10 / ln 10) sqrt(2 sum_{d=1..12} (c_t - c_p)^2)`
///   per frame, averaged, with `c` the orthonormal DCT-II of the natural-log 40-band, floor 1e-6
///   (Slaney) mel power; `c_0` (overall level) is left out, as usual.
public struct MatchMetrics: Sendable, Codable, Equatable {
    public var spectral: Double
    public var logSpectral: Double
    public var melCepstral: Double

    public static let names = ["spectral", "lsd_db", "mcd_db"]
    public var values: [Double] { [spectral, logSpectral, melCepstral] }

    public static func measure(_ prediction: [Float], _ target: [Float], sampleRate: Double,
                               loss: MultiScaleSpectralLoss = .ddsp()) -> MatchMetrics {
        precondition(prediction.count == target.count, "metrics: signals differ in length")
        let n = target.count
        let spectral = Double(loss.values(AudioBatch(batchSize: 1, sampleCount: n, samples: prediction),
                                          AudioBatch(batchSize: 1, sampleCount: n, samples: target))[0])
        let configuration = STFTConfiguration(fftSize: 1024, hopSize: 256, padding: .centerReflect)
        guard let stft = ShortTimeFourierTransform<Float>(configuration, sampleCount: n) else {
            return MatchMetrics(spectral: spectral, logSpectral: .nan, melCepstral: .nan)
        }
        let bins = stft.binCount, frames = stft.frameCount
        func power(_ x: [Float]) -> [Double] {
            var spectrum = [Float](repeating: 0, count: stft.spectrumCount)
            x.withUnsafeBufferPointer { xp in spectrum.withUnsafeMutableBufferPointer { stft.transform(xp.baseAddress!, into: $0.baseAddress!) } }
            var p = [Double](repeating: 0, count: frames * bins)
            for i in p.indices {
                let re = Double(spectrum[2 * i]), im = Double(spectrum[2 * i + 1])
                p[i] = re * re + im * im
            }
            return p
        }
        let pp = power(prediction), pt = power(target)
        var lsd = 0.0
        for f in 0..<frames {
            var s = 0.0
            for k in 0..<bins {
                let d = 10 * log10((pt[f * bins + k] + 1e-8) / (pp[f * bins + k] + 1e-8))
                s += d * d
            }
            lsd += (s / Double(bins)).squareRoot()
        }
        let mel = MelFilterbank<Double>(sampleRate: sampleRate, fftSize: 1024, melCount: 40)
        let dimensions = 12, bands = mel.melCount
        func cepstra(_ p: [Double], frame f: Int) -> [Double] {
            let logMel = (0..<bands).map { m -> Double in
                var e = 0.0
                for k in mel.support[m] { e += mel.weights[m * bins + k] * p[f * bins + k] }
                return log(e + 1e-6)
            }
            return (1...dimensions).map { d in
                var c = 0.0
                for m in 0..<bands { c += logMel[m] * cos(Double.pi * Double(d) * (Double(m) + 0.5) / Double(bands)) }
                return c * (2 / Double(bands)).squareRoot()
            }
        }
        var mcd = 0.0
        for f in 0..<frames {
            let a = cepstra(pt, frame: f), b = cepstra(pp, frame: f)
            mcd += (10 / log(10.0)) * (2 * zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }).squareRoot()
        }
        return MatchMetrics(spectral: spectral, logSpectral: lsd / Double(frames), melCepstral: mcd / Double(frames))
    }
}
