import _Differentiation
import DSP
import Foundation
import Synths

/// DDSP's filtered noise (`FilteredNoise`) as a scalar loop: with static band magnitudes
/// every frame has the same impulse response, so the module's frame-by-frame convolution is
/// one convolution of the (constant) noise with
///
///     h[t] = sum_b D[t, b] m_b,   y[t] = sum_j h[j] x[t + c - j]   (c: DDSP's crop start)
///
/// where D is the module's design matrix (irfft, Hann window, causal shift) and m the
/// magnitudes after the exp-sigmoid map.
public struct AutodiffFilteredNoise: ScalarLoopSynth {
    public let sampleCount: Int
    let specs: [ParameterSpec]
    let design: [Double]
    let impulseLength: Int
    let cropStart: Int
    let noise: [Double]

    public init(_ synth: FilteredNoise, sampleCount n: Int, noiseKey: UInt64 = 0) {
        sampleCount = n
        specs = synth.parameters
        design = synth.design
        impulseLength = synth.impulseLength
        cropStart = (synth.impulseLength - 1) / 2 - 1
        noise = CounterRandom.whiteNoise(key: noiseKey, count: n)
    }

    @differentiable(reverse)
    public func render(_ u: [Double]) -> [Double] {
        let m = physicalValues(u, withoutDerivative(at: specs))
        let d = withoutDerivative(at: design), l = withoutDerivative(at: impulseLength), k = withoutDerivative(at: specs.count)
        let x = withoutDerivative(at: noise), c = withoutDerivative(at: cropStart), n = withoutDerivative(at: sampleCount)
        var h: [Double] = []
        for t in 0..<l {
            var s = 0.0
            for b in 0..<k { s = s + d[t * k + b] * m[b] }
            h.append(s)
        }
        var y: [Double] = []
        for t in 0..<n {
            var s = 0.0
            for j in max(0, t + c - n + 1)..<min(l, t + c + 1) { s = s + h[j] * x[t + c - j] }
            y.append(s)
        }
        return y
    }
}

/// A composite (`SynthSum`, e.g. DDSP's harmonic-plus-noise) as the sum of its parts'
/// scalar loops, each reading its slice of the parameters.
public struct AutodiffSum: ScalarLoopSynth {
    let parts: [any ScalarLoopSynth]
    let parameterCounts: [Int]
    let sampleCount: Int

    public init(parts: [any ScalarLoopSynth], parameterCounts: [Int], sampleCount: Int) {
        precondition(parts.count == parameterCounts.count && !parts.isEmpty, "autodiff sum: one parameter count per part")
        (self.parts, self.parameterCounts, self.sampleCount) = (parts, parameterCounts, sampleCount)
    }

    @differentiable(reverse)
    public func render(_ u: [Double]) -> [Double] {
        let counts = withoutDerivative(at: parameterCounts), n = withoutDerivative(at: sampleCount)
        var total = [Double](repeating: 0, count: n)
        var offset = 0
        for p in 0..<counts.count {
            var slice: [Double] = []
            for i in 0..<counts[p] { slice.append(u[offset + i]) }
            offset += counts[p]
            let y = withoutDerivative(at: parts[p]).render(slice)
            var next: [Double] = []
            for i in 0..<n { next.append(total[i] + y[i]) }
            total = next
        }
        return total
    }
}

extension FilteredNoise: HasScalarLoop {
    public func scalarLoop(sampleCount: Int, noiseKey: UInt64) -> (any ScalarLoopSynth)? {
        AutodiffFilteredNoise(self, sampleCount: sampleCount, noiseKey: noiseKey)
    }
}

/// A sum of modules has a twin when every part has one.
extension SynthSum: HasScalarLoop {
    public func scalarLoop(sampleCount: Int, noiseKey: UInt64) -> (any ScalarLoopSynth)? {
        let twins = parts.compactMap { ScalarLoop.make(for: $0, sampleCount: sampleCount, noiseKey: noiseKey) }
        guard twins.count == parts.count else { return nil }
        return AutodiffSum(parts: twins, parameterCounts: parts.map(\.parameters.count), sampleCount: sampleCount)
    }
}
