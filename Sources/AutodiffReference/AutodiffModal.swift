import _Differentiation
import DSP
import Foundation
import Synths

/// The modal bank (`ModalSynth`, recursive realisation) as a scalar loop: every mode's
/// two-pole recursion, sample by sample,
///
///     theta = 2 pi f0 ratio / sr,  r = 10^(-3 / (t60 sr)),  y_m[n] = g sin(theta) x[n] + 2 r cos(theta) y_m[n-1] - r^2 y_m[n-2]
///
/// summed over the modes below Nyquist; x is the module's excitation (impulse or noise burst,
/// a constant).
public struct AutodiffModal: ScalarLoopSynth {
    public let sampleRate: Double
    public let sampleCount: Int
    let specs: [ParameterSpec]
    /// Per mode: ratio, t60, gain.
    let modes: [[Int]]
    let excitation: [Double]

    public init(_ synth: ModalSynth, sampleCount: Int, noiseKey: UInt64 = 0) {
        precondition(synth.realisation == .recursive, "autodiff modal: the recursive realisation only")
        sampleRate = synth.sampleRate
        self.sampleCount = sampleCount
        specs = synth.parameters
        modes = (1...synth.modeCount).map { m in indices(synth.parameters, ["mode\(m)_ratio", "mode\(m)_t60", "mode\(m)_gain"]) }
        excitation = synth.excitationSignal(sampleCount, key: noiseKey)
    }

    @differentiable(reverse)
    public func render(_ u: [Double]) -> [Double] {
        let v = physicalValues(u, withoutDerivative(at: specs))
        let sr = withoutDerivative(at: sampleRate), n = withoutDerivative(at: sampleCount)
        let x = withoutDerivative(at: excitation), bank = withoutDerivative(at: modes)
        let f0 = v[0]
        var b0: [Double] = [], a1: [Double] = [], a2: [Double] = []
        for i in bank {
            let theta = 2 * Double.pi * f0 * v[i[0]] / sr
            let r = pow(10, -3 / (v[i[1]] * sr))
            // Modes at or above Nyquist are silent: a constant mask (see ScalarLoopSynth).
            let mask = withoutDerivative(at: f0 * v[i[0]] < sr / 2 ? 1.0 : 0.0)
            b0.append(mask * v[i[2]] * sin(theta))
            a1.append(mask * -2 * r * cos(theta))
            a2.append(mask * r * r)
        }
        // Mode by mode with scalar state, summed into `y` (a fresh array per mode: an array
        // appended to and never read again would get an empty tangent, on which the pullback
        // of `append` traps).
        var y = [Double](repeating: 0, count: n)
        for m in 0..<bank.count {
            var y1 = 0.0, y2 = 0.0
            var sum: [Double] = []
            for s in 0..<n {
                let ym = b0[m] * x[s] - a1[m] * y1 - a2[m] * y2
                y2 = y1
                y1 = ym
                sum.append(y[s] + ym)
            }
            y = sum
        }
        return y
    }
}

extension ModalSynth: HasScalarLoop {
    public func scalarLoop(sampleCount: Int, noiseKey: UInt64) -> (any ScalarLoopSynth)? {
        realisation == .recursive ? AutodiffModal(self, sampleCount: sampleCount, noiseKey: noiseKey) : nil
    }
}
