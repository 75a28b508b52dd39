import DSP
import RealModule

/// DDSP's filtered noise (magenta/ddsp `synths.FilteredNoise`, `core.frequency_filter`).
///
/// Signal model, per item, `F` frames of `K` band magnitudes, `N` samples, hop `H = ceil(N/F)`:
///
///     m_k[f] = exp_sigmoid magnitude (DDSP adds initial_bias -5 to the logits; here that
///              is the default normalised value sigmoid(-5))
///     h_f    = D m_f           D: irfft to a zero-phase IR of length 2(K-1), Hann window
///                              (ddsp `apply_window_to_impulse_response`), causal form
///     x[n]   ~ U(-1, 1)        counter-based: a pure function of (noise key, n)
///     y[t]   = sum_f sum_{i<H} x[fH + i] h_f[t + c - fH - i],   c = (L - 1) // 2 - 1
///
/// `c` is DDSP's delay compensation for `padding='same'`; with the defaults (65 bands,
/// window 257 > 128, so L = 128) it leaves DDSP's 2-sample lag in place, deliberately.
/// Direct convolution equals DDSP's block FFT convolution (no circular wrap: its FFT size
/// is at least H + L - 1).
///
/// Adjoint: `dh_f[l] = sum_i x[fH + i] g[fH + i + l - c]`, `dm_f = D^T dh_f`, then the curve map.
public struct FilteredNoise: Synth {
    public let name: String
    public let sampleRate: Double
    public let bandCount: Int
    public let windowSize: Int
    public let parameters: [ParameterSpec]
    /// Row-major `L x K` IR design matrix (float64; converted per render).
    public let design: [Double]
    public let impulseLength: Int

    public init(sampleRate: Double = 16000, bandCount: Int = 65, windowSize: Int = 257, name: String = "filtered-noise") {
        precondition(bandCount >= 3, "filtered noise: needs at least 3 bands")
        self.name = name
        self.sampleRate = sampleRate
        self.bandCount = bandCount
        self.windowSize = windowSize
        let initial = 1 / (1 + Double.exp(5.0))
        parameters = (1...bandCount).map { HarmonicOscillatorBank.expSigmoidSpec("noise_\($0)", defaultNormalised: initial,
                                                                                       meaning: "gain of noise band \($0) of \(bandCount) (linear frequency bands)") }
        (design, impulseLength) = Self.designMatrix(bands: bandCount, windowSize: windowSize)
        precondition(impulseLength >= 3, "filtered noise: impulse response too short")
    }

    /// Columns are DDSP's windowed causal IRs of unit magnitude vectors (the map is linear).
    static func designMatrix(bands k: Int, windowSize requested: Int) -> ([Double], Int) {
        let m = 2 * (k - 1)
        let ws = (requested <= 0 || requested > m) ? m : requested
        let hann: [Double] = periodicHann(ws)
        let padding = m - ws
        let half = (ws + 1) / 2
        var zeroPhaseWindow: [Double]
        if padding > 0 {
            zeroPhaseWindow = Array(hann[half...]) + [Double](repeating: 0, count: padding) + Array(hann[..<half])
        } else {
            zeroPhaseWindow = Array(hann[(ws / 2)...] + hann[..<(ws / 2)])  // fftshift of an even window
        }
        var columns: [[Double]] = []
        for band in 0..<k {
            // irfft of a unit vector at `band`, length m.
            var h = (0..<m).map { t -> Double in
                let c: Double = (band == 0 || band == k - 1) ? 1 : 2
                return c / Double(m) * Double.cos(2 * Double.pi * Double(band * t) / Double(m))
            }
            for t in 0..<m { h[t] *= zeroPhaseWindow[t] }
            if padding > 0 {
                let firstHalfStart = (m - (half - 1)) + 1, secondHalfEnd = half + 1
                h = Array(h[firstHalfStart...]) + Array(h[..<secondHalfEnd])
            } else {
                h = Array(h[(m / 2)...] + h[..<(m / 2)])  // fftshift to causal form
            }
            columns.append(h)
        }
        let l = columns[0].count
        var d = [Double](repeating: 0, count: l * k)
        for t in 0..<l { for b in 0..<k { d[t * k + b] = columns[b][t] } }
        return (d, l)
    }

