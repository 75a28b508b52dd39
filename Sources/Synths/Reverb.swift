import DSP
import RealModule

/// DDSP's exponentially decaying noise reverb (magenta/ddsp `effects.ExpDecayReverb`),
/// applied to any synth: `Reverberated(synth)` is itself a synth, so the reverb's two
/// parameters are learned through the same protocol as the dry sound's.
///
/// Signal model, reverb length `L` samples, `t_k = k / (L - 1)` (DDSP's `linspace(0, 1, L)`):
///
///     ir[k] = g exp(-d t_k) n[k],  ir[0] = 0   g = exp_sigmoid gain, d = decay exponent
///                                              (DDSP: 2 + exp(raw)), n ~ U(-1, 1) keyed
///     y[n]  = x[n] + sum_{m <= n} x[m] ir[n - m]   (`add_dry=True`, 'same' crop, no delay)
///
/// The convolution is done with one FFT of size `2^ceil(log2(N + L - 1))` per item (plans
/// cached). Adjoint, with `g = dL/dy`: `dx = g + corr(g, ir)`, `dir[k] = sum_n g[n] x[n - k]`
/// (both as FFT products with a conjugate), then `dL/dg = sum_k dir[k] ir[k] / g` and
/// `dL/dd = -sum_k dir[k] ir[k] t_k`.
public struct Reverberated: Synth {
    public let dry: any Synth
    public let reverbLength: Int
    public let name: String
    public let parameters: [ParameterSpec]
    public var sampleRate: Double { dry.sampleRate }

    /// `reverbLength` defaults to DDSP's 48000 samples (3 s at 16 kHz).
    public init(_ dry: any Synth, reverbLength: Int = 48000, name: String? = nil) {
        precondition(reverbLength >= 2, "reverb: length must be at least 2 samples")
        self.dry = dry
        self.reverbLength = reverbLength
        self.name = name ?? "\(dry.name)-reverb"
        // DDSP initialises the raw gain at 2 and the raw decay at 4 (exponent 2 + e^4).
        let gain = ParameterSpec("reverb_gain", range: 1e-7...(2 + 1e-7), scale: .curve(1 / Double.log(10)),
                                 defaultNormalised: 1 / (1 + Double.exp(-2.0)), meaning: "level of the noise impulse response (wet gain)")
        let decay = ParameterSpec("reverb_decay", unit: "1/length", range: 2.1...400, scale: .logarithmic, default: 2 + Double.exp(4.0),
                                  meaning: "exponential decay rate of the impulse response over its length")
        parameters = dry.parameters + [gain, decay]
    }

    var gainIndex: Int { dry.parameters.count }
    var decayIndex: Int { dry.parameters.count + 1 }

    /// The dry synth's slice of the controls.
    func dryControls<T>(_ controls: Controls<T>) -> Controls<T> {
        let layout = ControlLayout(parameters: dry.parameters, frameCount: controls.layout.frameCount)
        var values = [T](); values.reserveCapacity(layout.stride * controls.batchSize)
        for b in 0..<controls.batchSize {
            let base = b * controls.layout.stride
            values.append(contentsOf: controls.values[base..<(base + layout.stride)])
        }
        return Controls(layout: layout, batchSize: controls.batchSize, values: values)
    }

    /// The impulse response of item `b`, and dir/dgain, dir/ddecay factors.
    func impulseResponse<T: SynthScalar>(_ controls: Controls<T>, item b: Int, key: UInt64)
        -> (ir: [T], gain: (value: T, derivative: T), decay: (value: T, derivative: T)) {
        let gain = parameters[gainIndex].physicalWithDerivative(controls[item: b, parameter: gainIndex, frame: 0])
        let decay = parameters[decayIndex].physicalWithDerivative(controls[item: b, parameter: decayIndex, frame: 0])
        let rng = CounterRandom(key: CounterRandom.mix(key ^ 0x5245_5645_5242))   // a stream apart from other noise
        var ir = [T](repeating: 0, count: reverbLength)
        let step = 1 / T(reverbLength - 1)
        for k in 1..<reverbLength {
            let noise: T = rng.signedUniform(at: UInt64(k))
            ir[k] = gain.value * T.exp(-decay.value * T(k) * step) * noise
        }
        return (ir, gain, decay)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func render<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>) {
        precondition(controls.layout.parameters == parameters, "\(name): controls were laid out for another module")
        dry.render(dryControls(controls), request, into: &audio)
        let n = request.sampleCount
        let convolution = Convolution<T>(signalLength: n, kernelLength: reverbLength)
        audio.samples.withUnsafeMutableBufferPointer { out in
            let out = SendablePointer(out.baseAddress!)
            Parallelism.forEach(controls.batchSize) { b in
                let x = out.pointer + b * n
                let ir = impulseResponse(controls, item: b, key: request.noiseKey(item: b)).ir
                let wet = convolution.convolve(UnsafePointer(x), ir)
                for i in 0..<n { x[i] += wet[i] }
            }
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valueWithPullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest)
        -> (value: AudioBatch<T>, pullback: (AudioBatch<T>) -> Controls<T>) {
        precondition(controls.layout.parameters == parameters, "\(name): controls were laid out for another module")
        let (dryAudio, dryPullback) = dry.valueWithPullback(dryControls(controls), request)
        var audio = dryAudio
        render(controls, request, into: &audio)
        let synth = self
        return (audio, { dy in synth.pullback(controls, request, dryAudio, dryPullback, dy) })
    }

    func pullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, _ dryAudio: AudioBatch<T>,
                                  _ dryPullback: (AudioBatch<T>) -> Controls<T>, _ dy: AudioBatch<T>) -> Controls<T> {
        let n = request.sampleCount, batch = controls.batchSize
        let convolution = Convolution<T>(signalLength: n, kernelLength: reverbLength)
        var dDry = dy
        var dReverb = [T](repeating: 0, count: 2 * batch)
        dDry.samples.withUnsafeMutableBufferPointer { dx in
            dReverb.withUnsafeMutableBufferPointer { dr in
                let dx = SendablePointer(dx.baseAddress!), dr = SendablePointer(dr.baseAddress!)
                Parallelism.forEach(batch) { b in
                    let (ir, gain, decay) = impulseResponse(controls, item: b, key: request.noiseKey(item: b))
                    let g = Array(dy.samples[(b * n)..<((b + 1) * n)]), x = Array(dryAudio.samples[(b * n)..<((b + 1) * n)])
                    let (dInput, dKernel) = convolution.adjoint(g, signal: x, kernel: ir)
                    for i in 0..<n { dx.pointer[b * n + i] += dInput[i] }
                    var dGain: T = 0, dDecay: T = 0
                    let step = 1 / T(reverbLength - 1)
                    for k in 1..<reverbLength {
                        dGain += dKernel[k] * ir[k]
                        dDecay -= dKernel[k] * ir[k] * T(k) * step
                    }
                    dr.pointer[2 * b] = (gain.value > 0 ? dGain / gain.value : 0) * gain.derivative
                    dr.pointer[2 * b + 1] = dDecay * decay.derivative
                }
            }
        }
        let dryGradient = dryPullback(dDry)
        var grad = Controls<T>(zerosFor: controls.layout, batchSize: batch)
        for b in 0..<batch {
            let base = b * controls.layout.stride, dryStride = dryGradient.layout.stride
            for j in 0..<dryStride { grad.values[base + j] = dryGradient.values[b * dryStride + j] }
            grad.values[grad.index(item: b, parameter: gainIndex)] = dReverb[2 * b]
            grad.values[grad.index(item: b, parameter: decayIndex)] = dReverb[2 * b + 1]
        }
        return grad
    }
}

