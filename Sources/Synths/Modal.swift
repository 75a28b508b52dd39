import DSP
import RealModule

/// A modal synth after Diaz et al. (2022): a bank of M two-pole resonators, mode m at
/// frequency `f0 ratio_m`, decaying by 60 dB in `t60_m` seconds, with gain `gain_m`, all
/// excited by one signal (an impulse or a short noise burst) and summed.
///
///     theta = 2 pi f0 ratio / sr,  r = 10^(-3 / (t60 sr))              (0 < r < 1: stable by construction)
///     y_m[n] = g sin(theta) x[n] + 2 r cos(theta) y_m[n-1] - r^2 y_m[n-2]
///
/// so an impulse rings as `g r^n sin((n + 1) theta)`. Modes at or above Nyquist are silent.
/// Unlike Diaz et al.'s free poles squashed by `tanh`, the pole radius here comes from the
/// decay time through a map into (0, 1), so every parameter value is a stable filter and the
/// parameters mean something to a sound designer.
///
/// Two realisations (`Realisation`) of the same filters:
/// - `recursive`: the recursion, vectorised across modes (modes are independent), and its
///   exact adjoint, the same recursion run backwards in time on dL/dy:
///   `e[n] = g[n] - a1 e[n+1] - a2 e[n+2]`, `dL/da1 = -sum e[n] y[n-1]`, `dL/da2 = -sum e[n] y[n-2]`,
///   `dL/db0 = sum e[n] x[n]`.
/// - `frequencySampled(fftSize:)`: `y = irfft(X H)`, `H(w) = sum_m b0 / (1 + a1 e^{-iw} + a2 e^{-2iw})`
///   sampled on the FFT grid; the cost does not depend on the decay, but tails longer than
///   `fftSize - N` samples wrap around (error ~ r^(fftSize - N)), so long decays need a larger FFT.
///   Its adjoint goes through the FFT: `dL/dp = Re sum_k conj(G_k) X_k dH_k/dp` with G the
///   scaled spectrum of dL/dy.
public struct ModalSynth: Synth {
    public enum Excitation: Sendable, Hashable {
        case impulse
        /// White noise (keyed by the request's noise key) under a `(1 - t/T)^2` window of T seconds.
        case noiseBurst(seconds: Double)
    }

    public enum Realisation: Sendable, Hashable {
        case recursive
        /// FFT size; `nil` picks the smallest power of two >= 2N.
        case frequencySampled(fftSize: Int?)
    }

    public let name: String
    public let sampleRate: Double
    public let modeCount: Int
    public let excitation: Excitation
    public let realisation: Realisation
    public let parameters: [ParameterSpec]

    public static let f0Range: ClosedRange<Double> = 20...4000
    public static let ratioRange: ClosedRange<Double> = 0.25...32
    public static let t60Range: ClosedRange<Double> = 0.01...10

