import _Differentiation
import DSP
import Foundation
import Synths

/// The subtractive voice (`SubtractiveSynth`, linear envelopes, either filter realisation) as
/// a scalar loop, in the module's own steps:
///
///     cutoff per control frame:  fc[f] = min(cutoff 2^(cutoff_env envF(t_f)), 0.45 sr),  K[f] = tan(pi fc[f] / sr)
///     two oscillators (f0 2^(-+detune / 2400)): sum over audible harmonics j of
///         a_j[n] sin(j (n + 1) 2 pi f / sr),  a_j = 1/2 ((1 - mix) saw_j + mix square_j) |H(j f; K, Q)|
///         (|H| = 1 in the time-domain realisation), frames to samples by the module's upsampler;
///     the biquad recursion with per-sample (b0, a1, a2) upsampled from the frames' coefficients,
///     on the noise (frequency sampled) or on oscillators + noise (time domain);
///     y = amplitude envA(n / sr) (oscillators + noise level filtered noise), or amplitude envA filtered.
///
/// The noise (keyed like the module's) and the upsampling weights are constants.
public struct AutodiffSubtractive: ScalarLoopSynth {
    public let sampleRate: Double
    public let sampleCount: Int
    let specs: [ParameterSpec]
    let harmonicCount: Int
    let timeDomain: Bool
    /// f0 amplitude osc_mix detune noise cutoff q cutoff_env, amp ADSR (4), filter ADSR (4), note_off.
    let index: [Int]
    let frameTimes: [Double]
    let leftFrame: [Int], leftWeight: [Double], rightWeight: [Double]
    let noise: [Double]

    public init(_ synth: SubtractiveSynth, sampleCount n: Int, noiseKey: UInt64 = 0) {
        precondition(synth.envelope.shape == .linear, "autodiff subtractive: linear envelopes only")
        sampleRate = synth.sampleRate
        sampleCount = n
        specs = synth.parameters
        harmonicCount = synth.harmonicCount
        timeDomain = synth.filter == .timeDomain
        let segments = ["attack", "decay", "sustain", "release"]
        index = indices(specs, ["f0", "amplitude", "osc_mix", "detune", "noise", "cutoff", "q", "cutoff_env"]
                                + segments.map { "amp_" + $0 } + segments.map { "filter_" + $0 } + ["note_off"])
        // The module's control grid (SubtractiveSynth.Grid).
        let frameCount = max(2, (n - 1 + synth.controlHop - 1) / synth.controlHop + 1)
        let step = Double(max(n - 1, 1)) / Double(frameCount - 1) / synth.sampleRate
        frameTimes = (0..<frameCount).map { Double($0) * step }
        let up = FrameUpsampler<Double>(frameCount: frameCount, sampleCount: n, interpolation: .alignCorners)
        leftFrame = up.leftFrame.map { Int($0) }
        (leftWeight, rightWeight) = (up.leftWeight, up.rightWeight)
        noise = CounterRandom.whiteNoise(key: noiseKey, count: n)
    }

    @differentiable(reverse)
    public func render(_ u: [Double]) -> [Double] {
        let v = physicalValues(u, withoutDerivative(at: specs))
        let i = withoutDerivative(at: index), h = withoutDerivative(at: harmonicCount)
        let n = withoutDerivative(at: sampleCount), sr = withoutDerivative(at: sampleRate)
        let times = withoutDerivative(at: frameTimes), frames = times.count
        let left = withoutDerivative(at: leftFrame), w0 = withoutDerivative(at: leftWeight), w1 = withoutDerivative(at: rightWeight)
        let white = withoutDerivative(at: noise), time = withoutDerivative(at: timeDomain)
        let off = v[i[16]]
        let q = v[i[6]]

        // Per frame: warped cutoff K and the biquad's coefficients.
        var k: [Double] = [], b0: [Double] = [], a1: [Double] = [], a2: [Double] = []
        for f in 0..<frames {
            let e = envelope(at: times[f], attack: v[i[12]], decay: v[i[13]], sustain: v[i[14]], release: v[i[15]], noteOff: off, peak: 1)
            let fc = smaller(v[i[5]] * exp2(v[i[7]] * e), withoutDerivative(at: 0.45 * sr))
            let kf = tan(Double.pi * fc / sr)
            let d = 1 + kf / q + kf * kf
            if !time { k.append(kf) }   // read only there (an array appended to and never read traps: see AutodiffModal)
            b0.append(kf * kf / d)
            a1.append(2 * (kf * kf - 1) / d)
            a2.append((1 - kf / q + kf * kf) / d)
        }

        // Oscillator amplitudes, frame-major per oscillator (harmonics 1 ... audible).
        let f0 = v[i[0]]
        let frequencies = [f0 * exp2(-v[i[3]] / 2400), f0 * exp2(v[i[3]] / 2400)]
        var amplitudes: [[Double]] = []
        var audible: [Int] = []
        for o in 0..<2 {
            let f = frequencies[o]
            let count = withoutDerivative(at: (1...h).filter { Double($0) * f < sr / 2 }.count)
            audible.append(count)
            var a: [Double] = []
            for fr in 0..<frames {
                for j in 1...max(count, 1) {
                    let saw = withoutDerivative(at: 2 / (Double.pi * Double(j)))
                    let square = withoutDerivative(at: j % 2 == 1 ? 4 / (Double.pi * Double(j)) : 0)
                    let weight = 0.5 * ((1 - v[i[2]]) * saw + v[i[2]] * square)
                    if time {
                        a.append(weight)
                    } else {
                        let r = tan(Double.pi * Double(j) * f / sr) / k[fr]
                        let p = (1 - r * r) * (1 - r * r) + r * r / (q * q)
                        a.append(weight / sqrt(p))
                    }
                }
            }
            amplitudes.append(a)
        }

        // Per sample: oscillators, the recursion, the amplitude envelope.
        let level = v[i[4]], amplitude = v[i[1]]
        var x1 = 0.0, x2 = 0.0, y1 = 0.0, y2 = 0.0
        var y: [Double] = []
        for s in 0..<n {
            let l = left[s], r = min(left[s] + 1, frames - 1)
            var osc = 0.0
            for o in 0..<2 {
                let count = audible[o], stride = max(count, 1)
                let phase = Double(s + 1) * 2 * Double.pi * frequencies[o] / sr
                for j in 0..<count {
                    let a = w0[s] * amplitudes[o][l * stride + j] + w1[s] * amplitudes[o][r * stride + j]
                    osc = osc + a * sin(Double(j + 1) * phase)
                }
            }
            var x = white[s]
            if time { x = osc + level * white[s] }
            let c0 = w0[s] * b0[l] + w1[s] * b0[r], c1 = w0[s] * a1[l] + w1[s] * a1[r], c2 = w0[s] * a2[l] + w1[s] * a2[r]
            let filtered = c0 * (x + 2 * x1 + x2) - c1 * y1 - c2 * y2
            x2 = x1
            x1 = x
            y2 = y1
            y1 = filtered
            let env = envelope(at: Double(s) * (1 / sr), attack: v[i[8]], decay: v[i[9]], sustain: v[i[10]], release: v[i[11]],
                               noteOff: off, peak: 1)
            var dry = osc + level * filtered
            if time { dry = filtered }
            y.append(amplitude * env * dry)
        }
        return y
    }
}

extension SubtractiveSynth: HasScalarLoop {
    public func scalarLoop(sampleCount: Int, noiseKey: UInt64) -> (any ScalarLoopSynth)? {
        envelope.shape == .linear ? AutodiffSubtractive(self, sampleCount: sampleCount, noiseKey: noiseKey) : nil
    }
}