    /// Index of the first output sample in the full convolution (DDSP's crop start).
    var cropStart: Int { (impulseLength - 1) / 2 - 1 }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func render<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>) {
        check(controls, request)
        if audio.batchSize != controls.batchSize || audio.sampleCount != request.sampleCount {
            audio = AudioBatch(zeros: controls.batchSize, sampleCount: request.sampleCount)
        }
        let n = request.sampleCount
        let d = design.map { T($0) }
        audio.samples.withUnsafeMutableBufferPointer { out in
            let out = SendablePointer(out.baseAddress!)
            Parallelism.forEach(controls.batchSize) { b in
                let y = out.pointer + b * n
                y.initialize(repeating: 0, count: n)
                let (irs, _) = impulseResponses(controls, item: b, design: d)
                let noise = noiseSamples(T.self, count: n, key: request.noiseKey(item: b))
                convolve(noise, irs, frames: controls.layout.frameCount, into: y, count: n)
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
        let n = request.sampleCount, nF = controls.layout.frameCount, k = bandCount, l = impulseLength
        let hop = (n + nF - 1) / nF, start = cropStart
        let d = design.map { T($0) }
        var grad = Controls<T>(zerosFor: controls.layout, batchSize: controls.batchSize)
        grad.values.withUnsafeMutableBufferPointer { gv in
            dAudio.samples.withUnsafeBufferPointer { dy in
                let gv = SendablePointer(gv.baseAddress!), dy = SendablePointer(UnsafeMutablePointer(mutating: dy.baseAddress!))
                Parallelism.forEach(controls.batchSize) { b in
                    let g = dy.pointer + b * n
                    let (_, slopes) = impulseResponses(controls, item: b, design: d)
                    let noise = noiseSamples(T.self, count: n, key: request.noiseKey(item: b))
                    var dh = [T](repeating: 0, count: l)
                    let out = gv.pointer + b * controls.layout.stride
                    for f in 0..<nF {
                        for i in 0..<l { dh[i] = 0 }
                        forEachSource(frame: f, hop: hop, count: n) { src, taps in
                            let x = noise[src], base = g + (src - start)
                            for j in taps { dh[j] += x * base[j] }
                        }
                        for band in 0..<k {
                            var s: T = 0
                            for j in 0..<l { s += d[j * k + band] * dh[j] }
                            out[controls.layout.offsets[band] + f] += s * slopes[f * k + band]
                        }
                    }
                }
            }
        }
        return grad
    }

    private func check<T>(_ controls: Controls<T>, _ request: RenderRequest) {
        precondition(controls.layout.parameters == parameters, "\(name): controls were laid out for another module")
        precondition(controls.layout.frameCount <= request.sampleCount, "\(name): more frames than samples")
    }

    /// Per-frame IRs (`F x L`) and dm/du slopes (`F x K`) for item `b`.
    func impulseResponses<T: SynthScalar>(_ controls: Controls<T>, item b: Int, design d: [T]) -> ([T], [T]) {
        let nF = controls.layout.frameCount, k = bandCount, l = impulseLength
        var mags = [T](repeating: 0, count: k), slopes = [T](repeating: 0, count: nF * k)
        var irs = [T](repeating: 0, count: nF * l)
        let maps = parameters.map(\.mapping)   // numbers only: no per-frame copies of the specs
        for f in 0..<nF {
            for band in 0..<k {
                let (v, s) = maps[band].physicalWithDerivative(controls[item: b, parameter: band, frame: f])
                mags[band] = v; slopes[f * k + band] = s
            }
            for t in 0..<l {
                var s: T = 0
                for band in 0..<k { s += d[t * k + band] * mags[band] }
                irs[f * l + t] = s
            }
        }
        return (irs, slopes)
    }

    func noiseSamples<T: SynthScalar>(_: T.Type, count n: Int, key: UInt64) -> [T] {
        CounterRandom.whiteNoise(key: key, count: n)
    }

    func convolve<T: SynthScalar>(_ noise: [T], _ irs: [T], frames nF: Int, into y: UnsafeMutablePointer<T>, count n: Int) {
        let l = impulseLength, hop = (n + nF - 1) / nF, start = cropStart
        irs.withUnsafeBufferPointer { h in
            for f in 0..<nF {
                let ir = h.baseAddress! + f * l
                forEachSource(frame: f, hop: hop, count: n) { src, taps in
                    let x = noise[src], base = y + (src - start)
                    for j in taps { base[j] += x * ir[j] }
                }
            }
        }
    }

    /// Visits each input sample `src` of frame `f`'s block with the taps `j` of its IR whose
    /// output `src + j - cropStart` lands inside the `n` output samples: the index structure
    /// shared by the convolution and its adjoint.
    @inline(__always)
    func forEachSource(frame f: Int, hop: Int, count n: Int, _ body: (_ src: Int, _ taps: Range<Int>) -> Void) {
        let l = impulseLength, start = cropStart
        for src in (f * hop)..<Swift.min((f + 1) * hop, n) {
            let lo = Swift.max(0, start - src), hi = Swift.min(l, n + start - src)
            if lo < hi { body(src, lo..<hi) }
        }
    }
}
