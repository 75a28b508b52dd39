import DSP
import RealModule

/// DDSP's harmonic synthesiser (magenta/ddsp `synths.Harmonic` + `core.harmonic_synthesis`).
///
/// Signal model, per batch item, with `F` control frames and `N` samples:
///
///     A[f]   = exp_sigmoid amplitude            (curve scale: 1e-7 + 2 u^ln10)
///     e_k[f] = exp_sigmoid harmonic weight, k = 1...H
///     d_k[f] = m_k[f] e_k[f] / sum_j m_j[f] e_j[f],   m_k[f] = [k f0[f] < sr/2]
///     a_k[n] = window-upsampled A d_k,   f[n] = linearly upsampled f0
///     phi[n] = sum_{m <= n} 2 pi f[m] / sr           (inclusive cumsum: y[0] = sum a sin(w0))
///     y[n]   = sum_k [k f[n] < sr/2] a_k[n] sin(k phi[n])
///
/// `sin(k phi)` comes from the rotation `e^{i k phi} = e^{i (k-1) phi} e^{i phi}`, one
/// complex multiply per harmonic instead of a `sin` call (error grows ~k ulp), over blocks
/// of samples in vectorised loops; the phase accumulates in float64 and is wrapped, so
/// long notes do not lose precision as DDSP's float32 cumsum does.
///
/// Adjoint (pullback of dL/dy = g):
///
///     dL/da_k[n] = g[n] sin(k phi[n])  -> transposed window upsampling -> frames
///     dL/dphi[n] = g[n] sum_k k a_k[n] cos(k phi[n]),
///     dL/df[m]   = 2 pi / sr * sum_{n >= m} dL/dphi[n]  -> transposed linear upsampling
///     then through the normalisation and the curve maps to the normalised controls.
///
/// The Nyquist masks are hard, as in DDSP: their derivative with respect to f0 is zero
/// almost everywhere and undefined where a harmonic crosses sr/2 (no smoothing).
public struct HarmonicOscillatorBank: Synth {
    public let name: String
    public let sampleRate: Double
    public let harmonicCount: Int
    public let amplitudeInterpolation: FrameInterpolation
    public let frequencyInterpolation: FrameInterpolation
    public let parameters: [ParameterSpec]

    /// DDSP's `exp_sigmoid`: `2 sigmoid(x)^ln10 + 1e-7`, i.e. a curve of `1/ln 10` on
    /// `u = sigmoid(x)`.
    public static func expSigmoidSpec(_ name: String, defaultNormalised: Double, meaning: String = "") -> ParameterSpec {
        ParameterSpec(name, range: 1e-7...(2 + 1e-7), scale: .curve(1 / Double.log(10)),
                      rate: .perFrame, defaultNormalised: defaultNormalised, meaning: meaning)
    }

    public static let f0Range: ClosedRange<Double> = 20...4000

    public init(sampleRate: Double = 16000, harmonicCount: Int = 64,
                amplitudeInterpolation: FrameInterpolation = .ddspWindow,
                frequencyInterpolation: FrameInterpolation = .ddspLinear,
                name: String = "harmonic-bank") {
        precondition(harmonicCount >= 1, "harmonic bank: harmonicCount must be >= 1")
        self.name = name
        self.sampleRate = sampleRate
        self.harmonicCount = harmonicCount
        self.amplitudeInterpolation = amplitudeInterpolation
        self.frequencyInterpolation = frequencyInterpolation
        var specs = [Self.expSigmoidSpec("amplitude", defaultNormalised: 0.272, meaning: "total harmonic loudness per frame")]
        for k in 1...harmonicCount {
            specs.append(Self.expSigmoidSpec("harmonic_\(k)", defaultNormalised: 0.5,
                                             meaning: "relative amplitude of harmonic \(k) (the distribution is normalised to sum 1)"))
        }
        specs.append(ParameterSpec("f0", unit: "Hz", range: Self.f0Range, scale: .logarithmic, rate: .perFrame, default: 220,
                                   meaning: "the fundamental per frame; harmonics above Nyquist are silenced"))
        self.parameters = specs
    }

