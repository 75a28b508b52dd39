import DSP
import RealModule

/// A subtractive voice after Masuda & Saito (2021, 2023; hyakuchiki/diffsynth):
///
///     two band-limited oscillators (saw -> square blend, additive, harmonics below Nyquist),
///     detuned `detune` cents apart, symmetrically about f0 (f0 2^(-+detune/2400), so the pair
///     sounds at f0; module version 2), each at half level; white noise;
///     a resonant 2-pole low-pass (cutoff, Q) whose cutoff moves with its own ADSR:
///         fc(t) = min(cutoff 2^(cutoff_env * envF(t)), 0.45 sr);
///     an amplitude ADSR:  y = amplitude * envA(t) * filter(oscillators + noise * white).
///
/// The filter has two realisations behind the one interface (`FilterRealisation`); both use
/// the same digital filter (`LowpassDesign`) and agree on a static filter (test).
/// Oscillator amplitudes: saw `2 / (pi k)`, square `4 / (pi k)` on odd k, all in sine phase
/// (diffsynth's convention). Noise always passes through the time-domain filter, so the
/// realisations differ only in how the oscillators are filtered.
///
/// Controls: every parameter is global (one value per note); the cutoff envelope is sampled on
/// an internal grid of one frame per `controlHop` samples and interpolated linearly (128 by
/// default: 125 Hz at 16 kHz, twice diffsynth's 62.5 Hz envelope rate; the amplitude
/// envelope is evaluated at every sample).
public struct SubtractiveSynth: Synth {
    public enum FilterRealisation: String, Sendable, Hashable, Codable {
        /// The filter's magnitude sampled at each harmonic's frequency, per control frame
        /// (exact for the additive oscillator in steady state; magnitude only, zero phase).
        case frequencySampled
        /// The biquad recursion per sample with an exact time-reversed adjoint.
        case timeDomain
    }

    public let name: String
    public let sampleRate: Double
    public let harmonicCount: Int
    public let filter: FilterRealisation
    public let envelope: ADSR
    public let controlHop: Int
    public let parameters: [ParameterSpec]
    /// 2: note-off in seconds (a fraction of the rendered length in version 1) and the
    /// oscillators detuned symmetrically about f0 (version 1 detuned the second one upwards,
    /// which put the pair up to 25 cents sharp of the note).
    public var version: Int { 2 }

    /// Parameter indices (layout order).
    enum P {
        static let f0 = 0, amplitude = 1, oscMix = 2, detune = 3, noise = 4, cutoff = 5, q = 6, cutoffEnv = 7
        static let ampEnvelope = 8, filterEnvelope = 12, noteOff = 16
    }

    public static let f0Range: ClosedRange<Double> = 32...2000

    public init(sampleRate: Double = 16000, harmonicCount: Int = 64, filter: FilterRealisation = .frequencySampled,
                envelopeShape: EnvelopeShape = .linear, controlHop: Int = 128, name: String = "subtractive") {
        precondition(harmonicCount >= 1 && controlHop >= 1, "subtractive: harmonicCount and controlHop must be positive")
        self.name = name
        self.sampleRate = sampleRate
        self.harmonicCount = harmonicCount
        self.filter = filter
        self.envelope = ADSR(shape: envelopeShape)
        self.controlHop = controlHop
        func spec(_ n: String, _ unit: String, _ r: ClosedRange<Double>, _ s: ParameterScale = .linear, _ v: Double, _ meaning: String) -> ParameterSpec {
            ParameterSpec(n, unit: unit, range: r, scale: s, default: v, meaning: meaning)
        }
        parameters = [
            spec("f0", "Hz", Self.f0Range, .logarithmic, 220, "the note's fundamental"),
            spec("amplitude", "", 0...1, .linear, 0.7, "overall loudness"),
            spec("osc_mix", "saw..square", 0...1, .linear, 0.2, "oscillator waveform: 0 = saw, 1 = square"),
            spec("detune", "cents", 0...50, .linear, 7, "spread of the two oscillators about f0 (chorus width)"),
            spec("noise", "", 0...1, .linear, 0.02, "white noise level before the filter (breath)"),
            spec("cutoff", "Hz", 30...8000, .logarithmic, 1200, "low-pass cutoff at the filter envelope's zero"),
            spec("q", "", 0.1...2, .linear, 0.9, "filter resonance (0.707 = no peak)"),
            spec("cutoff_env", "octaves", 0...6, .linear, 1.5, "how far the filter envelope opens the cutoff at its peak"),
        ] + ADSR.segmentParameters(prefix: "amp_", attack: 0.01, decay: 0.4, sustain: 0.7, release: 0.3, of: "the loudness")
          + ADSR.segmentParameters(prefix: "filter_", attack: 0.02, decay: 0.3, sustain: 0.3, release: 0.4, of: "the cutoff sweep")
          + [ADSR.noteOffParameter()]
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func render<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>) {
        let grid = Grid<T>(self, sampleCount: request.sampleCount)
        renderEachItem(controls, request, into: &audio) { b, out in
            Voice(self, grid, controls, item: b, noiseKey: request.noiseKey(item: b)).forward(output: out)
        }
    }

