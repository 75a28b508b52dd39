import _Differentiation
import DSP
import Foundation
import Synths

/// The harmonic bank (`HarmonicOscillatorBank`) for one static note as a scalar loop
/// (`ScalarLoopSynth`). It reads the bank's normalised controls for one frame (amplitude, K
/// harmonic weights, f0; every frame equal), maps them as the bank's specs do, and renders
///
///     y[n] = A sum_k [k f0 < sr/2] (e_k / sum_j [j f0 < sr/2] e_j) sin(k 2 pi f0 (n + 1) / sr)
///
/// which equals the bank's output for constant controls (test). Deliberately naive: this is
/// what the exact hand-written adjoint is measured against, not a fast path.
public struct AutodiffHarmonic: ScalarLoopSynth {
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

    @differentiable(reverse)
    public func render(_ u: [Double]) -> [Double] {
        let k = withoutDerivative(at: harmonicCount)
        let amplitude = physical(u[0], withoutDerivative(at: specs[0]))
        let f0 = physical(u[k + 1], withoutDerivative(at: specs[k + 1]))
        let nyquist = withoutDerivative(at: sampleRate / 2), f0Value = withoutDerivative(at: f0)
        var total = 0.0
        var weights: [Double] = []
        for h in 1...k {
            let e = physical(u[h], withoutDerivative(at: specs[h]))
            // A constant mask, not `audible ? e : 0.0`: Swift 6.3's reverse-mode derivative
            // of that ternary inside a loop is wrong (Experiments/reference/autodiff_ternary.swift).
            let mask = withoutDerivative(at: Double(h) * f0Value < nyquist ? 1.0 : 0.0)
            weights.append(e * mask)
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
            y.append(amplitude * s / total)
        }
        return y
    }
}

extension HarmonicOscillatorBank: HasScalarLoop {
    public func scalarLoop(sampleCount: Int, noiseKey: UInt64) -> (any ScalarLoopSynth)? {
        AutodiffHarmonic(harmonicCount: harmonicCount, sampleRate: sampleRate, sampleCount: sampleCount)
    }
}
