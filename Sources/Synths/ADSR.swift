import DSP
import RealModule

/// The shape of every envelope segment.
public enum EnvelopeShape: Sendable, Hashable, Codable {
    /// Straight ramps (Masuda & Saito 2023).
    case linear
    /// `1 - (1 - p)^k` on each segment's progress `p`: fast at first, settling smoothly, like an
    /// analogue RC stage. `k = 1` is linear; the slope at a segment's end is 0 for `k > 1`.
    case exponential(Double)

    @inlinable
    func apply<T: SynthScalar>(_ p: T) -> (value: T, slope: T) {
        switch self {
        case .linear: return (p, 1)
        case .exponential(let k):
            let q = 1 - p, e = T(k)
            let qk1 = T.pow(Swift.max(q, 0), e - 1)
            return (1 - q * qk1, e * qk1)
        }
    }
}

/// Physical envelope values: times in seconds, levels in [0, 1]. The same type carries
/// dLoss/d(each value) on the way back.
public struct ADSRValues<T: SynthScalar>: Sendable, Equatable {
    public var attack: T, decay: T, sustain: T, release: T
    /// Note-off time in seconds from the note's start.
    public var noteOff: T
    public var peak: T

    public init(attack: T, decay: T, sustain: T, release: T, noteOff: T, peak: T) {
        (self.attack, self.decay, self.sustain, self.release, self.noteOff, self.peak) = (attack, decay, sustain, release, noteOff, peak)
    }

    public static var zero: Self { Self(attack: 0, decay: 0, sustain: 0, release: 0, noteOff: 0, peak: 0) }
}

/// A differentiable ADSR envelope: Masuda & Saito's clamped piecewise-linear form (2023),
/// restated as segment progressions so that it can release from wherever it stands.
///
///     t_c = min(t, off)                       (the envelope freezes at note-off ...)
///     r_a = shape(clamp(t_c / a, 0, 1))       attack progress
///     r_d = shape(clamp((t_c - a) / d, 0, 1)) decay progress
///     r_r = shape(clamp((t - off) / r, 0, 1)) release progress (... and then releases)
///     env = peak * (r_a + (s - 1) r_d) * (1 - r_r)
///
/// With linear segments and a note-off after attack + decay this is exactly Masuda &
/// Saito's `A + D + R` (their release term subtracts `s`, the level it starts from);
/// when the note ends during attack or decay theirs keeps a residue `level - s` forever,
/// ours releases to 0 from the level reached. `env` stays in [0, peak] with no outer clamp.
///
/// Gradients: exact everywhere the clamps are inactive or saturated. A segment's time gets
/// gradient only while that segment is in progress (d/da is 0 after the attack, d/dd
/// outside the decay, d/dr before note-off); `s` gets none during the attack and `off`
/// none before the note-off. At the corners (`t = a`, `t = a + d`, `t = off`, ...) the
/// one-sided derivatives differ. We do not smooth them (Masuda & Saito pass the lower
/// clamps through a sigmoid soft-min with temperature 100, which shifts the sustain level
/// by up to ~0.004): the envelope is evaluated at sample instants, so the loss is
/// continuous in every time and kinks only where a corner crosses a sample instant, a set of
/// measure zero that gradient descent steps over.
public struct ADSR: Sendable, Hashable {
    public var shape: EnvelopeShape

    public init(shape: EnvelopeShape = .linear) {
        if case .exponential(let k) = shape { precondition(k >= 1, "envelope: exponential shape needs k >= 1") }
        self.shape = shape
    }

    public static let attackRange: ClosedRange<Double> = 0.001...2
    public static let decayRange: ClosedRange<Double> = 0.005...4
    public static let releaseRange: ClosedRange<Double> = 0.005...4