    /// Renders and keeps each item's intermediates (oscillator sum, filter input and output,
    /// envelopes: about 12 floats per sample) for the pullback, which then skips the forward
    /// pass.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valueWithPullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest)
        -> (value: AudioBatch<T>, pullback: (AudioBatch<T>) -> Controls<T>) {
        precondition(controls.layout.parameters == parameters, "\(name): controls were laid out for another module")
        let n = request.sampleCount, batch = controls.batchSize
        let grid = Grid<T>(self, sampleCount: n)
        var audio = AudioBatch<T>(zeros: batch, sampleCount: n)
        let saved = WorkerSlots<Voice<T>.Saved>(count: batch)
        audio.samples.withUnsafeMutableBufferPointer { out in
            let out = SendablePointer(out.baseAddress!)
            Parallelism.forEach(batch) { b in
                let voice = Voice(self, grid, controls, item: b, noiseKey: request.noiseKey(item: b))
                saved.items[b] = voice.forward(output: out.pointer + b * n)
            }
        }
        let synth = self
        return (audio, { dAudio in
            precondition(dAudio.batchSize == batch && dAudio.sampleCount == n, "\(synth.name) pullback: cotangent shape differs from the rendered audio")
            var grad = Controls<T>(zerosFor: controls.layout, batchSize: batch)
            grad.values.withUnsafeMutableBufferPointer { g in
                dAudio.samples.withUnsafeBufferPointer { dy in
                    let g = SendablePointer(g.baseAddress!), dy = SendablePointer(UnsafeMutablePointer(mutating: dy.baseAddress!))
                    Parallelism.forEach(batch) { b in
                        let voice = Voice(synth, grid, controls, item: b, noiseKey: request.noiseKey(item: b))
                        voice.backward(dy.pointer + b * n, saved: saved.items[b]!, into: g.pointer + b * controls.layout.stride)
                    }
                }
            }
            return grad
        })
    }
}

extension SubtractiveSynth {
    /// The control grid of one render length: frame count, upsampler and frame times.
    struct Grid<T: SynthScalar> {
        let sampleCount: Int
        let frameCount: Int
        let upsampler: FrameUpsampler<T>
        let frameTimes: [T]

        init(_ synth: SubtractiveSynth, sampleCount n: Int) {
            sampleCount = n
            frameCount = Swift.max(2, (n - 1 + synth.controlHop - 1) / synth.controlHop + 1)
            upsampler = FrameUpsampler(frameCount: frameCount, sampleCount: n, interpolation: .alignCorners)
            let step = Double(Swift.max(n - 1, 1)) / Double(frameCount - 1) / synth.sampleRate
            frameTimes = (0..<frameCount).map { T(Double($0) * step) }
        }
    }

    /// One item's physical values (and d physical / d normalised), and its render.
    struct Voice<T: SynthScalar> {
        let synth: SubtractiveSynth
        let grid: Grid<T>
        let noiseKey: UInt64
        let value: [T], slope: [T]
        let ampEnvelope: ADSRValues<T>, filterEnvelope: ADSRValues<T>
        let frequencies: [Double]        // the two oscillators' f0 (Hz)

        init(_ synth: SubtractiveSynth, _ grid: Grid<T>, _ controls: Controls<T>, item b: Int, noiseKey: UInt64) {
            self.synth = synth
            self.grid = grid
            self.noiseKey = noiseKey
            // Physical values in float64 (from the exact control), as in FMSynth: the
            // oscillators' phases multiply f0 by the sample index.
            let (physical, slope) = globalValues(synth.parameters, controls, item: b)
            let value = physical.map { T($0) }
            (self.value, self.slope) = (value, slope.map { T($0) })
            func env(_ o: Int) -> ADSRValues<T> {
                ADSRValues(attack: value[o], decay: value[o + 1], sustain: value[o + 2], release: value[o + 3],
                           noteOff: value[P.noteOff], peak: 1)
            }
            ampEnvelope = env(P.ampEnvelope)
            filterEnvelope = env(P.filterEnvelope)
            let f0 = physical[P.f0]
            // Detuned symmetrically, so the pair sounds at f0 (the note a preset is keyed to).
            let spread = Double.exp2(physical[P.detune] / 2400)
            frequencies = [f0 / spread, f0 * spread]
        }

