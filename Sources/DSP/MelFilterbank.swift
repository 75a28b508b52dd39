import RealModule

/// Triangular mel filterbank, equal to `librosa.filters.mel(sr, n_fft, n_mels)` with its
/// defaults (Slaney mel scale: linear below 1 kHz, logarithmic above; Slaney area
/// normalisation), which is what auraloss uses for `scale='mel'`.
public struct MelFilterbank<T: SynthScalar>: Sendable {
    public let melCount: Int
    public let binCount: Int
    /// Row-major `melCount x binCount`.
    public let weights: [T]
    /// First and one-past-last non-zero bin of each filter, so products skip the zeros.
    public let support: [Range<Int>]

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public init(sampleRate: Double, fftSize: Int, melCount: Int,
                minimumHz: Double = 0, maximumHz: Double? = nil) {
        let bins = fftSize / 2 + 1
        let fmax = maximumHz ?? sampleRate / 2
        let lo = Self.hzToMel(minimumHz), hi = Self.hzToMel(fmax)
        let melHz = (0..<(melCount + 2)).map { Self.melToHz(lo + (hi - lo) * Double($0) / Double(melCount + 1)) }
        var w = [T](repeating: 0, count: melCount * bins)
        var support: [Range<Int>] = []
        for m in 0..<melCount {
            let enorm = 2 / (melHz[m + 2] - melHz[m])
            var first = bins, last = 0
            for k in 0..<bins {
                let f = sampleRate / 2 * Double(k) / Double(bins - 1)
                let lower = (f - melHz[m]) / (melHz[m + 1] - melHz[m])
                let upper = (melHz[m + 2] - f) / (melHz[m + 2] - melHz[m + 1])
                let v = max(0, min(lower, upper)) * enorm
                if v > 0 { first = min(first, k); last = max(last, k + 1) }
                w[m * bins + k] = T(v)
            }
            support.append(first < last ? first..<last : 0..<0)
        }
        self.melCount = melCount
        self.binCount = bins
        self.weights = w
        self.support = support
    }

    /// Slaney's mel scale (librosa `htk=False`).
    public static func hzToMel(_ hz: Double) -> Double {
        let fsp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fsp, logStep = Double.log(6.4) / 27
        return hz >= minLogHz ? minLogMel + Double.log(hz / minLogHz) / logStep : hz / fsp
    }

    public static func melToHz(_ mel: Double) -> Double {
        let fsp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fsp, logStep = Double.log(6.4) / 27
        return mel >= minLogMel ? minLogHz * Double.exp(logStep * (mel - minLogMel)) : fsp * mel
    }

    /// `mel[m] = sum_k W[m, k] x[k]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    @inlinable
    public func apply(_ x: UnsafePointer<T>, into mel: UnsafeMutablePointer<T>) {
        for m in 0..<melCount {
            var s: T = 0
            for k in support[m] { s += weights[m * binCount + k] * x[k] }
            mel[m] = s
        }
    }

    /// `dx[k] += sum_m W[m, k] dMel[m]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    @inlinable
    public func accumulateAdjoint(_ dMel: UnsafePointer<T>, into dx: UnsafeMutablePointer<T>) {
        for m in 0..<melCount {
            let g = dMel[m]
            for k in support[m] { dx[k] += weights[m * binCount + k] * g }
        }
    }
}
