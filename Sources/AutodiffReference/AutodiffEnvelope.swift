import _Differentiation
import DSP
import Synths

/// The ADSR module (`EnvelopeSynth`, "adsr", linear segments) as a scalar loop: the envelope
/// itself at every sample instant `t = n / sr`, note-off in seconds.
public struct AutodiffEnvelope: ScalarLoopSynth {
    public let sampleRate: Double
    public let sampleCount: Int
    let specs: [ParameterSpec]
    /// attack, decay, sustain, release, note_off, peak.
    let index: [Int]

    public init(_ synth: EnvelopeSynth, sampleCount: Int) {
        precondition(synth.envelope.shape == .linear, "autodiff envelope: linear segments only")
        sampleRate = synth.sampleRate
        self.sampleCount = sampleCount
        specs = synth.parameters
        index = indices(specs, ["attack", "decay", "sustain", "release", "note_off", "peak"])
    }

    @differentiable(reverse)
    public func render(_ u: [Double]) -> [Double] {
        let v = physicalValues(u, withoutDerivative(at: specs))
        let i = withoutDerivative(at: index)
        let n = withoutDerivative(at: sampleCount), sr = withoutDerivative(at: sampleRate)
        let off = v[i[4]], dt = 1 / sr
        var y: [Double] = []
        for s in 0..<n {
            y.append(envelope(at: Double(s) * dt, attack: v[i[0]], decay: v[i[1]], sustain: v[i[2]], release: v[i[3]],
                              noteOff: off, peak: v[i[5]]))
        }
        return y
    }
}

extension EnvelopeSynth: HasScalarLoop {
    public func scalarLoop(sampleCount: Int, noiseKey: UInt64) -> (any ScalarLoopSynth)? {
        envelope.shape == .linear ? AutodiffEnvelope(self, sampleCount: sampleCount) : nil
    }
}
