import DSP
import Foundation

/// The distances papers report, each defined as its source defines it, so our numbers can stand
/// next to theirs (`Experiments/reference/metric_vectors.py` computes every one with numpy and
/// librosa; `StandardMetricsTests` holds us to it within 1e-6).
///
/// - `melCepstralDB`: Kubichek (1993)'s MCD, `(10 / ln 10) sqrt(2 sum_{d=1..12} (c_d - c'_d)^2)`
///   per frame, averaged over frames, with mel-cepstra in SPTK's convention (the one TTS papers'
///   MCDs use, e.g. Kominek et al. 2008): `c_d = (2 / M) sum_m ln(A_m) cos(pi d (m + 1/2) / M)`,
///   the cosine-series coefficients of the natural-log mel *amplitude* `A_m = sqrt(mel power + 1e-6)`
///   over M = 40 Slaney bands of a centred 1024-point Hann STFT, hop 256. `c_0` (level) left out.
///   The older `mcd_ortho_db` (orthonormal DCT of the log *power*) is this times sqrt(2 M) = 8.94.
/// - `logSpectralAllDB`: Masuda & Saito (2023)'s LSD, the root of the mean over *all* bins and
///   frames of `(10 log10((P + 1e-8) / (P' + 1e-8)))^2` (same STFT).
/// - `spectralConvergence`: auraloss's `SpectralConvergenceLoss`, `|| |Y| - |X| ||_F / || |Y| ||_F`
///   (magnitudes `sqrt(max(power, 1e-8))`, centred reflect-padded STFTs),
///   averaged over auraloss's `MultiResolutionSTFTLoss` default resolutions (FFT 1024/2048/512,
///   hop 120/240/50, window 600/1200/240).
/// - `mfccL1`: spiegelib's `MFCCEval` mean absolute error: `librosa.feature.mfcc` (20 coefficients,
///   FFT 2048, hop 512, 128 Slaney mel bands, power to dB with an 80 dB floor below each
///   spectrogram's peak, orthonormal DCT-II) of both signals, |difference| averaged.
public struct StandardMetrics: Sendable, Codable, Equatable {
    public var melCepstralDB: Double
    public var logSpectralAllDB: Double
    public var spectralConvergence: Double
    public var mfccL1: Double

    public static let names = ["mcd_db", "lsd_all_db", "spectral_convergence", "mfcc_l1"]
    public var values: [Double] { [melCepstralDB, logSpectralAllDB, spectralConvergence, mfccL1] }

    /// `prediction` against `target` (equal lengths, at `sampleRate`).
    public static func measure(_ prediction: [Float], _ target: [Float], sampleRate: Double) -> StandardMetrics {
        precondition(prediction.count == target.count, "metrics: signals differ in length")
        let x = prediction.map(Double.init), y = target.map(Double.init)
        let px = power(x, centred1024), py = power(y, centred1024)
        return StandardMetrics(melCepstralDB: melCepstral(px, py, sampleRate: sampleRate), logSpectralAllDB: logSpectralAll(px, py),
                               spectralConvergence: convergence(x, y), mfccL1: mfccL1(x, y, sampleRate: sampleRate))
    }

    typealias Spectrogram = (values: [Double], frames: Int, bins: Int)

    /// Power spectrogram (frames x bins) of `x`, or nil when `x` is too short for the frame.
    static func power(_ x: [Double], _ configuration: STFTConfiguration) -> Spectrogram? {
        guard let stft = ShortTimeFourierTransform<Double>(configuration, sampleCount: x.count) else { return nil }
        return (stft.power(x), stft.frameCount, stft.binCount)
    }

    /// Mel energies (frames x bands) of a power spectrogram.
    static func mel(_ p: Spectrogram, _ bank: MelFilterbank<Double>) -> [[Double]] {
        (0..<p.frames).map { f in
            (0..<bank.melCount).map { m in
                var e = 0.0
                for k in bank.support[m] { e += bank.weights[m * p.bins + k] * p.values[f * p.bins + k] }
                return e
            }
        }
    }