    /// The four segment parameters `PREFIXattack`, `decay`, `sustain`, `release` (global).
    /// `of` names what the envelope shapes, for the parameters' meanings ("the amplitude").
    public static func segmentParameters(prefix: String, attack: Double = 0.01, decay: Double = 0.3,
                                         sustain: Double = 0.6, release: Double = 0.3, of target: String = "the output") -> [ParameterSpec] {
        [ParameterSpec(prefix + "attack", unit: "s", range: attackRange, scale: .logarithmic, default: attack,
                       meaning: "time for \(target) to rise from 0 to its peak"),
         ParameterSpec(prefix + "decay", unit: "s", range: decayRange, scale: .logarithmic, default: decay,
                       meaning: "time for \(target) to fall from its peak to the sustain level"),
         ParameterSpec(prefix + "sustain", range: 0...1, default: sustain,
                       meaning: "level of \(target) while the key is held, as a fraction of its peak"),
         ParameterSpec(prefix + "release", unit: "s", range: releaseRange, scale: .logarithmic, default: release,
                       meaning: "time for \(target) to fall to 0 after the key is released")]
    }

    /// Note-off in seconds from the note's start, as a musician's key release: a preset
    /// rendered longer than it was matched holds no longer, and releases into silence.
    /// (It was a fraction of the rendered length before module version 2, which made a
    /// preset matched on 1 s still sound at the end of a 4 s render.)
    public static let noteOffRange: ClosedRange<Double> = 0.01...12

    /// An analysed or given key release brought into `noteOffRange`.
    public static func clampedNoteOff(_ seconds: Double) -> Double {
        Swift.min(Swift.max(seconds, noteOffRange.lowerBound), noteOffRange.upperBound)
    }

    public static func noteOffParameter(default v: Double = 0.8) -> ParameterSpec {
        ParameterSpec("note_off", unit: "s", range: noteOffRange, scale: .logarithmic, default: v,
                      meaning: "when the key is released, from the note's start")
    }

    /// The envelope at time `t` (seconds).
    @inlinable
    public func value<T: SynthScalar>(at t: T, _ v: ADSRValues<T>) -> T {
        let tc = Swift.min(t, v.noteOff)
        let ra = shape.apply(clamp01(tc / v.attack)).value
        let rd = shape.apply(clamp01((tc - v.attack) / v.decay)).value
        let rr = shape.apply(clamp01((t - v.noteOff) / v.release)).value
        return v.peak * (ra + (v.sustain - 1) * rd) * (1 - rr)
    }

    /// Adds `w * d env(t) / d(each value)` to `grad`.
    @inlinable
    public func accumulateGradient<T: SynthScalar>(at t: T, _ v: ADSRValues<T>, weight w: T, into grad: inout ADSRValues<T>) {
        let tc = Swift.min(t, v.noteOff)
        let xa = tc / v.attack, xd = (tc - v.attack) / v.decay, xr = (t - v.noteOff) / v.release
        let (ra, sa) = shape.apply(clamp01(xa)), (rd, sd) = shape.apply(clamp01(xd)), (rr, sr) = shape.apply(clamp01(xr))
        let level = ra + (v.sustain - 1) * rd
        grad.peak += w * level * (1 - rr)
        let dLevel = w * v.peak * (1 - rr)
        grad.sustain += dLevel * rd
        let dpa = xa > 0 && xa < 1 ? dLevel * sa : 0
        let dpd = xd > 0 && xd < 1 ? dLevel * (v.sustain - 1) * sd : 0
        let dpr = xr > 0 && xr < 1 ? -w * v.peak * level * sr : 0
        grad.attack += -dpa * tc / (v.attack * v.attack) - dpd / v.decay
        grad.decay += -dpd * (tc - v.attack) / (v.decay * v.decay)
        grad.release += -dpr * (t - v.noteOff) / (v.release * v.release)
        let dtc = dpa / v.attack + dpd / v.decay
        grad.noteOff += (t > v.noteOff ? dtc : 0) - dpr / v.release
    }

    /// Writes the envelope at sample instants `t = (start + i) / sampleRate`, i in 0..<count.
    /// Linear segments take a branch-free, vectorisable loop.
    @inlinable
    public func render<T: SynthScalar>(_ v: ADSRValues<T>, sampleRate: Double, start: Int = 0, count: Int, into out: UnsafeMutablePointer<T>) {
        let dt = T(1 / sampleRate)
        guard case .linear = shape else {
            for i in 0..<count { out[i] = value(at: T(start + i) * dt, v) }
            return
        }
        let ia = 1 / v.attack, id = 1 / v.decay, ir = 1 / v.release, s1 = v.sustain - 1
        let a = v.attack, off = v.noteOff, peak = v.peak
        // (Sample indices go through Int32: its conversion to float vectorises on AVX2, a 64-bit
        // one does not; the same value for any note shorter than 2^31 samples.)
        for i in 0..<count {
            let t = T(Int32(truncatingIfNeeded: start &+ i)) * dt
            let tc = Swift.min(t, off)
            let ra = clamp01(tc * ia), rd = clamp01((tc - a) * id), rr = clamp01((t - off) * ir)
            out[i] = peak * (ra + s1 * rd) * (1 - rr)
        }
    }