        var kernel: AdditiveKernel<T> { AdditiveKernel(harmonicCount: synth.harmonicCount, sampleRate: synth.sampleRate, upsampler: grid.upsampler) }
        var maximumCutoff: T { T(0.45 * synth.sampleRate) }

        /// Cutoff per control frame (Hz) and whether it sits on the cap.
        func cutoffs() -> (fc: [T], envelope: [T], capped: [Bool]) {
            let env = grid.frameTimes.map { synth.envelope.value(at: $0, filterEnvelope) }
            var fc = [T](), capped = [Bool]()
            for e in env {
                let f = value[P.cutoff] * T.exp2(value[P.cutoffEnv] * e)
                capped.append(f >= maximumCutoff)
                fc.append(Swift.min(f, maximumCutoff))
            }
            return (fc, env, capped)
        }

        /// Band-limited saw/square blend weight of harmonic k (1-based) and its d/d(mix).
        @inline(__always)
        func waveform(_ k: Int) -> (value: T, dMix: T) {
            let saw = T(2 / (Double.pi * Double(k))), square: T = k % 2 == 1 ? T(4 / (Double.pi * Double(k))) : 0
            let m = value[P.oscMix]
            return ((1 - m) * saw + m * square, square - saw)
        }

        /// Frame-major oscillator amplitudes of oscillator `o`, filtered by frequency sampling or not.
        func amplitudes(_ o: Int, warpedCutoff k: [T]) -> [T] {
            let h = synth.harmonicCount, nF = grid.frameCount
            let inverseK = k.map { 1 / $0 }
            var amps = [T](repeating: 0, count: nF * h)
            let f = frequencies[o], nyquist = synth.sampleRate / 2
            for j in 1...h where Double(j) * f < nyquist {
                let w = T(0.5) * waveform(j).value
                if synth.filter == .timeDomain {
                    for fr in 0..<nF { amps[fr * h + j - 1] = w }
                } else {
                    let t = T(Double.tan(Double.pi * Double(j) * f / synth.sampleRate)), q = value[P.q]
                    for fr in 0..<nF { amps[fr * h + j - 1] = w * LowpassDesign.magnitude(r: t * inverseK[fr], q: q).value }
                }
            }
            return amps
        }

        /// Per-sample biquad coefficients from per-frame warped cutoffs.
        func biquad(warpedCutoff k: [T]) -> (b0: [T], a1: [T], a2: [T]) {
            let c = k.map { LowpassDesign.coefficients(k: $0, q: value[P.q]) }
            return (grid.upsampler.upsample(c.map(\.b0)), grid.upsampler.upsample(c.map(\.a1)), grid.upsampler.upsample(c.map(\.a2)))
        }

        func whiteNoise() -> [T] {
            CounterRandom.whiteNoise(key: noiseKey, count: grid.sampleCount)
        }

        func warped(_ fc: [T]) -> [T] { fc.map { T.tan(T.pi * $0 / T(synth.sampleRate)) } }

        /// Everything the backward pass needs from the forward pass.
        struct Saved {
            var fc: [T], filterEnvelope: [T], capped: [Bool], k: [T]
            var amps: [[T]], phases: [[T]], frequencies: [[T]]
            var noise: [T], filterIn: [T], filterOut: [T], dry: [T]
            var coefficients: (b0: [T], a1: [T], a2: [T])
            var ampEnvelope: [T]
        }

