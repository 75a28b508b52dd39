import DSP
import RealModule

/// A six-operator phase-modulation synth with the DX7's routings (DDX7, Caspe et al. 2022),
/// plus the DX7's operator feedback, which DDX7 leaves out.
///
/// Operator i (1...6), in cycles, with `p_i[n] = (n + 1) f0 ratio_i 2^(detune_i / 1200) / sr`
/// (inclusive phase, as DDX7):
///
///     theta_i[n] = p_i[n] + sum_{j modulates i} out_j[n] + [i = fb dst] feedback / 2 * out_src[n - 1]
///     out_i[n]   = L_i[n] sin(2 pi theta_i[n]),   L_i = level_i * ADSR_i(t)
///     y[n]       = sum_{carriers} out_c[n] / (number of carriers)
///
/// A modulator's output is added to the phase in cycles, i.e. `2 pi out_j` radians: DDX7's
/// "modulation index = 2 pi x output level" (a level of 0.32 is DDX7's I_max ~ 2). A feedback
/// of 1 is a modulation index of pi on the operator's delayed output.
///
/// Adjoint: reverse time, operators in ascending order (the reverse of the forward order):
///
///     dOut_i[n]   = [i carrier] g[n] / C + sum_{i modulates j} dTheta_j[n] + [i = fb src] feedback / 2 * dTheta_dst[n + 1]
///     dTheta_i[n] = dOut_i[n] L_i[n] 2 pi cos(2 pi theta_i[n]),   dL_i[n] = dOut_i[n] sin(2 pi theta_i[n])
///     d inc_i     = sum_n (n + 1) dTheta_i[n]   (phase wrap has derivative 1)
///
/// Operators off the feedback loop are computed with element-wise loops over the whole note
/// (they vectorise, with the branch-free `sinTwoPi`); only the loop's operators run sample by
/// sample, forwards and then backwards: the recursion is the one part that cannot vectorise.
public struct FMSynth: Synth {
    public let name: String
    public let sampleRate: Double
    public let algorithm: DX7Algorithm
    /// Fixed frequency ratios of operators 1...6, or `nil` when the ratios are parameters.
    public let fixedRatios: [Double]?
    public let envelope: ADSR
    public let parameters: [ParameterSpec]
    /// 2: note-off in seconds (a fraction of the rendered length in version 1).
    public var version: Int { 2 }

    public static let f0Range: ClosedRange<Double> = 32...2000

    /// `fm-alg1` ... `fm-alg32`: the `fm` module on any DX7 algorithm.
    public static let algorithmVariants = SynthRegistry.Variants(
        pattern: "fm-alg1...fm-alg32", summary: "the fm module with DX7 algorithm N (same parameters)"
    ) { name, sampleRate in
        guard name.hasPrefix("fm-alg"), let n = Int(name.dropFirst(6)), (1...32).contains(n) else { return nil }
        return FMSynth(sampleRate: sampleRate, algorithm: n)
    }
    public static let ratioRange: ClosedRange<Double> = 0.5...16

    public init(sampleRate: Double = 16000, algorithm: Int = 5, fixedRatios: [Double]? = nil,
                envelopeShape: EnvelopeShape = .linear, name: String? = nil) {
        precondition(fixedRatios.map { $0.count == 6 && $0.allSatisfy { $0 > 0 } } ?? true, "fm: six positive ratios")
        self.algorithm = DX7Algorithm.number(algorithm)
        self.name = name ?? "fm-alg\(algorithm)"
        self.sampleRate = sampleRate
        self.fixedRatios = fixedRatios
        self.envelope = ADSR(shape: envelopeShape)
        let loop = self.algorithm.feedback.source == self.algorithm.feedback.destination
            ? "operator \(self.algorithm.feedback.source)"
            : "operators \(self.algorithm.feedback.destination)...\(self.algorithm.feedback.source)"
        var specs = [ParameterSpec("f0", unit: "Hz", range: Self.f0Range, scale: .logarithmic, default: 220, meaning: "the note's fundamental"),
                     ParameterSpec("feedback", range: 0...1, default: 0.2,
                                   meaning: "self-modulation of \(loop) (0 = pure sine, 1 = towards a saw)"),
                     ADSR.noteOffParameter()]
        for op in 1...6 {
            let carrier = self.algorithm.carriers.contains(op)
            let role = carrier ? "carrier: its loudness in the output" : "modulator: how much it brightens the operators it feeds"
            specs.append(ParameterSpec("op\(op)_level", range: 0...1, default: carrier ? 0.8 : 0.25, meaning: "operator \(op) level (\(role))"))
            if fixedRatios == nil {
                specs.append(ParameterSpec("op\(op)_ratio", range: Self.ratioRange, scale: .logarithmic, default: 1,
                                           meaning: "operator \(op) frequency as a multiple of f0"))
            }
            specs.append(ParameterSpec("op\(op)_detune", unit: "cents", range: -10...10, default: 0, meaning: "operator \(op) fine detune"))
            specs += ADSR.segmentParameters(prefix: "op\(op)_", attack: 0.005, decay: carrier ? 1.0 : 0.6, sustain: carrier ? 0.6 : 0.4, release: 0.3,
                                            of: "operator \(op)'s level")
        }
        parameters = specs
    }

