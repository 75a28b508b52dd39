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
    public static func segmentParameters(prefix: String, attack: Double = 0.01, decay: Double = 0.3,
                                         sustain: Double = 0.6, release: Double = 0.3) -> [ParameterSpec] {
        func spec(_ n: String, _ unit: String, _ r: ClosedRange<Double>, _ scale: ParameterScale, _ v: Double) -> ParameterSpec {
            let s = ParameterSpec(prefix + n, unit: unit, range: r, scale: scale)
            return ParameterSpec(prefix + n, unit: unit, range: r, scale: scale, defaultNormalised: s.normalised(v))
        }
        return [spec("attack", "s", attackRange, .logarithmic, attack),
                spec("decay", "s", decayRange, .logarithmic, decay),
                spec("sustain", "", 0...1, .linear, sustain),
                spec("release", "s", releaseRange, .logarithmic, release)]
    }

    /// Note-off as a fraction of the rendered length, so one preset releases inside any
    /// duration (1 holds the note to the end).
    public static func noteOffParameter(default v: Double = 0.8) -> ParameterSpec {
        ParameterSpec("note_off", unit: "of length", range: 0.05...1, defaultNormalised: (v - 0.05) / 0.95)
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
    @inlinable
    public func render<T: SynthScalar>(_ v: ADSRValues<T>, sampleRate: Double, start: Int = 0, count: Int, into out: UnsafeMutablePointer<T>) {
        let dt = T(1 / sampleRate)
        for i in 0..<count { out[i] = value(at: T(start + i) * dt, v) }
    }

    /// dLoss/d(values) given dLoss/d(env) at the same sample instants.
    @inlinable
    public func gradient<T: SynthScalar>(_ v: ADSRValues<T>, sampleRate: Double, start: Int = 0, count: Int,
                                         cotangent: UnsafePointer<T>) -> ADSRValues<T> {
        var g = ADSRValues<T>.zero
        let dt = T(1 / sampleRate)
        for i in 0..<count where cotangent[i] != 0 {
            accumulateGradient(at: T(start + i) * dt, v, weight: cotangent[i], into: &g)
        }
        return g
    }
}

@inlinable func clamp01<T: SynthScalar>(_ x: T) -> T { Swift.min(Swift.max(x, 0), 1) }

/// The envelope itself as a module ("adsr"): renders `env(t)` as the signal. Useful as a
/// check of the envelope's gradients through the one protocol, and to plot envelopes.
public struct EnvelopeSynth: Synth {
    public let name: String
    public let sampleRate: Double
    public let envelope: ADSR
    public let parameters: [ParameterSpec]

    public init(sampleRate: Double = 16000, shape: EnvelopeShape = .linear, name: String = "adsr") {
        self.name = name
        self.sampleRate = sampleRate
        self.envelope = ADSR(shape: shape)
        parameters = ADSR.segmentParameters(prefix: "") + [
            ADSR.noteOffParameter(),
            ParameterSpec("peak", range: 0...1, defaultNormalised: 0.8),
        ]
    }

    /// Physical values and their slopes d(physical)/d(normalised) for item `b`.
    func values<T: SynthScalar>(_ c: Controls<T>, item b: Int, sampleCount: Int) -> (ADSRValues<T>, ADSRValues<T>) {
        func p(_ i: Int) -> (T, T) { parameters[i].physicalWithDerivative(c[item: b, parameter: i, frame: 0]) }
        let (a, da) = p(0), (d, dd) = p(1), (s, ds) = p(2), (r, dr) = p(3), (off, doff) = p(4), (pk, dpk) = p(5)
        let length = T(Double(sampleCount) / sampleRate)
        return (ADSRValues(attack: a, decay: d, sustain: s, release: r, noteOff: off * length, peak: pk),
                ADSRValues(attack: da, decay: dd, sustain: ds, release: dr, noteOff: doff * length, peak: dpk))
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