        /// Renders into `output` and returns the intermediates.
        @discardableResult
        func forward(output: UnsafeMutablePointer<T>) -> Saved {
            let n = grid.sampleCount
            let (fc, envF, capped) = cutoffs()
            let k = warped(fc)
            let amps = (0..<2).map { amplitudes($0, warpedCutoff: k) }
            let phases: [[T]] = frequencies.map { AdditiveKernel<T>.phases(constant: $0, count: n, sampleRate: synth.sampleRate) }
            let freqs: [[T]] = frequencies.map { [T](repeating: T($0), count: n) }
            var osc = [T](repeating: 0, count: n)
            osc.withUnsafeMutableBufferPointer { o in
                for i in 0..<2 {
                    amps[i].withUnsafeBufferPointer { a in
                        kernel.synthesise(amplitudes: a.baseAddress!, frequency: freqs[i], phase: phases[i], output: o.baseAddress!, accumulate: i == 1)
                    }
                }
            }
            let noise = whiteNoise()
            let coefficients = biquad(warpedCutoff: k)
            let level = value[P.noise]
            // Time domain: filter(osc + level * noise). Frequency sampled: osc is already
            // filtered, and only the noise goes through the recursion.
            let filterIn: [T] = synth.filter == .timeDomain ? (0..<n).map { osc[$0] + level * noise[$0] } : noise
            var filterOut = [T](repeating: 0, count: n)
            filterIn.withUnsafeBufferPointer { x in
                filterOut.withUnsafeMutableBufferPointer { y in
                    TimeVaryingBiquad.filter(x.baseAddress!, b0: coefficients.b0, a1: coefficients.a1, a2: coefficients.a2, into: y.baseAddress!, count: n)
                }
            }
            var envA = [T](repeating: 0, count: n)
            envA.withUnsafeMutableBufferPointer { synth.envelope.render(ampEnvelope, sampleRate: synth.sampleRate, count: n, into: $0.baseAddress!) }
            let amplitude = value[P.amplitude]
            for i in 0..<n {
                let x = synth.filter == .timeDomain ? filterOut[i] : osc[i] + level * filterOut[i]
                output[i] = amplitude * envA[i] * x
            }
            return Saved(fc: fc, filterEnvelope: envF, capped: capped, k: k, amps: amps, phases: phases, frequencies: freqs,
                         noise: noise, filterIn: filterIn, filterOut: filterOut, dry: osc, coefficients: coefficients, ampEnvelope: envA)
        }

