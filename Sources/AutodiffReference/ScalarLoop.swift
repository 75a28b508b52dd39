import _Differentiation
import DSP
import Foundation
import Synths

/// A synth module rewritten as a plain scalar loop over samples and differentiated by the
/// Swift compiler (`@differentiable(reverse)`): the automatic-differentiation contender of the
/// gradient-estimator benchmark (`bench gradients`). One per module; each renders what its
/// module renders for static controls (every frame of a per-frame parameter equal) and its
/// compiler-made pullback equals the module's hand-written adjoint summed over frames (tests).
///
/// Deliberately naive: float64, one tape entry per scalar operation, arrays grown by
/// `append`. That is what a user gets from the language's autodiff without hand-written
/// derivatives, and what the exact adjoints are measured against; it is not a fast path.
///
/// Written around three limits of Swift 6.3's autodiff: `min`, `max` and `clamp` have no
/// registered derivative (`smaller`, `larger`, `clamp01` below use `if`); the derivative of
/// `cond ? x : 0.0` inside a loop is wrong (`Experiments/reference/autodiff_ternary.swift`), so
/// masks are constants multiplied in (`withoutDerivative`); and `append`'s pullback traps on an
/// array that is never read after its last append (`Experiments/reference/autodiff_append.swift`),
/// so every array a rewrite builds is read again.
public protocol ScalarLoopSynth: Sendable {
    /// Audio for normalised static parameters, one per parameter spec in the module's order.
    @differentiable(reverse)
    func render(_ u: [Double]) -> [Double]
}

extension ScalarLoopSynth {
    /// Audio and the pullback from dL/d(audio) to dL/d(normalised parameters), by the compiler.
    public func valueWithPullback(_ u: [Double]) -> (value: [Double], pullback: ([Double]) -> [Double]) {
        let (value, pullback) = _Differentiation.valueWithPullback(at: u) { render($0) }
        return (value, { dy in pullback(Array<Double>.TangentVector(dy)).base })
    }
}

/// A module with a compiler-autodiff twin says so by conforming (in its twin's file), so the
/// twin is found from the module alone: no list of modules here.
public protocol HasScalarLoop {
    /// The twin for renders of `sampleCount` samples, or nil for configurations it does not
    /// cover (exponential envelopes, FFT realisations, learnable tables).
    func scalarLoop(sampleCount: Int, noiseKey: UInt64) -> (any ScalarLoopSynth)?
}

/// The scalar-loop version of a module, or nil for the modules that have none (learnable
/// wavetables, NEWT's MLP shapers, the FFT realisations, reverb, exponential envelopes).
public enum ScalarLoop {
    public static func make(for synth: any Synth, sampleCount: Int, noiseKey: UInt64 = 0) -> (any ScalarLoopSynth)? {
        (synth as? any HasScalarLoop)?.scalarLoop(sampleCount: sampleCount, noiseKey: noiseKey)
    }
}

/// Indices of parameters by name (a missing name is a programming error).
func indices(_ specs: [ParameterSpec], _ names: [String]) -> [Int] {
    names.map { name in
        guard let i = specs.firstIndex(where: { $0.name == name }) else { preconditionFailure("scalar loop: no parameter \(name)") }
        return i
    }
}

/// `ParameterSpec.physical` for u in [0, 1] (the module clamps first; the study's points and
/// sigmoid-mapped iterates are inside, where the maps agree).
@differentiable(reverse)
func physical(_ u: Double, _ spec: ParameterSpec) -> Double {
    let lo = withoutDerivative(at: spec.minimum), hi = withoutDerivative(at: spec.maximum)
    switch withoutDerivative(at: spec.scale) {
    case .linear:
        return lo + (hi - lo) * u
    case .logarithmic:
        return lo * exp(log(hi / lo) * u)
    case .curve(let c):
        return lo + (hi - lo) * pow(u, 1 / c)
    case .symmetricCurve(let c):
        let d = 2 * u - 1
        if d < 0 { return lo + (hi - lo) / 2 * (1 - pow(-d, 1 / c)) }
        return lo + (hi - lo) / 2 * (pow(d, 1 / c) + 1)
    case .categorical:
        return lo + withoutDerivative(at: min((u * (hi - lo + 1)).rounded(.down), hi - lo))
    }
}

/// Every parameter's physical value.
@differentiable(reverse)
func physicalValues(_ u: [Double], _ specs: [ParameterSpec]) -> [Double] {
    var v: [Double] = []
    for p in 0..<withoutDerivative(at: specs.count) { v.append(physical(u[p], specs[p])) }
    return v
}

@differentiable(reverse)
func smaller(_ a: Double, _ b: Double) -> Double {
    if a < b { return a }
    return b
}

@differentiable(reverse)
func larger(_ a: Double, _ b: Double) -> Double {
    if a > b { return a }
    return b
}

@differentiable(reverse)
func clamp01(_ x: Double) -> Double {
    if x < 0 { return 0 }
    if x > 1 { return 1 }
    return x
}

/// The linear ADSR (`ADSR.value`) at time t (seconds):
/// `peak (r_a + (s - 1) r_d) (1 - r_r)` with clamped attack, decay and release progressions.
@differentiable(reverse)
func envelope(at t: Double, attack a: Double, decay d: Double, sustain s: Double, release r: Double,
              noteOff off: Double, peak: Double) -> Double {
    let tc = smaller(t, off)
    let ra = clamp01(tc / a), rd = clamp01((tc - a) / d), rr = clamp01((t - off) / r)
    return peak * (ra + (s - 1) * rd) * (1 - rr)
}

/// The fraction part of a constant (phases wrap; the wrap has derivative 0).
func wrapped(_ x: Double) -> Double { x - x.rounded(.down) }