    /// Layout of the global parameters: f0, feedback, note_off, then one block per operator.
    var operatorStride: Int { fixedRatios == nil ? 7 : 6 }
    func operatorBase(_ op: Int) -> Int { 3 + (op - 1) * operatorStride }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func render<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>) {
        renderEachItem(controls, request, into: &audio) { b, out in
            let voice = Voice(self, controls, item: b, sampleCount: request.sampleCount)
            let state = voice.forward()
            voice.mix(state, into: out)
            state.deallocate()
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valueWithPullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest)
        -> (value: AudioBatch<T>, pullback: (AudioBatch<T>) -> Controls<T>) {
        // Each note's forward state (phase arguments, levels, outputs: 21 rows of samples) is
        // kept for the pullback instead of being recomputed there, which was a third of the
        // forward + backward time. The pullback only reads it, so it may run more than once.
        let states = StateStore<T>(count: controls.batchSize)
        var audio = AudioBatch<T>(zeros: controls.batchSize, sampleCount: request.sampleCount)
        renderEachItem(controls, request, into: &audio) { b, out in
            let voice = Voice(self, controls, item: b, sampleCount: request.sampleCount)
            let state = voice.forward()
            voice.mix(state, into: out)
            states.store(state, at: b)
        }
        return (audio, { [self] dAudio in
            pullbackEachItem(controls, request, dAudio) { b, dy, g in
                Voice(self, controls, item: b, sampleCount: request.sampleCount).backward(dy, into: g, state: states[b])
            }
        })
    }

    /// The pullback that recomputes each note's forward state instead of reusing the one
    /// `valueWithPullback` kept: the reference `FMTests` holds the kept-state path to, bit for bit.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func pullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, _ dAudio: AudioBatch<T>) -> Controls<T> {
        pullbackEachItem(controls, request, dAudio) { b, dy, g in
            Voice(self, controls, item: b, sampleCount: request.sampleCount).backward(dy, into: g)
        }
    }
}

extension FMSynth {
    /// Per-operator signals of one note, operator-major (index 0 unused so that op i is row i).
    struct State<T: SynthScalar> {
        let n: Int
        let theta: UnsafeMutablePointer<T>, level: UnsafeMutablePointer<T>, out: UnsafeMutablePointer<T>
        init(sampleCount n: Int) {
            self.n = n
            theta = .allocate(capacity: 7 * n); level = .allocate(capacity: 7 * n); out = .allocate(capacity: 7 * n)
        }
        func row(_ p: UnsafeMutablePointer<T>, _ op: Int) -> UnsafeMutablePointer<T> { p + op * n }
        func deallocate() { theta.deallocate(); level.deallocate(); out.deallocate() }
    }

    /// The forward states of a batch, owned by a pullback closure and freed with it. Workers
    /// store into distinct slots, so the slots are raw memory rather than an array.
    final class StateStore<T: SynthScalar>: @unchecked Sendable {
        private let slots: UnsafeMutablePointer<State<T>?>
        private let count: Int
        init(count: Int) {
            self.count = count
            slots = .allocate(capacity: count)
            slots.initialize(repeating: nil, count: count)
        }
        func store(_ state: State<T>, at b: Int) { slots[b] = state }
        subscript(b: Int) -> State<T>? { slots[b] }
        deinit {
            for b in 0..<count { slots[b]?.deallocate() }
            slots.deinitialize(count: count)
            slots.deallocate()
        }
    }

    struct Voice<T: SynthScalar> {
        let synth: FMSynth
        let n: Int
        let value: [T], slope: [T]
        /// Phase increment per sample (cycles) of each operator, index 1...6.
        let increments: [Double]
        let envelopes: [ADSRValues<T>]
        let feedbackGain: T