        /// Adds dL/d(normalised controls) of this item into `g`.
        func backward(_ dy: UnsafeMutablePointer<T>, saved s: Saved, into g: UnsafeMutablePointer<T>) {
            let n = grid.sampleCount, nF = grid.frameCount, h = synth.harmonicCount
            var d = [T](repeating: 0, count: synth.parameters.count)   // dL/d physical value
            let amplitude = value[P.amplitude], level = value[P.noise], timeDomain = synth.filter == .timeDomain

            // y = amplitude * envA * x
            var dx = [T](repeating: 0, count: n), dEnvA = [T](repeating: 0, count: n)
            for i in 0..<n {
                let x = timeDomain ? s.filterOut[i] : s.dry[i] + level * s.filterOut[i]
                d[P.amplitude] += dy[i] * s.ampEnvelope[i] * x
                dEnvA[i] = dy[i] * amplitude * x
                dx[i] = dy[i] * amplitude * s.ampEnvelope[i]
            }
            let gA = dEnvA.withUnsafeBufferPointer { synth.envelope.gradient(ampEnvelope, sampleRate: synth.sampleRate, count: n, cotangent: $0.baseAddress!) }

            // The recursion: cotangent of its output, and of its input (the dry path in time domain).
            var dFilterOut = dx
            if !timeDomain { for i in 0..<n { d[P.noise] += dx[i] * s.filterOut[i]; dFilterOut[i] = dx[i] * level } }
            var dFilterIn = [T](repeating: 0, count: n)
            var dB0 = [T](repeating: 0, count: n), dA1 = dB0, dA2 = dB0
            s.filterIn.withUnsafeBufferPointer { x in
                s.filterOut.withUnsafeBufferPointer { y in
                    dFilterOut.withUnsafeBufferPointer { gy in
                        dFilterIn.withUnsafeMutableBufferPointer { gx in
                            TimeVaryingBiquad.adjoint(x: x.baseAddress!, y: y.baseAddress!, b0: s.coefficients.b0, a1: s.coefficients.a1, a2: s.coefficients.a2,
                                                      cotangent: gy.baseAddress!, count: n, dx: timeDomain ? gx.baseAddress! : nil,
                                                      dB0: &dB0, dA1: &dA1, dA2: &dA2)
                        }
                    }
                }
            }
            let (fB0, fA1, fA2) = (grid.upsampler.adjoint(dB0), grid.upsampler.adjoint(dA1), grid.upsampler.adjoint(dA2))
            var dK = [T](repeating: 0, count: nF)
            for f in 0..<nF {
                let c = LowpassDesign.coefficients(k: s.k[f], q: value[P.q])
                dK[f] = fB0[f] * c.dK.0 + fA1[f] * c.dK.1 + fA2[f] * c.dK.2
                d[P.q] += fB0[f] * c.dQ.0 + fA1[f] * c.dQ.1 + fA2[f] * c.dQ.2
            }
            if timeDomain { for i in 0..<n { d[P.noise] += dFilterIn[i] * s.noise[i] } }

            // Oscillators: the cotangent of their sum is dx (frequency sampled) or dFilterIn.
            let dOsc = timeDomain ? dFilterIn : dx
            var dFrequency = [0.0, 0.0]
            let inverseK = s.k.map { 1 / $0 }
            let terms = UnsafeMutablePointer<T>.allocate(capacity: 3 * nF)
            defer { terms.deallocate() }
            let mixTerms = terms, qTerms = terms + nF, fTerms = terms + 2 * nF
            for o in 0..<2 {
                var dAmps = [T](repeating: 0, count: nF * h), dPhase = [T](repeating: 0, count: n)
                s.amps[o].withUnsafeBufferPointer { a in
                    dOsc.withUnsafeBufferPointer { gy in
                        dAmps.withUnsafeMutableBufferPointer { da in
                            dPhase.withUnsafeMutableBufferPointer { dp in
                                kernel.backward(amplitudes: a.baseAddress!, frequency: s.frequencies[o], phase: s.phases[o], dy: gy.baseAddress!,
                                                dAmplitudes: da.baseAddress!, dPhase: dp.baseAddress!)
                            }
                        }
                    }
                }
                // phi[n] = (n + 1) 2 pi f / sr
                var dOmega = 0.0
                for i in 0..<n { dOmega += Double(dPhase[i]) * Double(i + 1) }
                dFrequency[o] += dOmega * 2 * Double.pi / synth.sampleRate
                let f = frequencies[o], nyquist = synth.sampleRate / 2
                for j in 1...h where Double(j) * f < nyquist {
                    let (w, dwMix) = waveform(j)
                    let half = T(0.5)
                    if timeDomain {
                        for fr in 0..<nF { d[P.oscMix] += dAmps[fr * h + j - 1] * half * dwMix }
                    } else {
                        // Per-frame terms in element-wise loops (they vectorise), then one sum each.
                        let t = Double.tan(Double.pi * Double(j) * f / synth.sampleRate)
                        let dtdf = Double.pi * Double(j) / synth.sampleRate * (1 + t * t)
                        let tt = T(t), q = value[P.q], hw = half * w
                        for fr in 0..<nF {
                            let r = tt * inverseK[fr]
                            let m = LowpassDesign.magnitude(r: r, q: q)
                            let da = dAmps[fr * h + j - 1]
                            mixTerms[fr] = da * m.value
                            qTerms[fr] = da * m.dQ
                            fTerms[fr] = da * m.dR * inverseK[fr]
                            dK[fr] -= hw * da * m.dR * r * inverseK[fr]
                        }
                        d[P.oscMix] += half * dwMix * blockSum(mixTerms, nF)
                        d[P.q] += hw * blockSum(qTerms, nF)
                        dFrequency[o] += Double(hw * blockSum(fTerms, nF)) * dtdf
                    }
                }
            }
            // f1,2 = f0 2^(-+detune / 2400)
            let f0 = (frequencies[0] * frequencies[1]).squareRoot()
            d[P.f0] += T((dFrequency[0] * frequencies[0] + dFrequency[1] * frequencies[1]) / f0)
            d[P.detune] += T((dFrequency[1] * frequencies[1] - dFrequency[0] * frequencies[0]) * Double.log(2) / 2400)

            // K = tan(pi fc / sr),  fc = cutoff 2^(env_amount envF)  (0 on the cap)
            var gF = ADSRValues<T>.zero
            for f in 0..<nF where !s.capped[f] {
                let dfc = dK[f] * T.pi / T(synth.sampleRate) * (1 + s.k[f] * s.k[f])
                let ln2fc = dfc * s.fc[f] * T.log(2)
                d[P.cutoff] += dfc * s.fc[f] / value[P.cutoff]
                d[P.cutoffEnv] += ln2fc * s.filterEnvelope[f]
                synth.envelope.accumulateGradient(at: grid.frameTimes[f], filterEnvelope, weight: ln2fc * value[P.cutoffEnv], into: &gF)
            }
            for (o, e) in [(P.ampEnvelope, gA), (P.filterEnvelope, gF)] {
                d[o] += e.attack; d[o + 1] += e.decay; d[o + 2] += e.sustain; d[o + 3] += e.release
            }
            d[P.noteOff] += gA.noteOff + gF.noteOff
            for p in 0..<d.count { g[p] += d[p] * slope[p] }   // every parameter is global: offset p
        }
    }
}
