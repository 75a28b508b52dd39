import DSP
import RealModule

/// torchsynth's default `Voice` (the architecture of its synth1B1 dataset), forward only:
/// renders the same patch to the same audio, so synth1B1-style parameters play here, and so
/// the two can be timed on equal work (`bench peers`, issue 17).
///
/// The signal flow, as torchsynth 1.0.2 computes it (`torchsynth/synth.py`, `module.py`):
/// - a keyboard gives the note (MIDI pitch) and how long the key is held;
/// - six ADSRs at the control rate (441 Hz), each `attack x decay x release` of clipped ramps
///   raised to the power `alpha`;
/// - two LFOs at the control rate: rate = frequency + mod_depth x (rate ADSR), phase by
///   cumulative sum, a softmax-like blend (`x^e`, normalised) of sine, triangle, saw, reverse
///   saw and square, times the amplitude ADSR;
/// - a modulation matrix (4 inputs: ADSR 1, ADSR 2, LFO 1, LFO 2; 5 outputs: pitch and
///   amplitude of each oscillator, noise amplitude), upsampled linearly (`align_corners`) to
///   the audio rate;
/// - a cosine VCO and a square/saw VCO (Lazzarini and Timoney's `tanh` square, shaped towards
///   a saw), pitch `clamp(note + tuning + depth x modulation, 0, 127)` in MIDI, phase by
///   cumulative sum; white noise; each times its amplitude signal;
/// - a mixer (three levels), normalised only where a note clips.
///
/// Not a differentiable module (it has no pullback and is not in the registry): it exists to
/// play and time torchsynth's voice. Within the same float tolerance as torchsynth (which
/// computes in float32): `TorchsynthVoiceTests` against torchsynth's own renders
/// (`Experiments/reference/torchsynth_voice.py`).
public struct TorchsynthVoice: Sendable {
    public let sampleRate: Double
    public let controlRate: Double
    public let seconds: Double
    /// Audio and control samples per note (torchsynth rounds both).
    public let sampleCount: Int
    public let controlCount: Int

    /// Samples per block of the audio-rate loops (8 KB per row: the block's rows stay in L1/L2).
    static let blockLength = 2048

    public init(sampleRate: Double = 44100, controlRate: Double = 441, seconds: Double = 4) {
        precondition(sampleRate > 0 && controlRate > 0 && seconds > 0, "torchsynth voice: rates and length must be positive")
        self.sampleRate = sampleRate
        self.controlRate = controlRate
        self.seconds = seconds
        sampleCount = Int((seconds * sampleRate).rounded(.toNearestOrEven))
        controlCount = Int((seconds * controlRate).rounded(.toNearestOrEven))
        precondition(sampleCount >= 2 && controlCount >= 2, "torchsynth voice: too short")
    }

    /// One note's settings in torchsynth's units (seconds, MIDI, Hz, radians).
    public struct Patch: Sendable {
        public struct Envelope: Sendable {
            public var attack, decay, sustain, release, alpha: Double
            public init(attack: Double, decay: Double, sustain: Double, release: Double, alpha: Double) {
                (self.attack, self.decay, self.sustain, self.release, self.alpha) = (attack, decay, sustain, release, alpha)
            }
        }
        public struct LFO: Sendable {
            public var frequency, modDepth, initialPhase: Double
            /// Blend weights of sine, triangle, saw, reverse saw, square (0...1 each).
            public var shapes: [Double]
            public init(frequency: Double, modDepth: Double, initialPhase: Double, shapes: [Double]) {
                (self.frequency, self.modDepth, self.initialPhase, self.shapes) = (frequency, modDepth, initialPhase, shapes)
            }
        }
        public struct Oscillator: Sendable {
            public var tuning, modDepth, initialPhase: Double
            /// Square (0) to saw (1); the cosine oscillator has none.
            public var shape: Double
            public init(tuning: Double, modDepth: Double, initialPhase: Double, shape: Double = 0) {
                (self.tuning, self.modDepth, self.initialPhase, self.shape) = (tuning, modDepth, initialPhase, shape)
            }
        }
        public var midiF0: Double, duration: Double
        public var adsr1, adsr2, lfo1Amplitude, lfo2Amplitude, lfo1Rate, lfo2Rate: Envelope
        public var lfo1, lfo2: LFO
        /// `modulation[input][output]`: inputs ADSR 1, ADSR 2, LFO 1, LFO 2; outputs VCO 1
        /// pitch, VCO 1 amplitude, VCO 2 pitch, VCO 2 amplitude, noise amplitude.
        public var modulation: [[Double]]
        public var vco1, vco2: Oscillator
        /// Levels of VCO 1, VCO 2 and the noise.
        public var mixer: [Double]

