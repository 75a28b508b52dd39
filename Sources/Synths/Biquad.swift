import DSP
import RealModule

/// The resonant 2-pole low-pass every subtractive path shares: the analogue prototype
/// `H(s) = 1 / (s^2 + s/Q + 1)` through the bilinear transform, prewarped at the cutoff
/// (RBJ's cookbook low-pass). With `K = tan(pi fc / sr)`:
///
///     b = K^2 / D * [1, 2, 1],   a = [1, 2 (K^2 - 1) / D, (1 - K/Q + K^2) / D],   D = 1 + K/Q + K^2
///
/// Stable by construction: for `0 < fc < sr/2` and `Q > 0` both poles lie inside the unit
/// circle, and since the stability triangle (|a2| < 1, |a1| < 1 + a2) is convex, so do the
/// per-sample interpolations between two stable frames.
///
/// Its magnitude at digital frequency `w` is the prototype's at the warped frequency:
/// `|H(e^{iw})| = 1 / sqrt((1 - r^2)^2 + r^2 / Q^2)` with `r = tan(w/2) / K`. The
/// frequency-sampled realisation uses this, so both realisations filter with one filter.
enum LowpassDesign {
    /// Coefficients (b0, a1, a2) and their derivatives with respect to K and Q.
    @inlinable
    static func coefficients<T: SynthScalar>(k: T, q: T) -> (b0: T, a1: T, a2: T, dK: (T, T, T), dQ: (T, T, T)) {
        let d = 1 + k / q + k * k
        let dDk = 1 / q + 2 * k, dDq = -k / (q * q)
        let n2 = 1 - k / q + k * k
        let dN2k = -1 / q + 2 * k, dN2q = k / (q * q)
        let d2 = d * d
        let b0 = k * k / d, a1 = 2 * (k * k - 1) / d, a2 = n2 / d
        let dK = ((2 * k * d - k * k * dDk) / d2, (4 * k * d - 2 * (k * k - 1) * dDk) / d2, (dN2k * d - n2 * dDk) / d2)
        let dQ = (-k * k * dDq / d2, -2 * (k * k - 1) * dDq / d2, (dN2q * d - n2 * dDq) / d2)
        return (b0, a1, a2, dK, dQ)
    }

    /// `|H|` at warped ratio `r`, with d|H|/dr and d|H|/dQ.
    @inlinable
    static func magnitude<T: SynthScalar>(r: T, q: T) -> (value: T, dR: T, dQ: T) {
        let u = 1 - r * r
        let p = u * u + r * r / (q * q)
        let h = 1 / p.squareRoot()
        let dHdP = -h / (2 * p)
        return (h, dHdP * (-4 * r * u + 2 * r / (q * q)), dHdP * (-2 * r * r / (q * q * q)))
    }
}

/// A time-varying biquad low-pass in direct form I with per-sample coefficients, and its exact
/// adjoint: the backward pass is the same recursion run backwards in time (torchaudio's
/// `lfilter` gradient, generalised to coefficients that change every sample).
///
///     y[n] = b0[n] (x[n] + 2 x[n-1] + x[n-2]) - a1[n] y[n-1] - a2[n] y[n-2]
///
/// Adjoint with `e = dL/dy` through the recursion, run from the end:
///
///     e[n]      = g[n] - a1[n+1] e[n+1] - a2[n+2] e[n+2]
///     dL/db0[n] = e[n] (x[n] + 2 x[n-1] + x[n-2]),  dL/da1[n] = -e[n] y[n-1],  dL/da2[n] = -e[n] y[n-2]
///     dL/dx[m]  = b0[m] e[m] + 2 b0[m+1] e[m+1] + b0[m+2] e[m+2]
enum TimeVaryingBiquad {
    @inlinable
    static func filter<T: SynthScalar>(_ x: UnsafePointer<T>, b0: [T], a1: [T], a2: [T], into y: UnsafeMutablePointer<T>, count n: Int) {
        var x1: T = 0, x2: T = 0, y1: T = 0, y2: T = 0
        for i in 0..<n {
            let xi = x[i]
            let yi = b0[i] * (xi + 2 * x1 + x2) - a1[i] * y1 - a2[i] * y2
            y[i] = yi
            (x2, x1, y2, y1) = (x1, xi, y1, yi)
        }
    }