    static let centred1024 = STFTConfiguration(fftSize: 1024, hopSize: 256, padding: .centerReflect)

    /// The MCD of two power spectrograms of the centred 1024-point STFT.
    static func melCepstral(_ px: Spectrogram?, _ py: Spectrogram?, sampleRate: Double) -> Double {
        guard let px, let py else { return .nan }
        let bank = MelFilterbank<Double>(sampleRate: sampleRate, fftSize: 1024, melCount: 40)
        let bands = 40, dimensions = 12
        func cepstra(_ energies: [Double]) -> [Double] {
            let logAmplitude = energies.map { 0.5 * Foundation.log($0 + 1e-6) }
            return (1...dimensions).map { d in
                var c = 0.0
                for m in 0..<bands { c += logAmplitude[m] * cos(Double.pi * Double(d) * (Double(m) + 0.5) / Double(bands)) }
                return 2 * c / Double(bands)
            }
        }
        let mx = mel(px, bank), my = mel(py, bank)
        var total = 0.0
        for f in 0..<px.frames {
            let a = cepstra(mx[f]), b = cepstra(my[f])
            total += 10 / Foundation.log(10.0) * (2 * zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }).squareRoot()
        }
        return total / Double(px.frames)
    }

    static func logSpectralAll(_ px: Spectrogram?, _ py: Spectrogram?) -> Double {
        guard let px, let py else { return .nan }
        var sum = 0.0
        for (a, b) in zip(px.values, py.values) { let d = 10 * log10((a + 1e-8) / (b + 1e-8)); sum += d * d }
        return (sum / Double(px.values.count)).squareRoot()
    }

    static func convergence(_ x: [Double], _ y: [Double]) -> Double {
        let resolutions = [(1024, 120, 600), (2048, 240, 1200), (512, 50, 240)]
        var total = 0.0
        for (fft, hop, window) in resolutions {
            let c = STFTConfiguration(fftSize: fft, hopSize: hop, windowLength: window, padding: .centerReflect)
            guard let px = power(x, c), let py = power(y, c) else { return .nan }
            var difference = 0.0, reference = 0.0
            for (a, b) in zip(px.values, py.values) {
                // auraloss clamps the squared magnitude at 1e-8 before the root.
                let mx = max(a, 1e-8).squareRoot(), my = max(b, 1e-8).squareRoot()
                difference += (my - mx) * (my - mx)
                reference += my * my
            }
            total += (difference / max(reference, 1e-300)).squareRoot()
        }
        return total / Double(resolutions.count)
    }

    static func mfccL1(_ x: [Double], _ y: [Double], sampleRate: Double) -> Double {
        let c = STFTConfiguration(fftSize: 2048, hopSize: 512, padding: .centerZeros)
        guard let px = power(x, c), let py = power(y, c) else { return .nan }
        let bank = MelFilterbank<Double>(sampleRate: sampleRate, fftSize: 2048, melCount: 128)
        let bands = 128, coefficients = 20
        func mfcc(_ p: Spectrogram) -> [[Double]] {
            var db = mel(p, bank).map { $0.map { 10 * log10(max($0, 1e-10)) } }
            let floor = (db.flatMap { $0 }.max() ?? 0) - 80
            db = db.map { $0.map { max($0, floor) } }
            return db.map { frame in
                (0..<coefficients).map { k in
                    var s = 0.0
                    for m in 0..<bands { s += frame[m] * cos(Double.pi * Double(k) * (Double(m) + 0.5) / Double(bands)) }
                    return s * (k == 0 ? (1 / Double(bands)).squareRoot() : (2 / Double(bands)).squareRoot())
                }
            }
        }
        let a = mfcc(px), b = mfcc(py)
        var sum = 0.0
        for (fa, fb) in zip(a, b) { for (u, v) in zip(fa, fb) { sum += abs(u - v) } }
        return sum / Double(px.frames * coefficients)
    }
}