    public init(sampleRate: Double = 16000, modeCount: Int = 32, excitation: Excitation = .impulse,
                realisation: Realisation = .recursive, name: String = "modal") {
        precondition(modeCount >= 1, "modal: modeCount must be >= 1")
        if case .noiseBurst(let s) = excitation { precondition(s > 0, "modal: the noise burst needs a positive length") }
        self.name = name
        self.sampleRate = sampleRate
        self.modeCount = modeCount
        self.excitation = excitation
        self.realisation = realisation
        var specs = [ParameterSpec("f0", unit: "Hz", range: Self.f0Range, scale: .logarithmic, default: 220,
                                   meaning: "the frequency mode ratios multiply")]
        for m in 1...modeCount {
            specs.append(ParameterSpec("mode\(m)_ratio", range: Self.ratioRange, scale: .logarithmic, default: Double(m),
                                       meaning: "mode \(m)'s frequency as a multiple of f0"))
            specs.append(ParameterSpec("mode\(m)_t60", unit: "s", range: Self.t60Range, scale: .logarithmic, default: 1.5 / Double(m).squareRoot(),
                                       meaning: "time for mode \(m) to decay by 60 dB"))
            specs.append(ParameterSpec("mode\(m)_gain", range: 0...1, default: 0.5 / Double(m), meaning: "mode \(m)'s initial amplitude"))
        }
        parameters = specs
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func render<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>) {
        let n = request.sampleCount
        renderEachItem(controls, request, into: &audio) { b, out in
            let bank = Bank<T>(self, controls, item: b)
            let x = excitationSignal(n, key: request.noiseKey(item: b)) as [T]
            switch realisation {
            case .recursive: bank.recurse(x, output: out, saving: nil)
            case .frequencySampled(let size): bank.frequencySampled(x, fftSize: fftSize(size, n), output: out)
            }
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valueWithPullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest)
        -> (value: AudioBatch<T>, pullback: (AudioBatch<T>) -> Controls<T>) {
        renderThenPullback(controls, request) { [self] in pullback($0, $1, $2) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func pullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, _ dAudio: AudioBatch<T>) -> Controls<T> {
        let n = request.sampleCount
        return pullbackEachItem(controls, request, dAudio) { b, dy, g in
            let bank = Bank<T>(self, controls, item: b)
            let x = excitationSignal(n, key: request.noiseKey(item: b)) as [T]
            let d: (b0: [Double], a1: [Double], a2: [Double])
            switch realisation {
            case .recursive: d = bank.recursiveAdjoint(x, dy)
            case .frequencySampled(let size): d = bank.frequencySampledAdjoint(x, fftSize: fftSize(size, n), dy)
            }
            bank.chain(d, into: g)
        }
    }

    func fftSize(_ requested: Int?, _ n: Int) -> Int {
        if let requested { precondition(requested >= n && requested % 2 == 0, "modal: FFT size must be even and >= the render length"); return requested }
        var size = 2
        while size < 2 * n { size *= 2 }
        return size
    }

    /// The excitation of one item: a unit impulse, or a windowed noise burst.
    public func excitationSignal<T: SynthScalar>(_ n: Int, key: UInt64) -> [T] {
        var x = [T](repeating: 0, count: n)
        switch excitation {
        case .impulse:
            x[0] = 1
        case .noiseBurst(let seconds):
            let length = Swift.max(1, Int(seconds * sampleRate))
            let rng = CounterRandom(key: key)
            for i in 0..<Swift.min(length, n) {
                let w = 1 - Double(i) / Double(length)
                x[i] = T(w * w) * (rng.signedUniform(at: UInt64(i)) as T)
            }
        }
        return x
    }
}

extension ModalSynth {
    /// One item's resonators: coefficients and what the chain rule needs.
    struct Bank<T: SynthScalar> {
        let synth: ModalSynth
        let m: Int
        var b0: [T], a1: [T], a2: [T]
        var theta: [Double], radius: [Double], gain: [Double], active: [Bool]
        var physical: [Double], slope: [Double]

        init(_ synth: ModalSynth, _ controls: Controls<T>, item b: Int) {
            self.synth = synth
            m = synth.modeCount
            (physical, slope) = globalValues(synth.parameters, controls, item: b)
            b0 = [T](repeating: 0, count: m); a1 = b0; a2 = b0
            theta = [Double](repeating: 0, count: m); radius = theta; gain = theta
            active = [Bool](repeating: false, count: m)
            let sr = synth.sampleRate
            for j in 0..<m {
                let f = physical[0] * physical[1 + 3 * j]
                theta[j] = 2 * Double.pi * f / sr
                radius[j] = Double.pow(10, -3 / (physical[2 + 3 * j] * sr))
                gain[j] = physical[3 + 3 * j]
                active[j] = f < sr / 2
                guard active[j] else { continue }
                b0[j] = T(gain[j] * Double.sin(theta[j]))
                a1[j] = T(-2 * radius[j] * Double.cos(theta[j]))
                a2[j] = T(radius[j] * radius[j])
            }
        }

        /// Runs every resonator over `x`, summing into `output`; with `saving`, also keeps
        /// each mode's output (sample-major, N x M) for the adjoint.
        func recurse(_ x: [T], output: UnsafeMutablePointer<T>, saving: UnsafeMutablePointer<T>?) {
            let n = x.count
            let state = UnsafeMutablePointer<T>.allocate(capacity: 3 * m)
            defer { state.deallocate() }
            state.initialize(repeating: 0, count: 3 * m)
            let y1 = state, y2 = state + m, y = state + 2 * m
            b0.withUnsafeBufferPointer { b0 in a1.withUnsafeBufferPointer { a1 in a2.withUnsafeBufferPointer { a2 in
                let b0 = b0.baseAddress!, a1 = a1.baseAddress!, a2 = a2.baseAddress!
                for i in 0..<n {
                    let xi = x[i]
                    for j in 0..<m {   // independent modes: vectorises
                        y[j] = b0[j] * xi - a1[j] * y1[j] - a2[j] * y2[j]
                        y2[j] = y1[j]
                        y1[j] = y[j]
                    }
                    output[i] = blockSum(y, m)
                    if let saving { (saving + i * m).update(from: y, count: m) }
                }
            } } }
        }

        /// dL/d(b0, a1, a2) per mode through the recursion (float64 sums); with `dx`, also
        /// dL/dx[i] = sum_m b0_m e_m[i] (for a bank excited by another module's audio).
        func recursiveAdjoint(_ x: [T], _ dy: UnsafeMutablePointer<T>, dx: UnsafeMutablePointer<T>? = nil) -> (b0: [Double], a1: [Double], a2: [Double]) {
            let n = x.count
            let ys = UnsafeMutablePointer<T>.allocate(capacity: n * m), scratch = UnsafeMutablePointer<T>.allocate(capacity: n)
            let state = UnsafeMutablePointer<T>.allocate(capacity: 6 * m)
            defer { ys.deallocate(); scratch.deallocate(); state.deallocate() }
            recurse(x, output: scratch, saving: ys)
            state.initialize(repeating: 0, count: 6 * m)
            let e1 = state, e2 = state + m, db0 = state + 2 * m, da1 = state + 3 * m, da2 = state + 4 * m, be = state + 5 * m
            var sums = (b0: [Double](repeating: 0, count: m), a1: [Double](repeating: 0, count: m), a2: [Double](repeating: 0, count: m))
            func flush() {
                for j in 0..<m {
                    sums.b0[j] += Double(db0[j]); sums.a1[j] += Double(da1[j]); sums.a2[j] += Double(da2[j])
                    db0[j] = 0; da1[j] = 0; da2[j] = 0
                }
            }
            b0.withUnsafeBufferPointer { b0 in a1.withUnsafeBufferPointer { a1 in a2.withUnsafeBufferPointer { a2 in
                let b0 = b0.baseAddress!, a1 = a1.baseAddress!, a2 = a2.baseAddress!
                let zero = UnsafeMutablePointer<T>.allocate(capacity: m)
                defer { zero.deallocate() }
                zero.initialize(repeating: 0, count: m)
                for i in stride(from: n - 1, through: 0, by: -1) {
                    let g = dy[i], xi = x[i]
                    let ym1 = i >= 1 ? ys + (i - 1) * m : zero, ym2 = i >= 2 ? ys + (i - 2) * m : zero
                    for j in 0..<m {   // independent modes: vectorises
                        let e = g - a1[j] * e1[j] - a2[j] * e2[j]
                        db0[j] += e * xi
                        da1[j] -= e * ym1[j]
                        da2[j] -= e * ym2[j]
                        e2[j] = e1[j]
                        e1[j] = e
                    }
                    if let dx {
                        for j in 0..<m { be[j] = b0[j] * e1[j] }
                        dx[i] += blockSum(be, m)
                    }
                    if i & 511 == 0 { flush() }
                }
            } } }
            flush()
            return sums
        }

        /// `z = e^{-iw}` at bin k of an FFT of `size`.
        @inline(__always)
        func unitDelay(_ k: Int, _ size: Int) -> (zr: Double, zi: Double) {
            let w = 2 * Double.pi * Double(k) / Double(size)
            return (Double.cos(w), -Double.sin(w))
        }

        /// Mode j's denominator `1 + a1 z + a2 z^2` at `z`.
        @inline(__always)
        func denominator(_ j: Int, _ z: (zr: Double, zi: Double)) -> (dr: Double, di: Double, zr: Double, zi: Double) {
            let (zr, zi) = z
            let z2r = zr * zr - zi * zi, z2i = 2 * zr * zi
            return (1 + Double(a1[j]) * zr + Double(a2[j]) * z2r, Double(a1[j]) * zi + Double(a2[j]) * z2i, zr, zi)
        }

        func spectrum(_ x: [T], _ fft: RealFFT<T>) -> [T] {
            var padded = [T](repeating: 0, count: fft.size)
            for i in 0..<x.count { padded[i] = x[i] }
            var out = [T](repeating: 0, count: 2 * fft.binCount)
            padded.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { fft.forward(p.baseAddress!, $0.baseAddress!) } }
            return out
        }

        func frequencySampled(_ x: [T], fftSize size: Int, output: UnsafeMutablePointer<T>) {
            let fft = RealFFT<T>(size: size)
            var spec = spectrum(x, fft)
            for k in 0..<fft.binCount {
                var hr = 0.0, hi = 0.0
                let z = unitDelay(k, size)
                for j in 0..<m where active[j] {
                    let d = denominator(j, z)
                    let den = d.dr * d.dr + d.di * d.di, b = Double(b0[j])
                    hr += b * d.dr / den; hi -= b * d.di / den
                }
                let xr = Double(spec[2 * k]), xi = Double(spec[2 * k + 1])
                spec[2 * k] = T(xr * hr - xi * hi); spec[2 * k + 1] = T(xr * hi + xi * hr)
            }
            var y = [T](repeating: 0, count: size)
            spec.withUnsafeMutableBufferPointer { zp in y.withUnsafeMutableBufferPointer { fft.inverse(zp.baseAddress!, $0.baseAddress!) } }
            let scale = 1 / T(size)
            for i in 0..<x.count { output[i] = y[i] * scale }
        }

        func frequencySampledAdjoint(_ x: [T], fftSize size: Int, _ dy: UnsafeMutablePointer<T>) -> (b0: [Double], a1: [Double], a2: [Double]) {
            let fft = RealFFT<T>(size: size)
            let xs = spectrum(x, fft)
            let gs = spectrum(Array(UnsafeBufferPointer(start: dy, count: x.count)), fft)
            var sums = (b0: [Double](repeating: 0, count: m), a1: [Double](repeating: 0, count: m), a2: [Double](repeating: 0, count: m))
            for k in 0..<fft.binCount {
                // G = c_k / size * FFT(g) (c = 1 at DC and Nyquist, 2 elsewhere); Q = conj(G) X.
                let c = (k == 0 || k == fft.binCount - 1) ? 1.0 : 2.0
                let gr = c * Double(gs[2 * k]) / Double(size), gi = c * Double(gs[2 * k + 1]) / Double(size)
                let xr = Double(xs[2 * k]), xi = Double(xs[2 * k + 1])
                let qr = gr * xr + gi * xi, qi = gr * xi - gi * xr
                let z = unitDelay(k, size)
                for j in 0..<m where active[j] {
                    let d = denominator(j, z)
                    let den = d.dr * d.dr + d.di * d.di
                    let ir = d.dr / den, ii = -d.di / den                      // 1/D
                    let i2r = ir * ir - ii * ii, i2i = 2 * ir * ii              // 1/D^2
                    let b = Double(b0[j])
                    // dH/db0 = 1/D; dH/da1 = -b0 z / D^2; dH/da2 = -b0 z^2 / D^2; dL/dp = Re(Q dH/dp).
                    sums.b0[j] += qr * ir - qi * ii
                    let wr = -b * (d.zr * i2r - d.zi * i2i), wi = -b * (d.zr * i2i + d.zi * i2r)
                    sums.a1[j] += qr * wr - qi * wi
                    let z2r = d.zr * d.zr - d.zi * d.zi, z2i = 2 * d.zr * d.zi
                    let vr = -b * (z2r * i2r - z2i * i2i), vi = -b * (z2r * i2i + z2i * i2r)
                    sums.a2[j] += qr * vr - qi * vi
                }
            }
            return sums
        }

        /// dL/d(b0, a1, a2) -> dL/d(physical) -> dL/d(normalised controls) of this item.
        func chain(_ d: (b0: [Double], a1: [Double], a2: [Double]), into g: UnsafeMutablePointer<T>) {
            let sr = synth.sampleRate
            var df0 = 0.0
            for j in 0..<m where active[j] {
                let s = Double.sin(theta[j]), c = Double.cos(theta[j]), r = radius[j]
                // b0 = gain sin(theta), a1 = -2 r cos(theta), a2 = r^2
                let dGain = d.b0[j] * s
                let dTheta = d.b0[j] * gain[j] * c + d.a1[j] * 2 * r * s
                let dRadius = d.a1[j] * (-2 * c) + d.a2[j] * 2 * r
                // theta = 2 pi f0 ratio / sr;  r = 10^(-3 / (t60 sr)): dr/dt60 = r ln10 3 / (t60^2 sr)
                let t60 = physical[2 + 3 * j]
                let dT60 = dRadius * r * Double.log(10) * 3 / (t60 * t60 * sr)
                df0 += dTheta * theta[j] / physical[0]
                let p = 1 + 3 * j
                g[p] += T(dTheta * theta[j] / physical[p] * slope[p])
                g[p + 1] += T(dT60 * slope[p + 1])
                g[p + 2] += T(dGain * slope[p + 2])
            }
            g[0] += T(df0 * slope[0])
        }
    }
}

/// Another module's audio through a modal body: `y = modal bank(source audio)`, the "input
/// signal" excitation. The body's parameters are the modal synth's, prefixed `body_`; the
/// pullback sends dL/dx = sum_m b0_m e_m (from the time-reversed recursion) into the source.
public struct ResonatedSynth: Synth {
    public let name: String
    public let source: any Synth
    public let body: ModalSynth
    public let parameters: [ParameterSpec]
    public var sampleRate: Double { source.sampleRate }