    /// Index of the f0 parameter (after the amplitude and the harmonic weights).
    public var f0Index: Int { harmonicCount + 1 }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func render<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>) {
        let plan = Plan<T>(self, controls.layout.frameCount, request.sampleCount)
        prepare(&audio, controls, request)
        let n = request.sampleCount
        audio.samples.withUnsafeMutableBufferPointer { out in
            let out = SendablePointer(out.baseAddress!)
            Parallelism.forEach(controls.batchSize) { b in
                plan.synthesise(FrameControls<T>(plan, controls, item: b), output: out.pointer + b * n)
            }
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valueWithPullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest)
        -> (value: AudioBatch<T>, pullback: (AudioBatch<T>) -> Controls<T>) {
        var audio = AudioBatch<T>(zeros: controls.batchSize, sampleCount: request.sampleCount)
        render(controls, request, into: &audio)
        let synth = self
        return (audio, { dAudio in synth.pullback(controls, request, dAudio) })
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func pullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, _ dAudio: AudioBatch<T>) -> Controls<T> {
        precondition(dAudio.batchSize == controls.batchSize && dAudio.sampleCount == request.sampleCount,
                     "harmonic bank pullback: cotangent shape differs from the rendered audio")
        let plan = Plan<T>(self, controls.layout.frameCount, request.sampleCount)
        var grad = Controls<T>(zerosFor: controls.layout, batchSize: controls.batchSize)
        let n = request.sampleCount
        grad.values.withUnsafeMutableBufferPointer { g in
            dAudio.samples.withUnsafeBufferPointer { dy in
                let g = SendablePointer(g.baseAddress!), dy = SendablePointer(UnsafeMutablePointer(mutating: dy.baseAddress!))
                Parallelism.forEach(controls.batchSize) { b in
                    let frames = FrameControls<T>(plan, controls, item: b)
                    let dFrames = plan.backward(frames, dy.pointer + b * n)
                    frames.chainToNormalised(dFrames, into: g.pointer + b * controls.layout.stride)
                }
            }
        }
        return grad
    }

    private func prepare<T>(_ audio: inout AudioBatch<T>, _ controls: Controls<T>, _ request: RenderRequest) {
        precondition(controls.layout.parameters == parameters, "\(name): controls were laid out for another module")
        if audio.batchSize != controls.batchSize || audio.sampleCount != request.sampleCount {
            audio = AudioBatch(zeros: controls.batchSize, sampleCount: request.sampleCount)
        }
    }
}

extension HarmonicOscillatorBank {
    /// Shape-dependent constants of one render: upsampling weights and sizes.
    struct Plan<T: SynthScalar> {
        let synth: HarmonicOscillatorBank
        let frameCount: Int
        let sampleCount: Int
        let amplitudeUpsampler: FrameUpsampler<T>
        let frequencyUpsampler: FrameUpsampler<T>

        init(_ synth: HarmonicOscillatorBank, _ frameCount: Int, _ sampleCount: Int) {
            self.synth = synth
            self.frameCount = frameCount
            self.sampleCount = sampleCount
            amplitudeUpsampler = FrameUpsampler(frameCount: frameCount, sampleCount: sampleCount, interpolation: synth.amplitudeInterpolation)
            frequencyUpsampler = FrameUpsampler(frameCount: frameCount, sampleCount: sampleCount, interpolation: synth.frequencyInterpolation)
        }
    }

    /// One item's controls mapped to physical frame values (frame-major harmonic amplitudes).
    struct FrameControls<T: SynthScalar> {
        let plan: Plan<T>
        let controls: Controls<T>
        let item: Int
        /// `A[f] d_k[f]`, frame-major `F x H`.
        var harmonicAmplitudes: [T]
        var amplitude: [T], amplitudeSlope: [T]
        var weights: [T], weightSlopes: [T]   // e_k[f] frame-major, and de/du
        var weightSums: [T]                    // sum_j m_j e_j per frame
        var f0: [T], f0Slope: [T]

