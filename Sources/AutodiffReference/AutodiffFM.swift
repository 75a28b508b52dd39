import _Differentiation
import DSP
import Foundation
import Synths

/// The six-operator FM module (`FMSynth`, any DX7 algorithm, linear envelopes) as a scalar
/// loop: sample by sample, operators 6 down to 1 (a topological order of every algorithm),
///
///     theta_i[n] = (n + 1) f0 ratio_i 2^(detune_i / 1200) / sr + sum_{j -> i} out_j[n] + [i = dst] feedback / 2 out_src[n - 1]
///     out_i[n]   = level_i ADSR_i(n / sr) sin(2 pi theta_i[n]),   y[n] = mean of the carriers' outputs
///
/// The feedback source's previous output is carried from one sample to the next, which
/// covers the self loops and algorithms 4 and 6 (source below its destination) alike.
public struct AutodiffFM: ScalarLoopSynth {
    public let sampleRate: Double
    public let sampleCount: Int
    let specs: [ParameterSpec]
    let algorithm: DX7Algorithm
    let fixedRatios: [Double]?
    /// f0, feedback, note_off.
    let global: [Int]
    /// Per operator 1...6 (row op - 1): level, ratio (or -1 when fixed), detune, attack, decay, sustain, release.
    let op: [[Int]]

    public init(_ synth: FMSynth, sampleCount: Int) {
        precondition(synth.envelope.shape == .linear, "autodiff FM: linear envelopes only")
        sampleRate = synth.sampleRate
        self.sampleCount = sampleCount
        specs = synth.parameters
        algorithm = synth.algorithm
        fixedRatios = synth.fixedRatios
        global = indices(specs, ["f0", "feedback", "note_off"])
        op = (1...6).map { o in
            let ratio = synth.fixedRatios == nil ? indices(synth.parameters, ["op\(o)_ratio"])[0] : -1
            let rest = indices(synth.parameters, ["op\(o)_detune", "op\(o)_attack", "op\(o)_decay", "op\(o)_sustain", "op\(o)_release"])
            return [indices(synth.parameters, ["op\(o)_level"])[0], ratio] + rest
        }
    }

    @differentiable(reverse)
    public func render(_ u: [Double]) -> [Double] {
        let v = physicalValues(u, withoutDerivative(at: specs))
        let g = withoutDerivative(at: global), ops = withoutDerivative(at: op), alg = withoutDerivative(at: algorithm)
        let n = withoutDerivative(at: sampleCount), sr = withoutDerivative(at: sampleRate)
        let dt = 1 / sr
        let f0 = v[g[0]], feedback = v[g[1]] / 2, off = v[g[2]]
        // Phase increments (cycles per sample) of operators 6, 5, ..., 1 (computation order).
        var increments: [Double] = []
        for o in stride(from: 6, through: 1, by: -1) {
            let i = ops[o - 1]
            var ratio = 1.0
            if let fixed = withoutDerivative(at: fixedRatios) { ratio = fixed[o - 1] } else { ratio = v[i[1]] }
            increments.append(f0 * ratio * exp2(v[i[2]] / 1200) / sr)
        }
        let carrierScale = withoutDerivative(at: 1 / Double(alg.carriers.count))
        let (source, destination) = withoutDerivative(at: alg.feedback)
        var previous = 0.0   // the feedback source's output one sample earlier
        var y: [Double] = []
        for s in 0..<n {
            let t = Double(s) * dt
            var outs: [Double] = []   // operators 6, 5, ..., 1: operator o at 6 - o
            for o in stride(from: 6, through: 1, by: -1) {
                let i = ops[o - 1]
                var theta = Double(s + 1) * increments[6 - o]
                for j in withoutDerivative(at: alg.modulators[o]) { theta = theta + outs[6 - j] }
                if o == destination { theta = theta + feedback * previous }
                let level = envelope(at: t, attack: v[i[3]], decay: v[i[4]], sustain: v[i[5]], release: v[i[6]],
                                     noteOff: off, peak: v[i[0]])
                outs.append(level * sin(2 * Double.pi * theta))
            }
            // Read the finished array (operator 1 is always a carrier): an array appended to and
            // never read again gets an empty tangent, on which the pullback of `append` traps.
            var sum = 0.0
            for c in withoutDerivative(at: alg.carriers) { sum = sum + outs[6 - c] }
            let sourceOut = outs[6 - source]
            previous = sourceOut
            y.append(sum * carrierScale)
        }
        return y
    }
}

extension FMSynth: HasScalarLoop {
    public func scalarLoop(sampleCount: Int, noiseKey: UInt64) -> (any ScalarLoopSynth)? {
        envelope.shape == .linear ? AutodiffFM(self, sampleCount: sampleCount) : nil
    }
}