    public init(_ source: any Synth, modeCount: Int = 32, name: String? = nil) {
        self.source = source
        body = ModalSynth(sampleRate: source.sampleRate, modeCount: modeCount, name: "body")
        self.name = name ?? "\(source.name)-resonated"
        parameters = source.parameters + body.parameters.map {
            var p = $0
            p.name = "body_" + p.name
            return p
        }
    }

    func split<T>(_ controls: Controls<T>) -> (source: Controls<T>, body: Controls<T>) {
        let pieces = controls.split([source.parameters, body.parameters])
        return (pieces[0], pieces[1])
    }

    public func render<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>) {
        precondition(controls.layout.parameters == parameters, "\(name): controls were laid out for another module")
        let (sc, bc) = split(controls)
        let x = source.render(sc, request)
        let n = request.sampleCount
        if audio.batchSize != controls.batchSize || audio.sampleCount != n { audio = AudioBatch(zeros: controls.batchSize, sampleCount: n) }
        let body = self.body
        audio.samples.withUnsafeMutableBufferPointer { out in
            let out = SendablePointer(out.baseAddress!)
            Parallelism.forEach(controls.batchSize) { b in
                ModalSynth.Bank<T>(body, bc, item: b).recurse(x.item(b), output: out.pointer + b * n, saving: nil)
            }
        }
    }