        init(_ plan: Plan<T>, _ controls: Controls<T>, item b: Int) {
            self.plan = plan
            self.controls = controls
            self.item = b
            let synth = plan.synth, nF = plan.frameCount, h = synth.harmonicCount
            let nyquist = T(synth.sampleRate / 2)
            amplitude = [T](repeating: 0, count: nF); amplitudeSlope = amplitude
            f0 = amplitude; f0Slope = amplitude; weightSums = amplitude
            weights = [T](repeating: 0, count: nF * h); weightSlopes = weights
            harmonicAmplitudes = weights
            let maps = synth.parameters.map(\.mapping)   // numbers only: no per-frame copies of the specs
            for f in 0..<nF {
                (amplitude[f], amplitudeSlope[f]) = maps[0].physicalWithDerivative(controls[item: b, parameter: 0, frame: f])
                (f0[f], f0Slope[f]) = maps[synth.f0Index].physicalWithDerivative(controls[item: b, parameter: synth.f0Index, frame: f])
                var sum: T = 0
                for k in 0..<h {
                    let (e, de) = maps[k + 1].physicalWithDerivative(controls[item: b, parameter: k + 1, frame: f])
                    weights[f * h + k] = e
                    weightSlopes[f * h + k] = de
                    if T(k + 1) * f0[f] < nyquist { sum += e }
                }
                weightSums[f] = sum
                for k in 0..<h where T(k + 1) * f0[f] < nyquist {
                    harmonicAmplitudes[f * h + k] = sum > 0 ? amplitude[f] * weights[f * h + k] / sum : 0
                }
            }
        }

        /// Maps dL/d(A d_k)[f] and dL/df0[f] back to the normalised controls.
        func chainToNormalised(_ d: (harmonicAmplitudes: [T], f0: [T]), into g: UnsafeMutablePointer<T>) {
            let synth = plan.synth, nF = plan.frameCount, h = synth.harmonicCount
            let layout = controls.layout
            let nyquist = T(synth.sampleRate / 2)
            for f in 0..<nF {
                // a_k = A d_k,  d_k = m_k e_k / S
                var dA: T = 0, dotDD: T = 0
                let s = weightSums[f]
                guard s > 0 else { continue }
                for k in 0..<h where T(k + 1) * f0[f] < nyquist {
                    let dk = weights[f * h + k] / s
                    let da = d.harmonicAmplitudes[f * h + k]
                    dA += da * dk
                    dotDD += da * amplitude[f] * dk
                }
                g[layout.offsets[0] + f] += dA * amplitudeSlope[f]
                for k in 0..<h where T(k + 1) * f0[f] < nyquist {
                    let ddk = d.harmonicAmplitudes[f * h + k] * amplitude[f]
                    let de = (ddk - dotDD) / s
                    g[layout.offsets[k + 1] + f] += de * weightSlopes[f * h + k]
                }
                g[layout.offsets[synth.f0Index] + f] += d.f0[f] * f0Slope[f]
            }
        }
    }
}

extension HarmonicOscillatorBank.Plan {
    var kernel: AdditiveKernel<T> {
        AdditiveKernel(harmonicCount: synth.harmonicCount, sampleRate: synth.sampleRate, upsampler: amplitudeUpsampler)
    }

    /// Forward synthesis of one item into `output` (N samples).
    func synthesise(_ frames: HarmonicOscillatorBank.FrameControls<T>, output: UnsafeMutablePointer<T>) {
        let frequency = frequencyUpsampler.upsample(frames.f0)
        let phase = AdditiveKernel<T>.phases(frequency, sampleRate: synth.sampleRate)
        frames.harmonicAmplitudes.withUnsafeBufferPointer { amps in
            kernel.synthesise(amplitudes: amps.baseAddress!, frequency: frequency, phase: phase, output: output, accumulate: false)
        }
    }

    /// Backward pass of one item: dL/d(A d_k) per frame (frame-major) and dL/df0 per frame.
    func backward(_ frames: HarmonicOscillatorBank.FrameControls<T>, _ dy: UnsafeMutablePointer<T>) -> (harmonicAmplitudes: [T], f0: [T]) {
        let frequency = frequencyUpsampler.upsample(frames.f0)
        let phase = AdditiveKernel<T>.phases(frequency, sampleRate: synth.sampleRate)
        var dAmps = [T](repeating: 0, count: frameCount * synth.harmonicCount)
        var dPhase = [T](repeating: 0, count: sampleCount)
        frames.harmonicAmplitudes.withUnsafeBufferPointer { amps in
            dAmps.withUnsafeMutableBufferPointer { da in
                dPhase.withUnsafeMutableBufferPointer { dp in
                    kernel.backward(amplitudes: amps.baseAddress!, frequency: frequency, phase: phase, dy: dy,
                                    dAmplitudes: da.baseAddress!, dPhase: dp.baseAddress!)
                }
            }
        }
        let dFrequency = AdditiveKernel<T>.frequencyGradient(dPhase, sampleRate: synth.sampleRate)
        return (dAmps, frequencyUpsampler.adjoint(dFrequency))
    }
}