        public static let modulationInputs = ["adsr_1", "adsr_2", "lfo_1", "lfo_2"]
        public static let modulationOutputs = ["vco_1_pitch", "vco_1_amp", "vco_2_pitch", "vco_2_amp", "noise_amp"]
        static let lfoShapes = ["sin", "tri", "saw", "rsaw", "sqr"]

        public init(midiF0: Double, duration: Double, adsr1: Envelope, adsr2: Envelope, lfo1Amplitude: Envelope, lfo2Amplitude: Envelope,
                    lfo1Rate: Envelope, lfo2Rate: Envelope, lfo1: LFO, lfo2: LFO, modulation: [[Double]], vco1: Oscillator, vco2: Oscillator,
                    mixer: [Double]) {
            precondition(modulation.count == 4 && modulation.allSatisfy { $0.count == 5 } && mixer.count == 3
                         && lfo1.shapes.count == 5 && lfo2.shapes.count == 5 && duration > 0, "torchsynth voice: malformed patch")
            (self.midiF0, self.duration) = (midiF0, duration)
            (self.adsr1, self.adsr2, self.lfo1Amplitude, self.lfo2Amplitude, self.lfo1Rate, self.lfo2Rate) = (adsr1, adsr2, lfo1Amplitude, lfo2Amplitude, lfo1Rate, lfo2Rate)
            (self.lfo1, self.lfo2, self.modulation, self.vco1, self.vco2, self.mixer) = (lfo1, lfo2, modulation, vco1, vco2, mixer)
        }

