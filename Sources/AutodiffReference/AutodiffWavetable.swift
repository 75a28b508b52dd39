import _Differentiation
import DSP
import Foundation
import Synths

/// The fixed-table wavetable module (`WavetableSynth`, "wavetable-fixed", linear
/// interpolation) as a scalar loop:
///
///     p[n] = frac(n f0 / sr),   w_k[n] = linear read of table k's mip level for f0 at p[n] L
///     y[n] = A sum_k softmax(mix)_k w_k[n]
///
/// The read position's integer part and the mip level are constants; the fraction carries
/// the f0 gradient.
public struct AutodiffWavetable: ScalarLoopSynth {
    public let sampleRate: Double
    public let sampleCount: Int
    let specs: [ParameterSpec]
    let mipmaps: [[[Double]]]
    let tableLength: Int
    /// amplitude, f0, then the K mix logits.
    let index: [Int]

    public init(_ synth: WavetableSynth, sampleCount: Int) {
        precondition(!synth.learnable && synth.interpolation == .linear, "autodiff wavetable: fixed tables, linear interpolation only")
        sampleRate = synth.sampleRate
        self.sampleCount = sampleCount
        specs = synth.parameters
        mipmaps = synth.mipmaps
        tableLength = synth.tableLength
        index = indices(specs, ["amplitude", "f0"] + (1...synth.tableCount).map { "mix_\($0)" })
    }

    @differentiable(reverse)
    public func render(_ u: [Double]) -> [Double] {
        let v = physicalValues(u, withoutDerivative(at: specs))
        let i = withoutDerivative(at: index), tables = withoutDerivative(at: mipmaps)
        let n = withoutDerivative(at: sampleCount), sr = withoutDerivative(at: sampleRate)
        let length = withoutDerivative(at: tableLength)
        let amplitude = v[i[0]], f0 = v[i[1]]
        var weights: [Double] = []
        var total = 0.0
        for k in 0..<tables.count {
            let e = exp(v[i[2 + k]])
            weights.append(e)
            total = total + e
        }
        let level = withoutDerivative(at: WavetableSynth.mipLevel(withoutDerivative(at: f0), levels: tables[0].count))
        let cycles = f0 / sr
        var y: [Double] = []
        for s in 0..<n {
            let turns = Double(s) * cycles
            let phase = turns - withoutDerivative(at: turns.rounded(.down))
            let position = phase * Double(length)
            let i0 = withoutDerivative(at: min(Int(position), length - 1))
            let i1 = withoutDerivative(at: i0 + 1 == length ? 0 : i0 + 1)
            let a = position - Double(i0)
            var sum = 0.0
            for k in 0..<tables.count {
                let lo = tables[k][level][i0], hi = tables[k][level][i1]
                sum = sum + weights[k] * (lo + a * (hi - lo))
            }
            y.append(amplitude * sum / total)
        }
        return y
    }
}

extension WavetableSynth: HasScalarLoop {
    public func scalarLoop(sampleCount: Int, noiseKey: UInt64) -> (any ScalarLoopSynth)? {
        learnable || interpolation != .linear ? nil : AutodiffWavetable(self, sampleCount: sampleCount)
    }
}
