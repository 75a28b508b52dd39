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
    public static func expSigmoidSpec(_ name: String, defaultNormalised: Double) -> ParameterSpec {
        ParameterSpec(name, range: 1e-7...(2 + 1e-7), scale: .curve(1 / Double.log(10)),
                      rate: .perFrame, defaultNormalised: defaultNormalised)
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
        var specs = [Self.expSigmoidSpec("amplitude", defaultNormalised: 0.272)]
        for k in 1...harmonicCount { specs.append(Self.expSigmoidSpec("harmonic_\(k)", defaultNormalised: 0.5)) }
        specs.append(ParameterSpec("f0", unit: "Hz", range: Self.f0Range, scale: .logarithmic,
                                   rate: .perFrame, defaultNormalised: ParameterSpec("f0", range: Self.f0Range, scale: .logarithmic).normalised(220)))
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

/// A raw pointer that may cross into worker threads; each worker touches its own rows.
struct SendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
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
            let specs = synth.parameters
            for f in 0..<nF {
                (amplitude[f], amplitudeSlope[f]) = specs[0].physicalWithDerivative(controls[item: b, parameter: 0, frame: f])
                (f0[f], f0Slope[f]) = specs[synth.f0Index].physicalWithDerivative(controls[item: b, parameter: synth.f0Index, frame: f])
                var sum: T = 0
                for k in 0..<h {
                    let (e, de) = specs[k + 1].physicalWithDerivative(controls[item: b, parameter: k + 1, frame: f])
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

/// Samples per block of the kernels: the per-harmonic work runs as element-wise loops over a
/// block (independent samples, so LLVM vectorises them once specialised), and the rotation
/// recurrence runs across harmonics in the outer loop.
let harmonicBlockLength = 128

extension HarmonicOscillatorBank.Plan {
    /// Sample-rate frequency and wrapped phase `phi[n]` (inclusive cumsum, float64 accumulator).
    func phases(_ frames: HarmonicOscillatorBank.FrameControls<T>) -> (frequency: [T], phase: [T]) {
        let n = sampleCount
        let frequency = frequencyUpsampler.upsample(frames.f0)
        var phase = [T](repeating: 0, count: n)
        let scale = 2 * Double.pi / synth.sampleRate
        var acc = 0.0
        for i in 0..<n {
            acc += scale * Double(frequency[i])
            if acc >= Double.pi || acc < -Double.pi { acc -= 2 * Double.pi * (acc / (2 * Double.pi)).rounded() }
            phase[i] = T(acc)
        }
        return (frequency, phase)
    }

    /// Per-block scratch: the fundamental's sin/cos, the running sin/cos of harmonic k,
    /// each sample's harmonic limit, and accumulators.
    struct Block {
        let capacity: Int
        let s1, c1, s, c, limit, sk, a, b: UnsafeMutablePointer<T>
        init(capacity: Int) {
            self.capacity = capacity
            let all = UnsafeMutablePointer<T>.allocate(capacity: 8 * capacity)
            all.initialize(repeating: 0, count: 8 * capacity)
            (s1, c1, s, c) = (all, all + capacity, all + 2 * capacity, all + 3 * capacity)
            (limit, sk, a, b) = (all + 4 * capacity, all + 5 * capacity, all + 6 * capacity, all + 7 * capacity)
        }
        func deallocate() { s1.deallocate() }

        /// Loads sin/cos of the phase and the harmonic limits of `count` samples from `start`.
        /// Returns the largest and smallest limit.
        func load(start: Int, count: Int, phase: [T], frequency: [T], nyquist: T, harmonics h: Int) -> (top: Int, bottom: T) {
            var top: T = 0, bottom = T(h)
            for l in 0..<count {
                let i = start + l
                s1[l] = T.sin(phase[i]); c1[l] = T.cos(phase[i])
                s[l] = s1[l]; c[l] = c1[l]
                limit[l] = HarmonicOscillatorBank.harmonicLimit(frequency[i], nyquist, h)
                top = Swift.max(top, limit[l]); bottom = Swift.min(bottom, limit[l])
            }
            return (Int(top), bottom)
        }

        /// Advances (s, c) from harmonic k to k + 1: one complex multiply by e^{i phi}.
        @inline(__always)
        func rotate(_ count: Int) {
            for l in 0..<count {
                let sn = s[l] * c1[l] + c[l] * s1[l]
                c[l] = c[l] * c1[l] - s[l] * s1[l]
                s[l] = sn
            }
        }
    }

    /// Forward synthesis of one item into `output` (N samples).
    func synthesise(_ frames: HarmonicOscillatorBank.FrameControls<T>, output: UnsafeMutablePointer<T>) {
        let (frequency, phase) = phases(frames)
        let h = synth.harmonicCount, nyquist = T(synth.sampleRate / 2)
        let block = Block(capacity: harmonicBlockLength)
        defer { block.deallocate() }
        let w0 = amplitudeUpsampler.leftWeight, w1 = amplitudeUpsampler.rightWeight
        frames.harmonicAmplitudes.withUnsafeBufferPointer { amps in
            forEachBlock { start, count, left, right in
                let (top, bottom) = block.load(start: start, count: count, phase: phase, frequency: frequency, nyquist: nyquist, harmonics: h)
                let sum0 = block.a, sum1 = block.b
                for l in 0..<count { sum0[l] = 0; sum1[l] = 0 }
                let a0 = amps.baseAddress! + left * h, a1 = amps.baseAddress! + right * h
                for k in 0..<top {
                    if k > 0 { block.rotate(count) }
                    let x0 = a0[k], x1 = a1[k], kk = T(k + 1)
                    if kk <= bottom {
                        for l in 0..<count { sum0[l] += x0 * block.s[l]; sum1[l] += x1 * block.s[l] }
                    } else {
                        for l in 0..<count {
                            let v = kk <= block.limit[l] ? block.s[l] : 0
                            sum0[l] += x0 * v; sum1[l] += x1 * v
                        }
                    }
                }
                for l in 0..<count { output[start + l] = w0[start + l] * sum0[l] + w1[start + l] * sum1[l] }
            }
        }
    }

    /// Backward pass of one item: dL/d(A d_k) per frame (frame-major) and dL/df0 per frame.
    func backward(_ frames: HarmonicOscillatorBank.FrameControls<T>, _ dy: UnsafeMutablePointer<T>) -> (harmonicAmplitudes: [T], f0: [T]) {
        let (frequency, phase) = phases(frames)
        let h = synth.harmonicCount, nyquist = T(synth.sampleRate / 2), cap = harmonicBlockLength
        var dAmps = [T](repeating: 0, count: frameCount * h)
        var dPhase = [T](repeating: 0, count: sampleCount)
        let block = Block(capacity: cap)
        // Per-harmonic, per-sample products, reduced over samples once per block (element-wise
        // loops vectorise; a running scalar sum would not, floating-point sums being ordered).
        let acc0 = UnsafeMutablePointer<T>.allocate(capacity: h * cap), acc1 = UnsafeMutablePointer<T>.allocate(capacity: h * cap)
        let g0 = UnsafeMutablePointer<T>.allocate(capacity: cap), g1 = UnsafeMutablePointer<T>.allocate(capacity: cap)
        defer { block.deallocate(); acc0.deallocate(); acc1.deallocate(); g0.deallocate(); g1.deallocate() }
        let w0 = amplitudeUpsampler.leftWeight, w1 = amplitudeUpsampler.rightWeight
        frames.harmonicAmplitudes.withUnsafeBufferPointer { amps in
            forEachBlock { start, count, left, right in
                let (top, bottom) = block.load(start: start, count: count, phase: phase, frequency: frequency, nyquist: nyquist, harmonics: h)
                for l in 0..<count { g0[l] = dy[start + l] * w0[start + l]; g1[l] = dy[start + l] * w1[start + l] }
                let phi0 = block.a, phi1 = block.b
                for l in 0..<count { phi0[l] = 0; phi1[l] = 0 }
                let a0 = amps.baseAddress! + left * h, a1 = amps.baseAddress! + right * h
                for k in 0..<top {
                    if k > 0 { block.rotate(count) }
                    let kk = T(k + 1), x0 = kk * a0[k], x1 = kk * a1[k]
                    let p0 = acc0 + k * cap, p1 = acc1 + k * cap
                    if kk <= bottom {
                        for l in 0..<count {
                            p0[l] = g0[l] * block.s[l]; p1[l] = g1[l] * block.s[l]
                            phi0[l] += x0 * block.c[l]; phi1[l] += x1 * block.c[l]
                        }
                    } else {
                        for l in 0..<count {
                            let on = kk <= block.limit[l]
                            let sv = on ? block.s[l] : 0, cv = on ? block.c[l] : 0
                            p0[l] = g0[l] * sv; p1[l] = g1[l] * sv
                            phi0[l] += x0 * cv; phi1[l] += x1 * cv
                        }
                    }
                }
                for k in 0..<top {
                    var s0: T = 0, s1: T = 0
                    let p0 = acc0 + k * cap, p1 = acc1 + k * cap
                    for l in 0..<count { s0 += p0[l]; s1 += p1[l] }
                    dAmps[left * h + k] += s0
                    dAmps[right * h + k] += s1
                }
                for l in 0..<count { dPhase[start + l] = g0[l] * phi0[l] + g1[l] * phi1[l] }
            }
        }
        // dL/df[m] = 2 pi / sr * sum_{n >= m} dL/dphi[n]  (reverse cumsum, float64)
        var dFrequency = [T](repeating: 0, count: sampleCount)
        var running = 0.0
        let scale = 2 * Double.pi / synth.sampleRate
        for i in stride(from: sampleCount - 1, through: 0, by: -1) {
            running += Double(dPhase[i])
            dFrequency[i] = T(running * scale)
        }
        // The per-block sums above are already the transposed window upsampling: each
        // sample's gradient was split between its left and right frame by its weights.
        return (dAmps, frequencyUpsampler.adjoint(dFrequency))
    }

    /// Calls `body(start, count, leftFrame, rightFrame)` for blocks of up to
    /// `harmonicBlockLength` consecutive samples that share their amplitude frames.
    func forEachBlock(_ body: (Int, Int, Int, Int) -> Void) {
        let lf = amplitudeUpsampler.leftFrame, last = frameCount - 1
        var i = 0
        while i < sampleCount {
            let left = Int(lf[i])
            var count = 1
            while count < harmonicBlockLength, i + count < sampleCount, Int(lf[i + count]) == left { count += 1 }
            body(i, count, left, Swift.min(left + 1, last))
            i += count
        }
    }
}

extension HarmonicOscillatorBank {
    /// Number of harmonics `k` with `k f < nyquist` (at most `h`), as a lane value.
    @inlinable
    static func harmonicLimit<T: SynthScalar>(_ f: T, _ nyquist: T, _ h: Int) -> T {
        guard f > 0 else { return T(h) }
        let q = nyquist / f
        var k = Swift.min(T(h), q.rounded(.down))
        if k == q { k -= 1 }   // k f == nyquist is masked (DDSP: f >= sr/2)
        return Swift.max(k, 0)
    }
}