        /// A patch from torchsynth's parameter names, `module/parameter` (as in
        /// `voice.get_parameters()`, e.g. `adsr_1/attack`, `mod_matrix/lfo_2->noise_amp`),
        /// in torchsynth's units (what `module.p(name)` returns).
        public init(torchsynth values: [String: Double]) throws {
            func value(_ module: String, _ name: String) throws -> Double {
                guard let v = values["\(module)/\(name)"] else { throw TorchsynthVoiceError.missingParameter("\(module)/\(name)") }
                guard v.isFinite else { throw TorchsynthVoiceError.invalidParameter("\(module)/\(name)", v) }
                return v
            }
            func envelope(_ module: String) throws -> Envelope {
                try Envelope(attack: value(module, "attack"), decay: value(module, "decay"), sustain: value(module, "sustain"),
                             release: value(module, "release"), alpha: value(module, "alpha"))
            }
            func lfo(_ module: String) throws -> LFO {
                try LFO(frequency: value(module, "frequency"), modDepth: value(module, "mod_depth"),
                        initialPhase: value(module, "initial_phase"), shapes: Self.lfoShapes.map { try value(module, $0) })
            }
            midiF0 = try value("keyboard", "midi_f0")
            duration = try value("keyboard", "duration")
            adsr1 = try envelope("adsr_1"); adsr2 = try envelope("adsr_2")
            lfo1Amplitude = try envelope("lfo_1_amp_adsr"); lfo2Amplitude = try envelope("lfo_2_amp_adsr")
            lfo1Rate = try envelope("lfo_1_rate_adsr"); lfo2Rate = try envelope("lfo_2_rate_adsr")
            lfo1 = try lfo("lfo_1"); lfo2 = try lfo("lfo_2")
            modulation = try Self.modulationInputs.map { i in try Self.modulationOutputs.map { o in try value("mod_matrix", "\(i)->\(o)") } }
            vco1 = try Oscillator(tuning: value("vco_1", "tuning"), modDepth: value("vco_1", "mod_depth"), initialPhase: value("vco_1", "initial_phase"))
            vco2 = try Oscillator(tuning: value("vco_2", "tuning"), modDepth: value("vco_2", "mod_depth"),
                                  initialPhase: value("vco_2", "initial_phase"), shape: value("vco_2", "shape"))
            mixer = try ["vco_1", "vco_2", "noise"].map { try value("mixer", $0) }
            // What would make NaN or nonsense rather than a sound: checked here, where a patch
            // comes from outside.
            guard duration > 0 else { throw TorchsynthVoiceError.invalidParameter("keyboard/duration", duration) }
            for (module, e) in [("adsr_1", adsr1), ("adsr_2", adsr2), ("lfo_1_amp_adsr", lfo1Amplitude), ("lfo_2_amp_adsr", lfo2Amplitude),
                                ("lfo_1_rate_adsr", lfo1Rate), ("lfo_2_rate_adsr", lfo2Rate)] {
                for (name, v) in [("attack", e.attack), ("decay", e.decay), ("release", e.release)] where v < 0 {
                    throw TorchsynthVoiceError.invalidParameter("\(module)/\(name)", v)
                }
                guard e.alpha > 0 else { throw TorchsynthVoiceError.invalidParameter("\(module)/alpha", e.alpha) }
            }
            for (module, l) in [("lfo_1", lfo1), ("lfo_2", lfo2)] {
                if let (i, v) = l.shapes.enumerated().first(where: { $0.element < 0 }) {
                    throw TorchsynthVoiceError.invalidParameter("\(module)/\(Self.lfoShapes[i])", v)
                }
                guard l.shapes.contains(where: { $0 > 0 }) else { throw TorchsynthVoiceError.invalidParameter("\(module)/sin (every shape weight 0)", 0) }
            }
        }
    }

    /// White noise in [-1, 1) per note, made once like torchsynth's (which draws it when the
    /// voice is built): the same for every render with the same seed.
    public func noise(batchSize: Int, seed: UInt64 = 13) -> [[Float]] {
        (0..<batchSize).map { b in
            var rng = CounterRandom(seed: seed, index: UInt64(b))
            return (0..<sampleCount).map { _ in Float(2 * rng.unit() - 1) }
        }
    }

    /// Renders one note per patch, in parallel over notes; `noise[b]` is note b's noise row.
    public func render(_ patches: [Patch], noise: [[Float]]) -> AudioBatch<Float> {
        precondition(noise.count == patches.count && noise.allSatisfy { $0.count == sampleCount }, "torchsynth voice: one noise row of sampleCount per patch")
        var audio = AudioBatch<Float>(zeros: patches.count, sampleCount: sampleCount)
        audio.samples.withUnsafeMutableBufferPointer { out in
            let out = SendablePointer(out.baseAddress!)
            Parallelism.forEach(patches.count) { b in
                noise[b].withUnsafeBufferPointer { renderNote(patches[b], noise: $0.baseAddress!, into: out.pointer + b * sampleCount) }
            }
        }
        return audio
    }

