import RealModule

/// The DX7's integer laws (`DX7Law`) as continuous functions of real-valued settings, so that a
/// patch can be refined by gradients and then rounded: each law is interpolated linearly
/// between its integer settings (log-linearly for envelope speeds), so it is *exact at every
/// integer* (a rounded patch plays what Dexed plays) and continuous in between. Where the DX7's
/// own law is flat between two integers (EG levels move in steps of two scaled levels; some
/// rates share a rate index), the relaxation is flat too and its gradient there is zero.
enum DX7Relaxation {
    /// Value and slope of the piecewise-linear interpolation of `f` over integers in `range`.
    /// A non-finite `x` (a diverged optimiser's control) gives a non-finite value, as in every
    /// module, never a trap.
    static func interpolated(_ f: (Int) -> Double, at x: Double, _ range: ClosedRange<Int>) -> (value: Double, slope: Double) {
        guard x.isFinite else { return (.nan, .nan) }
        let i = min(max(Int(x.rounded(.down)), range.lowerBound), range.upperBound - 1)
        let a = f(i), b = f(i + 1)
        return (a + (x - Double(i)) * (b - a), b - a)
    }

    /// The output-level term (steps) of a real output level 0...99 (no keyboard scaling or velocity).
    static func outputTerm(_ level: Double) -> (value: Double, slope: Double) {
        interpolated({ Double(DX7Law.outputTerm(outputLevel: $0, levelScaling: 0, velocityOffset: 0)) }, at: level, 0...99)
    }

    /// The EG-level part of an envelope target (steps): 64 x floor(scaled level / 2).
    static func egLevel(_ level: Double) -> (value: Double, slope: Double) {
        interpolated({ Double((DX7Law.scaledLevel($0) >> 1) << 6) }, at: level, 0...99)
    }

    /// Envelope speed in steps per second of a real rate 0...99, and d(log2 speed)/d(rate).
    static func speed(_ rate: Double) -> (value: Double, log2Slope: Double) {
        let perSecond = DX7Law.referenceRate / Double(DX7Law.blockSize) / 65536
        let (l, s) = interpolated({ Double.log2(Double(DX7Law.increment(rateIndex: DX7Law.rateIndex(rate: $0, rateScaling: 0))) * perSecond) },
                                  at: rate, 0...99)
        return (Double.exp2(l), s)
    }

    /// Feedback 0...7 as a phase scale: 2^(fb - 9) at fb >= 1 (two steps less on algorithms 4,
    /// 6 and 32, as Dexed plays them), linear from 0 at fb = 0 to the fb = 1 value.
    static func feedbackScale(_ feedback: Double, algorithm: Int) -> (value: Double, slope: Double) {
        let one = DX7Law.feedbackScale(1, algorithm: algorithm)
        if feedback < 1 { return (one * feedback, one) }
        let v = one * Double.exp2(feedback - 1)
        return (v, v * Double.log(2))
    }

    /// The detune law: octaves added to a note of `log2Hz` octaves by detune -7...7 (the DX7's
    /// detune is finer for higher notes), with d/d(log2Hz) and d/d(detune).
    static func detuneOctaves(log2Hz: Double, detune: Double) -> (value: Double, dLog2Hz: Double, dDetune: Double) {
        let k = 0.0209 / 7, e = Double.exp(-0.396 * log2Hz)
        return (k * e * log2Hz * detune, k * detune * e * (1 - 0.396 * log2Hz), k * e * log2Hz)
    }
}

/// A value with its derivatives with respect to up to 16 inputs (forward mode): the envelope
/// is a short chain of segments, so carrying its Jacobian forward is cheaper and simpler than
/// reversing it.
struct Dual {
    var v: Double
    var d: SIMD16<Double>

    init(_ v: Double, _ d: SIMD16<Double> = .zero) { self.v = v; self.d = d }
    static func + (a: Dual, b: Dual) -> Dual { Dual(a.v + b.v, a.d + b.d) }
    static func - (a: Dual, b: Dual) -> Dual { Dual(a.v - b.v, a.d - b.d) }
    static func * (a: Dual, b: Dual) -> Dual { Dual(a.v * b.v, a.d * b.v + b.d * a.v) }
    static func / (a: Dual, b: Dual) -> Dual { Dual(a.v / b.v, (a.d * b.v - b.d * a.v) / (b.v * b.v)) }
    static func * (a: Double, b: Dual) -> Dual { Dual(a * b.v, b.d * a) }
}