    public func valueWithPullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest)
        -> (value: AudioBatch<T>, pullback: (AudioBatch<T>) -> Controls<T>) {
        precondition(controls.layout.parameters == parameters, "\(name): controls were laid out for another module")
        let (sc, bc) = split(controls)
        let (x, sourcePullback) = source.valueWithPullback(sc, request)
        var audio = AudioBatch<T>(zeros: controls.batchSize, sampleCount: request.sampleCount)
        let n = request.sampleCount, batch = controls.batchSize, body = self.body
        audio.samples.withUnsafeMutableBufferPointer { out in
            let out = SendablePointer(out.baseAddress!)
            Parallelism.forEach(batch) { b in
                ModalSynth.Bank<T>(body, bc, item: b).recurse(x.item(b), output: out.pointer + b * n, saving: nil)
            }
        }
        let layout = controls.layout
        return (audio, { dAudio in
            var dx = AudioBatch<T>(zeros: batch, sampleCount: n)
            var bodyGrad = Controls<T>(zerosFor: bc.layout, batchSize: batch)
            dx.samples.withUnsafeMutableBufferPointer { dxp in
                bodyGrad.values.withUnsafeMutableBufferPointer { g in
                    dAudio.samples.withUnsafeBufferPointer { dy in
                        let dxp = SendablePointer(dxp.baseAddress!), g = SendablePointer(g.baseAddress!)
                        let dy = SendablePointer(UnsafeMutablePointer(mutating: dy.baseAddress!))
                        Parallelism.forEach(batch) { b in
                            let bank = ModalSynth.Bank<T>(body, bc, item: b)
                            let d = bank.recursiveAdjoint(x.item(b), dy.pointer + b * n, dx: dxp.pointer + b * n)
                            bank.chain(d, into: g.pointer + b * bc.layout.stride)
                        }
                    }
                }
            }
            return Controls(concatenating: [sourcePullback(dx), bodyGrad], layout: layout)
        })
    }
}