    /// The running phase (cycles) of one oscillator over a block: `phase + inc[0] + ... + inc[i]`
    /// reduced to one cycle, with the sum carried in float64 across blocks. Four samples per
    /// step, their partial sums off the carried chain, so the sequential dependence is one
    /// add per four samples instead of one per sample (the voice's one step that cannot
    /// vectorise; it was a sixth of its time).
    @inline(__always)
    static func accumulate(_ increments: UnsafeMutablePointer<Float>, from phase: inout Double, into cycles: UnsafeMutablePointer<Float>, _ count: Int) {
        var carry = phase, i = 0
        @inline(__always) func wrap(_ x: Double) -> Float { Float(x - x.rounded(.down)) }
        while i + 4 <= count {
            let a = Double(increments[i]), b = Double(increments[i + 1]), c = Double(increments[i + 2]), d = Double(increments[i + 3])
            let ab = a + b, cd = c + d
            cycles[i] = wrap(carry + a); cycles[i + 1] = wrap(carry + ab); cycles[i + 2] = wrap(carry + (ab + c))
            carry += ab + cd
            cycles[i + 3] = wrap(carry)
            i += 4
        }
        while i < count { carry += Double(increments[i]); cycles[i] = wrap(carry); i += 1 }
        phase = carry - carry.rounded(.down)
    }

    /// sin(2 pi x) for float32 only: `sinTwoPi`'s reduction with the odd Taylor polynomial cut
    /// at z^11 (truncation under 6e-8, float32's own resolution), two terms fewer than the
    /// differentiable modules' (which also serve float64).
    @inline(__always)
    static func sine(_ x: Float) -> Float {
        let r = x - roundedToNearest(x)
        let a = abs(r)
        let f = a > 0.25 ? 0.5 - a : a
        let z = 6.283185307179586 * f, z2 = z * z, z4 = z2 * z2
        let p01 = 1 + (-1.0 / 6) * z2, p23: Float = 1.0 / 120 + (-1.0 / 5040) * z2, p45: Float = 1.0 / 362_880 + (-1.0 / 39_916_800) * z2
        let s = z * ((p01 + p23 * z4) + p45 * (z4 * z4))
        return r < 0 ? -s : s
    }

    // MARK: - One note

    /// The five modulation signals at the control rate, `[output][control sample]`.
    func modulationSignals(_ p: Patch) -> [[Double]] {
        let adsr1 = envelope(p.adsr1, held: p.duration), adsr2 = envelope(p.adsr2, held: p.duration)
        let lfo1 = lfo(p.lfo1, rate: envelope(p.lfo1Rate, held: p.duration), amplitude: envelope(p.lfo1Amplitude, held: p.duration))
        let lfo2 = lfo(p.lfo2, rate: envelope(p.lfo2Rate, held: p.duration), amplitude: envelope(p.lfo2Amplitude, held: p.duration))
        let inputs = [adsr1, adsr2, lfo1, lfo2]
        return (0..<5).map { o in
            (0..<controlCount).map { k in (0..<4).reduce(0.0) { $0 + p.modulation[$1][o] * inputs[$1][k] } }
        }
    }

    /// torchsynth's ADSR: the product of an attack ramp, a decay ramp towards the sustain
    /// level (the decay cut short when the key is released first) and a release ramp from
    /// the key's release, each `clamp((t - start + eps) / length + eps, max 1)^alpha`.
    func envelope(_ e: Patch.Envelope, held: Double) -> [Double] {
        let attack = min(e.attack, held)
        let decay = min(max(held - e.attack, 0), e.decay)
        let a = ramp(attack, start: 0, inverse: false, alpha: e.alpha)
        let d = ramp(decay, start: attack, inverse: true, alpha: e.alpha)
        let r = ramp(e.release, start: held, inverse: true, alpha: e.alpha)
        let sustain = Float(e.sustain)
        return (0..<controlCount).map { k in Double(a[k] * ((1 - sustain) * d[k] + sustain) * r[k]) }
    }

