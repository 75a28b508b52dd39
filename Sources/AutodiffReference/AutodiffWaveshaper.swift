import _Differentiation
import DSP
import Foundation
import Synths

/// The Chebyshev waveshaper (`WaveshaperSynth`, "waveshaper") as a scalar loop:
///
///     e[n] = sin((n + 1) 2 pi f0 / sr),   x_s = a_s e + b_s,   u_s = clamp(x_s, -1, 1)
///     y[n] = sum_s c_s sum_k h_{s,k} T_k(u_s) + d_s          (T_k by the three-term recurrence)
public struct AutodiffWaveshaper: ScalarLoopSynth {
    public let sampleRate: Double
    public let sampleCount: Int
    let specs: [ParameterSpec]
    let order: Int
    let f0: Int
    /// Per shaper: index gain, index bias, norm gain, norm bias, then h_1 ... h_order.
    let shapers: [[Int]]

    public init(_ synth: WaveshaperSynth, sampleCount: Int) {
        guard case .chebyshev(let order) = synth.shaper else { preconditionFailure("autodiff waveshaper: Chebyshev shapers only") }
        sampleRate = synth.sampleRate
        self.sampleCount = sampleCount
        self.order = order
        specs = synth.parameters
        f0 = indices(specs, ["f0"])[0]
        shapers = (1...synth.shaperCount).map { s in
            indices(synth.parameters, ["index_gain", "index_bias", "norm_gain", "norm_bias"].map { "shaper\(s)_\($0)" }
                                      + (1...order).map { "shaper\(s)_h\($0)" })
        }
    }

    @differentiable(reverse)
    public func render(_ u: [Double]) -> [Double] {
        let v = physicalValues(u, withoutDerivative(at: specs))
        let banks = withoutDerivative(at: shapers), k = withoutDerivative(at: order)
        let n = withoutDerivative(at: sampleCount)
        let omega = 2 * Double.pi * v[withoutDerivative(at: f0)] / withoutDerivative(at: sampleRate)
        var y: [Double] = []
        for s in 0..<n {
            let e = sin(Double(s + 1) * omega)
            var sum = 0.0
            for i in banks {
                let x = clampSigned(v[i[0]] * e + v[i[1]])
                var t0 = 1.0, t1 = x, shaped = 0.0
                for j in 0..<k {
                    shaped = shaped + v[i[4 + j]] * t1
                    let t2 = 2 * x * t1 - t0
                    t0 = t1
                    t1 = t2
                }
                sum = sum + v[i[2]] * shaped + v[i[3]]
            }
            y.append(sum)
        }
        return y
    }
}

/// `min(max(x, -1), 1)` with derivative 0 outside.
@differentiable(reverse)
func clampSigned(_ x: Double) -> Double {
    if x < -1 { return -1 }
    if x > 1 { return 1 }
    return x
}

extension WaveshaperSynth: HasScalarLoop {
    public func scalarLoop(sampleCount: Int, noiseKey: UInt64) -> (any ScalarLoopSynth)? {
        if case .chebyshev = shaper { return AutodiffWaveshaper(self, sampleCount: sampleCount) }
        return nil
    }
}