/// Causal linear convolution cropped to the signal length, `y[n] = sum_m x[m] h[n - m]`,
/// by one zero-padded real FFT, with its adjoint in both arguments.
struct Convolution<T: SynthScalar> {
    let signalLength: Int
    let kernelLength: Int
    let fft: RealFFT<T>

    init(signalLength: Int, kernelLength: Int) {
        self.signalLength = signalLength
        self.kernelLength = kernelLength
        var size = 2
        while size < signalLength + kernelLength - 1 { size *= 2 }
        fft = RealFFT(size: size)
    }

    private func spectrum(_ x: UnsafePointer<T>, count: Int) -> [T] {
        var padded = [T](repeating: 0, count: fft.size)
        for i in 0..<count { padded[i] = x[i] }
        var out = [T](repeating: 0, count: 2 * fft.binCount)
        padded.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { fft.forward(p.baseAddress!, $0.baseAddress!) } }
        return out
    }

    /// Inverse of a product spectrum, scaled by 1/size, first `signalLength` samples.
    private func inverse(_ product: inout [T], count: Int) -> [T] {
        var out = [T](repeating: 0, count: fft.size)
        product.withUnsafeMutableBufferPointer { p in out.withUnsafeMutableBufferPointer { fft.inverse(p.baseAddress!, $0.baseAddress!) } }
        let scale = 1 / T(fft.size)
        return (0..<count).map { out[$0] * scale }
    }

    /// Multiplies spectra bin by bin, conjugating the first if `conjugate`.
    private func multiply(_ a: [T], _ b: [T], conjugate: Bool) -> [T] {
        var out = [T](repeating: 0, count: a.count)
        let s: T = conjugate ? -1 : 1
        for k in 0..<(a.count / 2) {
            let (ar, ai) = (a[2 * k], s * a[2 * k + 1]), (br, bi) = (b[2 * k], b[2 * k + 1])
            out[2 * k] = ar * br - ai * bi
            out[2 * k + 1] = ar * bi + ai * br
        }
        return out
    }

    func convolve(_ x: UnsafePointer<T>, _ kernel: [T]) -> [T] {
        let hx = spectrum(x, count: signalLength)
        let hk = kernel.withUnsafeBufferPointer { spectrum($0.baseAddress!, count: kernelLength) }
        var product = multiply(hx, hk, conjugate: false)
        return inverse(&product, count: signalLength)
    }

    /// `dx[m] = sum_n g[n] h[n - m]` and `dh[k] = sum_n g[n] x[n - k]`: correlations, as
    /// products with conjugate spectra (the zero padding keeps them from wrapping).
    func adjoint(_ g: [T], signal x: [T], kernel: [T]) -> (dx: [T], dKernel: [T]) {
        let hg = g.withUnsafeBufferPointer { spectrum($0.baseAddress!, count: signalLength) }
        let hx = x.withUnsafeBufferPointer { spectrum($0.baseAddress!, count: signalLength) }
        let hk = kernel.withUnsafeBufferPointer { spectrum($0.baseAddress!, count: kernelLength) }
        var dxSpectrum = multiply(hk, hg, conjugate: true)
        var dkSpectrum = multiply(hx, hg, conjugate: true)
        return (inverse(&dxSpectrum, count: signalLength), inverse(&dkSpectrum, count: kernelLength))
    }
}
