import _Differentiation
import DSP
import Foundation
import Synths

/// The harmonic bank (`HarmonicOscillatorBank`) for one static note, written as a plain
/// scalar loop and differentiated by the Swift compiler (`@differentiable(reverse)`): the
/// automatic-differentiation contender of the gradient-estimator benchmark (`bench
/// gradients`). It reads the bank's normalised controls for one frame (amplitude, K
/// harmonic weights, f0; every frame equal), maps them as the bank's specs do, and renders
///
///     y[n] = A sum_k [k f0 < sr/2] (e_k / sum_j [j f0 < sr/2] e_j) sin(k 2 pi f0 (n + 1) / sr)
///
/// which equals the bank's output for constant controls (test). Deliberately naive: this is
/// what the exact hand-written adjoint is measured against, not a fast path.
public struct AutodiffHarmonic: Sendable {
    public let harmonicCount: Int
    public let sampleRate: Double
    public let sampleCount: Int
    /// The bank's parameter specs (amplitude, harmonics, f0) for the maps.
    let specs: [ParameterSpec]

    public init(harmonicCount: Int, sampleRate: Double, sampleCount: Int) {
        self.harmonicCount = harmonicCount
        self.sampleRate = sampleRate
        self.sampleCount = sampleCount
        specs = HarmonicOscillatorBank(sampleRate: sampleRate, harmonicCount: harmonicCount).parameters
    }

    /// Audio and the pullback from dL/dy to dL/d(controls), by the compiler.
    public func valueWithPullback(_ controls: [Double]) -> (value: [Double], pullback: ([Double]) -> [Double]) {
        let (value, pullback) = _Differentiation.valueWithPullback(at: controls) { render($0) }
        return (value, { dy in pullback(Array<Double>.TangentVector(dy)).base })
    }

    @differentiable(reverse)
    public func render(_ u: [Double]) -> [Double] {
        let k = withoutDerivative(at: harmonicCount)
        let amplitude = curve(u[0], spec: withoutDerivative(at: specs[0]))
        let f0 = logarithmic(u[k + 1], spec: withoutDerivative(at: specs[k + 1]))
        let nyquist = withoutDerivative(at: sampleRate / 2), f0Value = withoutDerivative(at: f0)
        var total = 0.0
        var weights: [Double] = []
        for h in 1...k {
            let e = curve(u[h], spec: withoutDerivative(at: specs[h]))
            // A constant mask, not `audible ? e : 0.0`: Swift 6.3's reverse-mode derivative
            // of that ternary inside a loop is wrong (Experiments/reference/autodiff_ternary.swift).
            let mask = withoutDerivative(at: Double(h) * f0Value < nyquist ? 1.0 : 0.0)
            weights = weights + [e * mask]
            total = total + e * mask
        }
        var y: [Double] = []
        let omega = 2 * Double.pi * f0 / withoutDerivative(at: sampleRate)
        for n in 0..<withoutDerivative(at: sampleCount) {
            let phase = omega * Double(n + 1)
            var s = 0.0
            for h in 1...k {
                s = s + weights[h - 1] * sin(Double(h) * phase)
            }
            y = y + [amplitude * s / total]
        }
        return y
    }

    /// `ParameterScale.curve(c)` on [min, max]: `min + (max - min) u^(1/c)`.
    @differentiable(reverse)
    func curve(_ u: Double, spec: ParameterSpec) -> Double {
        guard case .curve(let c) = spec.scale else { preconditionFailure("autodiff harmonic: expected a curve scale for \(spec.name)") }
        return spec.minimum + (spec.maximum - spec.minimum) * pow(u, 1 / c)
    }

    /// `ParameterScale.logarithmic` on [min, max]: `min (max / min)^u`.
    @differentiable(reverse)
    func logarithmic(_ u: Double, spec: ParameterSpec) -> Double {
        spec.minimum * exp(log(spec.maximum / spec.minimum) * u)
    }
}