    /// One ramp of an envelope in float32, as torchsynth computes it, with `x^alpha` as
    /// `2^(alpha log2 x)` from `VectorMath` so that the loop vectorises (a `pow` call per
    /// control sample was a tenth of the voice's time); its ends (0 and 1) exact.
    func ramp(_ length: Double, start: Double, inverse: Bool, alpha: Double) -> [Float] {
        let samples = Float(length * controlRate), begin = Float(start * controlRate), eps: Float = 1e-6
        let flip = inverse && samples > 0, exponent = Float(alpha) * 1.442_695_04   // log2(e)
        let exact = alpha > 0   // 0^alpha = 0 only for a positive alpha
        var out = [Float](repeating: 0, count: controlCount)
        out.withUnsafeMutableBufferPointer { o in
            for k in 0..<o.count {
                var x = max(Float(Int32(truncatingIfNeeded: k)) - begin, 0)
                x = min((x + eps) / samples + eps, 1)
                x = flip ? 1 - x : x
                let power = VectorMath.exponential2(exponent * VectorMath.logarithm(x))
                o[k] = x == 1 || (x == 0 && exact) ? x : power
            }
        }
        return out
    }

    /// torchsynth's LFO times its amplitude envelope.
    func lfo(_ l: Patch.LFO, rate: [Double], amplitude: [Double]) -> [Double] {
        let weights = l.shapes.map { Double.pow($0, 2.718281828) }
        let total = weights.reduce(0, +)
        let mode = weights.map { $0 / total }
        var phase = 0.0
        return (0..<controlCount).map { k in
            phase += 2 * Double.pi * max(l.frequency + l.modDepth * rate[k], 0) / controlRate
            let argument = phase + l.initialPhase
            let c = Double.cos(argument + Double.pi)
            let square = ((c > 0 ? 1.0 : c < 0 ? -1 : 0) + 1) / 2
            let saw = argument / (2 * Double.pi) - (argument / (2 * Double.pi)).rounded(.down)
            let triangle = 2 * saw > 1 ? 2 - 2 * saw : 2 * saw
            let shapes = [(c + 1) / 2, triangle, saw, 1 - saw, square]
            return zip(mode, shapes).reduce(0.0) { $0 + $1.0 * $1.1 } * amplitude[k]
        }
    }