    /// Adds dL/dx into `dx` (if given) and writes dL/db0, dL/da1, dL/da2 per sample.
    @inlinable
    static func adjoint<T: SynthScalar>(x: UnsafePointer<T>, y: UnsafePointer<T>, b0: [T], a1: [T], a2: [T],
                                        cotangent g: UnsafePointer<T>, count n: Int, dx: UnsafeMutablePointer<T>?,
                                        dB0: UnsafeMutablePointer<T>, dA1: UnsafeMutablePointer<T>, dA2: UnsafeMutablePointer<T>) {
        var e1: T = 0, e2: T = 0           // e[n+1], e[n+2]
        var a1n1: T = 0, a2n2: T = 0, a2n1: T = 0  // a1[n+1], a2[n+2], a2[n+1]
        var be1: T = 0, be2: T = 0         // b0[n+1] e[n+1], b0[n+2] e[n+2]
        for i in stride(from: n - 1, through: 0, by: -1) {
            let e = g[i] - a1n1 * e1 - a2n2 * e2
            let xm1: T = i >= 1 ? x[i - 1] : 0, xm2: T = i >= 2 ? x[i - 2] : 0
            let ym1: T = i >= 1 ? y[i - 1] : 0, ym2: T = i >= 2 ? y[i - 2] : 0
            dB0[i] = e * (x[i] + 2 * xm1 + xm2)
            dA1[i] = -e * ym1
            dA2[i] = -e * ym2
            let be = b0[i] * e
            if let dx { dx[i] += be + 2 * be1 + be2 }
            (e2, e1) = (e1, e)
            (be2, be1) = (be1, be)
            a2n2 = a2n1
            a2n1 = a2[i]
            a1n1 = a1[i]
        }
    }
}

/// A fixed resonant low-pass (`LowpassDesign`, cutoff and Q) run over a batch by the time-domain
/// filter every subtractive path uses, with its exact gradient: the workload torchaudio's
/// `lfilter` is timed on (`bench peers`, workload `biquad`). Rows run in parallel.
public struct BiquadLowpass: Sendable {
    public let cutoff: Double
    public let q: Double
    public let sampleRate: Double

    public init(cutoff: Double, q: Double, sampleRate: Double) {
        precondition(cutoff > 0 && cutoff < sampleRate / 2 && q > 0, "biquad: need 0 < cutoff < sample rate / 2 and Q > 0")
        self.cutoff = cutoff
        self.q = q
        self.sampleRate = sampleRate
    }

    /// (b0, a1, a2): `y[n] = b0 (x[n] + 2 x[n-1] + x[n-2]) - a1 y[n-1] - a2 y[n-2]`.
    public var coefficients: (b0: Double, a1: Double, a2: Double) {
        let c = LowpassDesign.coefficients(k: Double.tan(Double.pi * cutoff / sampleRate), q: q)
        return (c.b0, c.a1, c.a2)
    }

    /// The filtered batch, and a pullback from d loss / d output to d loss / d input and to the
    /// three coefficients (summed over every sample of every row).
    public func valueWithPullback(_ x: AudioBatch<Float>)
        -> (value: AudioBatch<Float>, pullback: (AudioBatch<Float>) -> (input: AudioBatch<Float>, coefficients: (b0: Double, a1: Double, a2: Double))) {
        let n = x.sampleCount, batch = x.batchSize
        let c = coefficients
        let b0 = [Float](repeating: Float(c.b0), count: n), a1 = [Float](repeating: Float(c.a1), count: n)
        let a2 = [Float](repeating: Float(c.a2), count: n)
        var y = AudioBatch<Float>(zeros: batch, sampleCount: n)
        x.samples.withUnsafeBufferPointer { xs in
            y.samples.withUnsafeMutableBufferPointer { ys in
                let xs = SendablePointer(UnsafeMutablePointer(mutating: xs.baseAddress!)), ys = SendablePointer(ys.baseAddress!)
                Parallelism.forEach(batch) { b in
                    TimeVaryingBiquad.filter(xs.pointer + b * n, b0: b0, a1: a1, a2: a2, into: ys.pointer + b * n, count: n)
                }
            }
        }
        let output = y
        return (output, { dy in
            var dx = AudioBatch<Float>(zeros: batch, sampleCount: n)
            let sums = WorkerSlots<(Double, Double, Double)>(count: batch)
            x.samples.withUnsafeBufferPointer { xs in output.samples.withUnsafeBufferPointer { ys in
                dy.samples.withUnsafeBufferPointer { gs in dx.samples.withUnsafeMutableBufferPointer { dxs in
                    let xs = SendablePointer(UnsafeMutablePointer(mutating: xs.baseAddress!))
                    let ys = SendablePointer(UnsafeMutablePointer(mutating: ys.baseAddress!))
                    let gs = SendablePointer(UnsafeMutablePointer(mutating: gs.baseAddress!)), dxs = SendablePointer(dxs.baseAddress!)
                    Parallelism.forEach(batch) { b in
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 3 * n)
                        defer { scratch.deallocate() }
                        TimeVaryingBiquad.adjoint(x: xs.pointer + b * n, y: ys.pointer + b * n, b0: b0, a1: a1, a2: a2,
                                                  cotangent: gs.pointer + b * n, count: n, dx: dxs.pointer + b * n,
                                                  dB0: scratch, dA1: scratch + n, dA2: scratch + 2 * n)
                        var s = (0.0, 0.0, 0.0)
                        for i in 0..<n { s.0 += Double(scratch[i]); s.1 += Double(scratch[n + i]); s.2 += Double(scratch[2 * n + i]) }
                        sums.items[b] = s
                    }
                } }
            } }
            var total = (0.0, 0.0, 0.0)
            for b in 0..<batch { let s = sums.items[b]!; total = (total.0 + s.0, total.1 + s.1, total.2 + s.2) }
            return (dx, (total.0, total.1, total.2))
        })
    }
}