    /// dLoss/d(values) given dLoss/d(env) at the same sample instants.
    ///
    /// Linear segments: between consecutive corners (a, a + d, off, off + r) every clamp is in
    /// a fixed state, so each partial derivative is affine in `t`: `alpha + beta t`. Each
    /// region then needs only `sum w` and `sum w t` (two vectorisable reductions) and two
    /// evaluations of the per-sample gradient to read off alpha and beta. Samples next to a
    /// corner (where rounding could put them on either side) take the per-sample path.
    @inlinable
    public func gradient<T: SynthScalar>(_ v: ADSRValues<T>, sampleRate: Double, start: Int = 0, count: Int,
                                         cotangent: UnsafePointer<T>) -> ADSRValues<T> {
        var g = ADSRValues<T>.zero
        let dt = T(1 / sampleRate)
        func exact(_ i: Int) {
            if cotangent[i] != 0 { accumulateGradient(at: T(start + i) * dt, v, weight: cotangent[i], into: &g) }
        }
        guard case .linear = shape else {
            for i in 0..<count { exact(i) }
            return g
        }
        // Sample indices (relative to `start`) of the corners, each guarded by one sample either side.
        let corners = [v.attack, Swift.min(v.attack + v.decay, v.noteOff), v.noteOff, v.noteOff + v.release]
            .map { Double($0) * sampleRate - Double(start) }
            .filter { $0 > -2 && $0 < Double(count) + 1 }
            .map { Int($0.rounded(.down)) }
            .sorted()
        var i = 0
        for corner in corners + [count + 1] {
            let end = Swift.min(corner - 1, count)   // exclusive end of the region before this corner
            if end - i >= 3 {
                region(v, sampleRate: sampleRate, start: start, range: i..<end, cotangent: cotangent, into: &g)
                i = end
            }
            while i < Swift.min(corner + 2, count) { exact(i); i += 1 }
        }
        while i < count { exact(i); i += 1 }
        return g
    }

    /// Adds the gradient of samples `range`, over which every partial is affine in t.
    @inlinable
    func region<T: SynthScalar>(_ v: ADSRValues<T>, sampleRate: Double, start: Int, range: Range<Int>,
                                cotangent w: UnsafePointer<T>, into g: inout ADSRValues<T>) {
        let dt = T(1 / sampleRate)
        let t1 = T(start + range.lowerBound) * dt, t2 = T(start + range.upperBound - 1) * dt
        var f1 = ADSRValues<T>.zero, f2 = ADSRValues<T>.zero
        accumulateGradient(at: t1, v, weight: 1, into: &f1)
        accumulateGradient(at: t2, v, weight: 1, into: &f2)
        // sum w and sum w t, with t measured from t1 to keep the affine fit well conditioned.
        var w0: T = 0, w1: T = 0
        var s0: T = 0, s1: T = 0, s2: T = 0, s3: T = 0, u0: T = 0, u1: T = 0, u2: T = 0, u3: T = 0
        var i = range.lowerBound
        let base = range.lowerBound
        while i + 4 <= range.upperBound {
            s0 += w[i]; s1 += w[i + 1]; s2 += w[i + 2]; s3 += w[i + 3]
            let k = Int32(truncatingIfNeeded: i &- base)   // (Int32: see `render`)
            u0 += w[i] * T(k); u1 += w[i + 1] * T(k &+ 1); u2 += w[i + 2] * T(k &+ 2); u3 += w[i + 3] * T(k &+ 3)
            i += 4
        }
        while i < range.upperBound { s0 += w[i]; u0 += w[i] * T(i - base); i += 1 }
        w0 = (s0 + s1) + (s2 + s3)
        w1 = ((u0 + u1) + (u2 + u3)) * dt
        let span = t2 - t1
        func add(_ a: T, _ b: T) -> T { let beta = (b - a) / span; return a * w0 + beta * w1 }
        g.attack += add(f1.attack, f2.attack); g.decay += add(f1.decay, f2.decay); g.sustain += add(f1.sustain, f2.sustain)
        g.release += add(f1.release, f2.release); g.noteOff += add(f1.noteOff, f2.noteOff); g.peak += add(f1.peak, f2.peak)
    }
}