        init(_ synth: FMSynth, _ controls: Controls<T>, item b: Int, sampleCount: Int) {
            self.synth = synth
            n = sampleCount
            // Physical values in float64 (from the exact control): phase increments multiply
            // f0 by ratios up to 16 and by the sample index, so float32 rounding here would
            // move late samples' phases by ~1e-4 cycles.
            let (physical, slope) = globalValues(synth.parameters, controls, item: b)
            (self.value, self.slope) = (physical.map { T($0) }, slope.map { T($0) })
            let f0 = physical[0]
            var increments = [0.0], envelopes = [ADSRValues<T>.zero]
            for op in 1...6 {
                let base = synth.operatorBase(op)
                let learnable = synth.fixedRatios == nil
                let ratio = learnable ? physical[base + 1] : synth.fixedRatios![op - 1]
                let detune = physical[base + (learnable ? 2 : 1)]
                increments.append(f0 * ratio * Double.exp2(detune / 1200) / synth.sampleRate)
                let e = base + (learnable ? 3 : 2)
                envelopes.append(ADSRValues(attack: value[e], decay: value[e + 1], sustain: value[e + 2], release: value[e + 3],
                                            noteOff: value[2], peak: value[base]))
            }
            self.increments = increments
            self.envelopes = envelopes
            feedbackGain = value[1] / 2
        }

        /// Computes every operator's phase argument, level and output.
        func forward() -> State<T> {
            let s = State<T>(sampleCount: n)
            let alg = synth.algorithm
            for op in 1...6 {
                synth.envelope.render(envelopes[op], sampleRate: synth.sampleRate, count: n, into: s.row(s.level, op))
                let th = s.row(s.theta, op), inc = increments[op]
                for i in 0..<n {
                    let x = Double(i + 1) * inc
                    th[i] = T(x - roundedToNearest(x))   // in [-1/2, 1/2]: sin is periodic
                }
            }
            let loop = alg.loop
            for op in stride(from: 6, through: 1, by: -1) {
                if loop.contains(op) {
                    if op == loop[0] { forwardLoop(s) }
                    continue
                }
                let th = s.row(s.theta, op), lv = s.row(s.level, op), out = s.row(s.out, op)
                for j in alg.modulators[op] {
                    let m = s.row(s.out, j)
                    for i in 0..<n { th[i] += m[i] }
                }
                for i in 0..<n { out[i] = lv[i] * sinTwoPi(th[i]) }
            }
            return s
        }

        /// The feedback loop's operators, sample by sample (highest first).
        func forwardLoop(_ s: State<T>) {
            let alg = synth.algorithm, loop = alg.loop
            let (src, dst) = alg.feedback
            let srcOut = s.row(s.out, src)
            // Modulators from outside the loop are complete already: add them first.
            for op in loop {
                let th = s.row(s.theta, op)
                for j in alg.modulators[op] where !loop.contains(j) {
                    let m = s.row(s.out, j)
                    for i in 0..<n { th[i] += m[i] }
                }
            }
            let g = feedbackGain
            let dstTheta = s.row(s.theta, dst)
            if loop.count == 1 {
                let lv = s.row(s.level, dst)
                var previous: T = 0
                for i in 0..<n {
                    dstTheta[i] += g * previous
                    previous = lv[i] * sinTwoPi(dstTheta[i])
                    srcOut[i] = previous
                }
                return
            }
            // A chain (DX7Algorithm checks it): each loop operator below the destination is
            // modulated by the one above it, and only by it from inside the loop.
            let rows = loop.map { (s.row(s.theta, $0), s.row(s.level, $0), s.row(s.out, $0)) }
            var previous: T = 0
            for i in 0..<n {
                var o: T = 0
                for (j, (th, lv, out)) in rows.enumerated() {
                    let x = th[i] + (j == 0 ? g * previous : o)
                    th[i] = x
                    o = lv[i] * sinTwoPi(x)
                    out[i] = o
                }
                previous = o   // the source is the chain's last operator
            }
        }

        func mix(_ s: State<T>, into y: UnsafeMutablePointer<T>) {
            let carriers = synth.algorithm.carriers
            let scale = 1 / T(carriers.count)
            for i in 0..<n { y[i] = 0 }
            for c in carriers {
                let out = s.row(s.out, c)
                for i in 0..<n { y[i] += scale * out[i] }
            }
        }