    /// The audio-rate part, in blocks of `blockLength` samples: the five modulation signals
    /// upsampled into the block (one control interval at a time: a straight line each), then
    /// loops over the whole block that vectorise: the oscillators' frequencies, their phases
    /// (a running float64 sum, the one sequential step: `accumulate`), the waveforms and the mix. (Loops over single intervals, ~100 samples, spent a quarter
    /// of their samples in the scalar remainder.)
    func renderNote(_ p: Patch, noise: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let control = modulationSignals(p).map { row in row.map { Float($0) } }
        let n = sampleCount, c = controlCount
        let midi1 = Float(p.midiF0 + p.vco1.tuning), midi2 = Float(p.midiF0 + p.vco2.tuning)
        let depth1 = Float(p.vco1.modDepth), depth2 = Float(p.vco2.modDepth)
        // The square's sharpness, from the highest pitch the modulation can reach.
        let maxF0 = 440 * Double.exp2((p.midiF0 + p.vco2.tuning + max(p.vco2.modDepth, 0) - 69) / 12)
        let partials = Float(12000 / (maxF0 * Double.log10(maxF0)))
        let shape = Float(p.vco2.shape)
        let (level1, level2, levelNoise) = (Float(p.mixer[0]), Float(p.mixer[1]), Float(p.mixer[2]))
        let toCycles = Float(1 / sampleRate)
        // Upsampling with align_corners: audio sample i sits at control position i (c - 1) / (n - 1).
        let step = Double(c - 1) / Double(n - 1)
        let block = Self.blockLength
        let signals = UnsafeMutablePointer<Float>.allocate(capacity: 5 * block)
        let increments = UnsafeMutablePointer<Float>.allocate(capacity: 2 * block)
        let cycles = UnsafeMutablePointer<Float>.allocate(capacity: 2 * block)   // phases, in cycles within one
        defer { signals.deallocate(); increments.deallocate(); cycles.deallocate() }
        let (pitch1, amplitude1, pitch2, amplitude2, noiseAmplitude) = (signals, signals + block, signals + 2 * block, signals + 3 * block, signals + 4 * block)
        let (increment1, increment2, cycles1, cycles2) = (increments, increments + block, cycles, cycles + block)
        var phase1 = p.vco1.initialPhase / (2 * Double.pi), phase2 = p.vco2.initialPhase / (2 * Double.pi)
        var interval = 0
        for start in stride(from: 0, to: n, by: block) {
            let count = min(block, n - start)
            // Upsample: for each control interval the block's samples fall in.
            var i = 0
            while i < count {
                while interval < c - 2 && Double(start + i) * step >= Double(interval + 1) { interval += 1 }
                // The first sample of the next interval (positions are increasing in the index).
                var next = interval == c - 2 ? n : Int((Double(interval + 1) / step).rounded(.up))
                while next > start + i + 1 && Double(next - 1) * step >= Double(interval + 1) { next -= 1 }
                while next < n && Double(next) * step < Double(interval + 1) { next += 1 }
                let end = min(max(next - start, i + 1), count)
                let origin = Float(Double(start + i) * step - Double(interval)), fStep = Float(step)
                let length = end - i
                @inline(__always) func line(_ row: Int, _ s: UnsafeMutablePointer<Float>) {
                    let v0 = control[row][interval], slope = control[row][interval + 1] - v0
                    let target = s + i
                    for k in 0..<length { target[k] = v0 + slope * (origin + Float(Int32(truncatingIfNeeded: k)) * fStep) }
                }
                line(0, pitch1); line(1, amplitude1); line(2, pitch2); line(3, amplitude2); line(4, noiseAmplitude)
                i = end
            }
            for i in 0..<count {
                let m1 = midi1 + depth1 * pitch1[i], m2 = midi2 + depth2 * pitch2[i]
                increment1[i] = 440 * VectorMath.exponential2((min(max(m1, 0), 127) - 69) / 12) * toCycles
                increment2[i] = 440 * VectorMath.exponential2((min(max(m2, 0), 127) - 69) / 12) * toCycles
            }
            Self.accumulate(increment1, from: &phase1, into: cycles1, count)
            Self.accumulate(increment2, from: &phase2, into: cycles2, count)
            let out = y + start, white = noise + start
            for i in 0..<count {
                let x1 = cycles1[i], x2 = cycles2[i]
                let s2 = Self.sine(x2), c2 = Self.sine(x2 + 0.25)
                let square = VectorMath.hyperbolicTangent(Float.pi * partials * s2 / 2)
                let sawish = (1 - shape / 2) * square * (1 + shape * c2)
                out[i] = level1 * (Self.sine(x1 + 0.25) * amplitude1[i]) + level2 * (sawish * amplitude2[i]) + levelNoise * (white[i] * noiseAmplitude[i])
            }
        }
        // torchsynth's mixer normalises a note only where it clips.
        var lanes = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            let v = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            let magnitude = v.replacing(with: -v, where: v .< 0)
            lanes.replace(with: magnitude, where: magnitude .> lanes)
            i += 8
        }
        var peak = lanes.max()
        while i < n { peak = max(peak, abs(y[i])); i += 1 }
        if peak > 1 { for i in 0..<n { y[i] /= peak } }
    }
}

/// Errors in a torchsynth patch.
public enum TorchsynthVoiceError: Error, CustomStringConvertible {
    case missingParameter(String)
    case invalidParameter(String, Double)
    public var description: String {
        switch self {
        case .missingParameter(let name): "torchsynth voice: the patch has no \(name)"
        case .invalidParameter(let name, let value): "torchsynth voice: \(name) = \(value) is not a usable value"
        }
    }
}