/// Sum of `count` values with four independent accumulators (a float sum is ordered, so the
/// compiler will not split the dependency chain itself).
@inlinable func blockSum<T: SynthScalar>(_ p: UnsafePointer<T>, _ count: Int) -> T {
    var s0: T = 0, s1: T = 0, s2: T = 0, s3: T = 0
    var i = 0
    while i + 4 <= count { s0 += p[i]; s1 += p[i + 1]; s2 += p[i + 2]; s3 += p[i + 3]; i += 4 }
    while i < count { s0 += p[i]; i += 1 }
    return (s0 + s1) + (s2 + s3)
}

@inlinable func clamp01<T: SynthScalar>(_ x: T) -> T { Swift.min(Swift.max(x, 0), 1) }

/// The envelope itself as a module ("adsr"): renders `env(t)` as the signal. Useful as a
/// check of the envelope's gradients through the one protocol, and to plot envelopes.
public struct EnvelopeSynth: Synth {
    public let name: String
    public let sampleRate: Double
    public let envelope: ADSR
    public let parameters: [ParameterSpec]
    /// 2: note-off in seconds (a fraction of the rendered length in version 1).
    public var version: Int { 2 }

    public init(sampleRate: Double = 16000, shape: EnvelopeShape = .linear, name: String = "adsr") {
        self.name = name
        self.sampleRate = sampleRate
        self.envelope = ADSR(shape: shape)
        parameters = ADSR.segmentParameters(prefix: "") + [
            ADSR.noteOffParameter(),
            ParameterSpec("peak", range: 0...1, defaultNormalised: 0.8, meaning: "the envelope's highest level"),
        ]
    }

    /// Physical values and their slopes d(physical)/d(normalised) for item `b`.
    func values<T: SynthScalar>(_ c: Controls<T>, item b: Int, sampleCount: Int) -> (ADSRValues<T>, ADSRValues<T>) {
        func p(_ i: Int) -> (T, T) { parameters[i].physicalWithDerivative(c[item: b, parameter: i, frame: 0]) }
        let (a, da) = p(0), (d, dd) = p(1), (s, ds) = p(2), (r, dr) = p(3), (off, doff) = p(4), (pk, dpk) = p(5)
        return (ADSRValues(attack: a, decay: d, sustain: s, release: r, noteOff: off, peak: pk),
                ADSRValues(attack: da, decay: dd, sustain: ds, release: dr, noteOff: doff, peak: dpk))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func render<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>) {
        precondition(controls.layout.parameters == parameters, "\(name): controls were laid out for another module")
        let n = request.sampleCount
        if audio.batchSize != controls.batchSize || audio.sampleCount != n { audio = AudioBatch(zeros: controls.batchSize, sampleCount: n) }
        audio.samples.withUnsafeMutableBufferPointer { out in
            for b in 0..<controls.batchSize {
                envelope.render(values(controls, item: b, sampleCount: n).0, sampleRate: sampleRate, count: n, into: out.baseAddress! + b * n)
            }
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valueWithPullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest)
        -> (value: AudioBatch<T>, pullback: (AudioBatch<T>) -> Controls<T>) {
        let audio = render(controls, request)
        return (audio, { dAudio in
            var grad = Controls<T>(zerosFor: controls.layout, batchSize: controls.batchSize)
            let n = request.sampleCount
            dAudio.samples.withUnsafeBufferPointer { dy in
                for b in 0..<controls.batchSize {
                    let (v, slope) = values(controls, item: b, sampleCount: n)
                    let g = envelope.gradient(v, sampleRate: sampleRate, count: n, cotangent: dy.baseAddress! + b * n)
                    let d = [g.attack * slope.attack, g.decay * slope.decay, g.sustain * slope.sustain,
                             g.release * slope.release, g.noteOff * slope.noteOff, g.peak * slope.peak]
                    for (i, x) in d.enumerated() { grad[item: b, parameter: i, frame: 0] = x }
                }
            }
            return grad
        })
    }
}