        /// Adds dL/d(normalised controls) of this item into `g`.
        /// `state`: this note's forward state when the caller kept it (read only here);
        /// recomputed (and freed) otherwise.
        func backward(_ dy: UnsafeMutablePointer<T>, into g: UnsafeMutablePointer<T>, state: State<T>? = nil) {
            let s = state ?? forward()
            defer { if state == nil { s.deallocate() } }
            let alg = synth.algorithm, loop = alg.loop
            // Reuse `out` rows of the backward pass for dOut, keeping the forward outputs the
            // feedback gradient needs in a copy of the source's row.
            let src = alg.feedback.source
            let srcOut = [T](UnsafeBufferPointer(start: s.row(s.out, src), count: n))
            let dOut = UnsafeMutablePointer<T>.allocate(capacity: 7 * n), dTheta = UnsafeMutablePointer<T>.allocate(capacity: 7 * n)
            let dLevel = UnsafeMutablePointer<T>.allocate(capacity: n)
            defer { dOut.deallocate(); dTheta.deallocate(); dLevel.deallocate() }
            dOut.initialize(repeating: 0, count: 7 * n)
            let scale = 1 / T(alg.carriers.count)
            for c in alg.carriers {
                let d = dOut + c * n
                for i in 0..<n { d[i] = scale * dy[i] }
            }
            var dFeedbackGain: T = 0
            var d = [T](repeating: 0, count: synth.parameters.count)
            let twoPi = T(2 * Double.pi)
            for op in 1...6 {
                if loop.contains(op) {
                    if op == loop.last! { dFeedbackGain = backwardLoop(s, dOut: dOut, dTheta: dTheta, sourceOut: srcOut) }
                    continue
                }
                let th = s.row(s.theta, op), lv = s.row(s.level, op), dO = dOut + op * n, dT = dTheta + op * n
                for i in 0..<n { dT[i] = dO[i] * lv[i] * twoPi * cosTwoPi(th[i]) }
                for j in alg.modulators[op] {
                    let dm = dOut + j * n
                    for i in 0..<n { dm[i] += dT[i] }
                }
            }
            // Levels (through each operator's envelope) and phase increments.
            let f0 = Double(value[0])
            var dF0 = 0.0
            for op in 1...6 {
                let th = s.row(s.theta, op), dO = dOut + op * n, dT = dTheta + op * n
                for i in 0..<n { dLevel[i] = dO[i] * sinTwoPi(th[i]) }
                let ge = synth.envelope.gradient(envelopes[op], sampleRate: synth.sampleRate, count: n, cotangent: dLevel)
                let base = synth.operatorBase(op), learnable = synth.fixedRatios == nil
                let e = base + (learnable ? 3 : 2)
                d[base] += ge.peak
                d[e] += ge.attack; d[e + 1] += ge.decay; d[e + 2] += ge.sustain; d[e + 3] += ge.release
                d[2] += ge.noteOff
                // sum_n (n + 1) dTheta[n] in float64: the terms grow with n and largely cancel.
                var q0 = 0.0, q1 = 0.0, q2 = 0.0, q3 = 0.0, i = 0
                while i + 4 <= n {
                    q0 += Double(dT[i]) * Double(i + 1); q1 += Double(dT[i + 1]) * Double(i + 2)
                    q2 += Double(dT[i + 2]) * Double(i + 3); q3 += Double(dT[i + 3]) * Double(i + 4)
                    i += 4
                }
                while i < n { q0 += Double(dT[i]) * Double(i + 1); i += 1 }
                let dInc = (q0 + q1) + (q2 + q3)
                // inc = f0 ratio 2^(detune/1200) / sr
                let inc = increments[op]
                dF0 += dInc * inc / f0
                if learnable { d[base + 1] += T(dInc * inc / Double(value[base + 1])) }
                d[base + (learnable ? 2 : 1)] += T(dInc * inc * Double.log(2) / 1200)
            }
            d[0] += T(dF0)
            d[1] += dFeedbackGain / 2
            for p in 0..<d.count { g[p] += d[p] * slope[p] }   // every parameter is global: offset p
        }

        /// Reverse-time pass over the feedback loop; returns dL/d(feedback gain).
        func backwardLoop(_ s: State<T>, dOut: UnsafeMutablePointer<T>, dTheta: UnsafeMutablePointer<T>, sourceOut: [T]) -> T {
            let alg = synth.algorithm, loop = alg.loop
            let (src, dst) = alg.feedback
            let g = feedbackGain, twoPi = T(2 * Double.pi)
            var dGain: T = 0
            // The chain, source (lowest) first: each operator's phase gradient feeds the one above.
            let rows = loop.reversed().map { (dOut + $0 * n, dTheta + $0 * n, s.row(s.level, $0), s.row(s.theta, $0)) }
            let dDstTheta = dTheta + dst * n, dSrcOut = dOut + src * n
            for i in stride(from: n - 1, through: 0, by: -1) {
                if i + 1 < n { dSrcOut[i] += g * dDstTheta[i + 1] }
                var below: T = 0
                for (j, (dO, dT, lv, th)) in rows.enumerated() {
                    let d = dO[i] + (j == 0 ? 0 : below)
                    dO[i] = d
                    below = d * lv[i] * twoPi * cosTwoPi(th[i])
                    dT[i] = below
                }
                if i > 0 { dGain += dDstTheta[i] * sourceOut[i - 1] }
            }
            // Modulators outside the loop receive the loop operators' phase gradients.
            for op in loop {
                let dT = dTheta + op * n
                for j in alg.modulators[op] where !loop.contains(j) {
                    let dm = dOut + j * n
                    for i in 0..<n { dm[i] += dT[i] }
                }
            }
            return dGain
        }
    }
}
