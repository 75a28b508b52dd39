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
/// (they vectorise, with the branch-free `sinTwoPi`), one pass per operator. The loop's
/// operators run sample by sample, forwards and then backwards: the recursion cannot vectorise
/// over time, so up to eight notes run it side by side in the lanes of one vector instead
/// (`FeedbackLanes`); a note whose feedback is 0 has no recursion and runs its loop
/// element-wise. Every path gives a note exactly what it gets alone (`FMTests`).
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
        renderEachGroup(controls, request, into: &audio, maximumSize: Self.laneCount) { items, out in
            for state in forward(controls, items: items, sampleCount: request.sampleCount, mixingInto: out) { state.deallocate() }
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
        renderEachGroup(controls, request, into: &audio, maximumSize: Self.laneCount) { items, out in
            for (k, state) in forward(controls, items: items, sampleCount: request.sampleCount, mixingInto: out).enumerated() {
                states.store(state, at: items.lowerBound + k)
            }
        }
        return (audio, { [self] dAudio in
            pullbackEachGroup(controls, request, dAudio, maximumSize: Self.laneCount) { items, dy, g in
                backward(controls, items: items, sampleCount: request.sampleCount, cotangents: dy, into: g,
                         states: items.map { states[$0]! })
            }
        })
    }

    /// The pullback that recomputes each note's forward state instead of reusing the one
    /// `valueWithPullback` kept: the reference `FMTests` holds the kept-state path to, bit for bit.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func pullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, _ dAudio: AudioBatch<T>) -> Controls<T> {
        pullbackEachGroup(controls, request, dAudio, maximumSize: Self.laneCount) { items, dy, g in
            let states = forward(controls, items: items, sampleCount: request.sampleCount)
            backward(controls, items: items, sampleCount: request.sampleCount, cotangents: dy, into: g, states: states)
            for state in states { state.deallocate() }
        }
    }

    /// Forward states of a group of notes: each note's operators above the feedback loop, then
    /// the loops of all of them side by side (`FeedbackLanes`), then the operators below; and,
    /// given `output` (the group's first row), each note's mix into its row. A note whose
    /// feedback is 0 has no recursion: its loop runs element-wise over the note.
    func forward<T: SynthScalar>(_ controls: Controls<T>, items: Range<Int>, sampleCount n: Int,
                                 mixingInto output: UnsafeMutablePointer<T>? = nil) -> [State<T>] {
        let voices = items.map { Voice(self, controls, item: $0, sampleCount: n) }
        let states = voices.map { $0.forwardAboveLoop() }
        let recursive = voices.indices.filter { voices[$0].feedbackGain != 0 }
        if !recursive.isEmpty { FeedbackLanes(voices: recursive.map { voices[$0] }, states: recursive.map { states[$0] }).forward() }
        for (k, (voice, state)) in zip(voices, states).enumerated() {
            if voice.feedbackGain == 0 { voice.forwardLoopWithoutFeedback(state) }
            voice.forwardBelowLoop(state)
            if let output { voice.mix(state, into: output + k * n) }
        }
        return states
    }

    /// Adds the gradients of a group of notes into rows `g`, `g + stride`, ... (cotangent rows
    /// `dy`, `dy + n`, ...): each note's operators below the loop, the loops side by side, the rest.
    func backward<T: SynthScalar>(_ controls: Controls<T>, items: Range<Int>, sampleCount n: Int,
                                  cotangents dy: UnsafeMutablePointer<T>, into g: UnsafeMutablePointer<T>, states: [State<T>]) {
        let voices = items.map { Voice(self, controls, item: $0, sampleCount: n) }
        let adjoints = voices.indices.map { voices[$0].backwardBelowLoop(dy + $0 * n, state: states[$0]) }
        var gains = voices.indices.map { voices[$0].feedbackGain == 0 ? voices[$0].backwardLoopWithoutFeedback(adjoints[$0], states[$0]) : 0 }
        let recursive = voices.indices.filter { voices[$0].feedbackGain != 0 }
        if !recursive.isEmpty {
            let lanes = FeedbackLanes(voices: recursive.map { voices[$0] }, states: recursive.map { states[$0] })
            for (k, gain) in zip(recursive, lanes.backward(recursive.map { adjoints[$0] })) { gains[k] = gain }
        }
        for k in voices.indices {
            voices[k].finishBackward(adjoints[k], feedbackGradient: gains[k], state: states[k], into: g + k * controls.layout.stride)
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

        /// Starts a note's forward state: every operator's level, the loop operators' phase
        /// ramps, the operators above the feedback loop (forward order is descending:
        /// modulators have higher numbers), and their modulation added to the loop's phases.
        func forwardAboveLoop() -> State<T> {
            let s = State<T>(sampleCount: n)
            let alg = synth.algorithm, loop = alg.loop
            for op in 1...6 {
                synth.envelope.render(envelopes[op], sampleRate: synth.sampleRate, count: n, into: s.row(s.level, op))
            }
            for op in stride(from: 6, to: loop[0], by: -1) { forwardOperator(op, s) }
            for op in loop {
                let th = s.row(s.theta, op), inc = increments[op]
                for i in 0..<n { th[i] = Self.phase(i, inc) }
                for j in alg.modulators[op] where !loop.contains(j) {
                    let m = s.row(s.out, j)
                    for i in 0..<n { th[i] += m[i] }
                }
            }
            return s
        }

        /// The loop of a note whose feedback is 0, element-wise (it vectorises over time): the
        /// arithmetic of the recursion with its feedback term left out, which adds exactly
        /// zero there (a phase is never -0), so the result is the recursion's, bit for bit.
        func forwardLoopWithoutFeedback(_ s: State<T>) {
            let loop = synth.algorithm.loop
            for (j, op) in loop.enumerated() {
                let th = s.row(s.theta, op), lv = s.row(s.level, op), out = s.row(s.out, op)
                if j == 0 {
                    for i in 0..<n { out[i] = lv[i] * sinTwoPi(th[i]) }
                } else {
                    let above = s.row(s.out, loop[j - 1])
                    for i in 0..<n {
                        let x = th[i] + above[i]
                        th[i] = x
                        out[i] = lv[i] * sinTwoPi(x)
                    }
                }
            }
        }

        /// Completes the forward state once the loop has run: the operators below it.
        func forwardBelowLoop(_ s: State<T>) {
            let loop = synth.algorithm.loop
            for op in stride(from: loop.last! - 1, through: 1, by: -1) { forwardOperator(op, s) }
        }

        /// The phase ramp in cycles, `(i + 1) inc` reduced to [-1/2, 1/2] (sin is periodic),
        /// in float64: `inc` multiplies f0 by ratios up to 16, and the sample index multiplies
        /// that, so float32 would move late samples' phases by ~1e-4 cycles.
        /// (The index goes through Int32, whose conversion to float64 vectorises on AVX2; a
        /// 64-bit one does not. Notes are far shorter than 2^31 samples.)
        @inline(__always)
        static func phase(_ i: Int, _ inc: Double) -> T {
            let x = Double(Int32(truncatingIfNeeded: i &+ 1)) * inc
            return T(x - roundedToNearest(x))
        }

        /// An operator off the loop, element-wise over the note (it vectorises): phase ramp plus
        /// modulators, then the sine, in one pass for up to two modulators (every DX7 operator
        /// off a loop has at most two); the same sums in the same order as one pass per term.
        func forwardOperator(_ op: Int, _ s: State<T>) {
            let th = s.row(s.theta, op), lv = s.row(s.level, op), out = s.row(s.out, op), inc = increments[op]
            let modulators = synth.algorithm.modulators[op].map { s.row(s.out, $0) }
            switch modulators.count {
            case 0:
                for i in 0..<n {
                    let x = Self.phase(i, inc)
                    th[i] = x
                    out[i] = lv[i] * sinTwoPi(x)
                }
            case 1:
                let m = modulators[0]
                for i in 0..<n {
                    let x = Self.phase(i, inc) + m[i]
                    th[i] = x
                    out[i] = lv[i] * sinTwoPi(x)
                }
            case 2:
                let m0 = modulators[0], m1 = modulators[1]
                for i in 0..<n {
                    let x = (Self.phase(i, inc) + m0[i]) + m1[i]
                    th[i] = x
                    out[i] = lv[i] * sinTwoPi(x)
                }
            default:
                for i in 0..<n { th[i] = Self.phase(i, inc) }
                for m in modulators {
                    for i in 0..<n { th[i] += m[i] }
                }
                for i in 0..<n { out[i] = lv[i] * sinTwoPi(th[i]) }
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

        /// The backward pass's buffers: dL/d(operator output) and dL/d(phase argument), a row per
        /// operator (index 0 unused).
        struct Adjoint {
            let dOut: UnsafeMutablePointer<T>, dTheta: UnsafeMutablePointer<T>
        }

        /// Starts the backward pass: seeds the carriers with dL/dy and runs the operators below
        /// the loop (ascending: the reverse of the forward order).
        func backwardBelowLoop(_ dy: UnsafeMutablePointer<T>, state s: State<T>) -> Adjoint {
            let alg = synth.algorithm
            let a = Adjoint(dOut: .allocate(capacity: 7 * n), dTheta: .allocate(capacity: 7 * n))
            // Carriers' rows start as dL/dy; the others accumulate from zero.
            let scale = 1 / T(alg.carriers.count)
            for op in 1...6 {
                let d = a.dOut + op * n
                if alg.carriers.contains(op) {
                    for i in 0..<n { d[i] = scale * dy[i] }
                } else {
                    d.initialize(repeating: 0, count: n)
                }
            }
            for op in 1..<alg.loop.last! { backwardOperator(op, a, s) }
            return a
        }

        /// `FeedbackLanes.backward` for a note whose feedback is 0, element-wise over time; the
        /// feedback gain's gradient is still owed (it is not zero at zero feedback) and summed
        /// in the recursion's order, latest sample first. Returns it.
        func backwardLoopWithoutFeedback(_ a: Adjoint, _ s: State<T>) -> T {
            let alg = synth.algorithm, chain = Array(alg.loop.reversed())
            let twoPi = T(2 * Double.pi)
            for (j, op) in chain.enumerated() {
                let dO = a.dOut + op * n, dT = a.dTheta + op * n, lv = s.row(s.level, op), th = s.row(s.theta, op)
                if j == 0 {
                    for i in 0..<n {
                        let d = dO[i] + 0   // as the recursion (its zero feedback term included)
                        dO[i] = d
                        dT[i] = d * lv[i] * twoPi * cosTwoPi(th[i])
                    }
                } else {
                    let below = a.dTheta + chain[j - 1] * n
                    for i in 0..<n {
                        let d = dO[i] + below[i]
                        dO[i] = d
                        dT[i] = d * lv[i] * twoPi * cosTwoPi(th[i])
                    }
                }
            }
            let dDestination = a.dTheta + alg.feedback.destination * n, sourceOut = s.row(s.out, alg.feedback.source)
            var dGain: T = 0
            for i in stride(from: n - 1, to: 0, by: -1) { dGain += dDestination[i] * sourceOut[i - 1] }
            return dGain
        }

        /// An operator off the loop, in one pass: its phase gradient, passed on to its
        /// modulators, and dL/d(level), which replaces dL/d(output) in its row (read by
        /// `finishBackward`; nothing else reads an operator's row once its phase gradient is known).
        func backwardOperator(_ op: Int, _ a: Adjoint, _ s: State<T>) {
            let twoPi = T(2 * Double.pi)
            let th = s.row(s.theta, op), lv = s.row(s.level, op), dO = a.dOut + op * n, dT = a.dTheta + op * n
            let modulators = synth.algorithm.modulators[op].map { a.dOut + $0 * n }
            switch modulators.count {
            case 0:
                for i in 0..<n {
                    let d = dO[i]
                    dT[i] = d * lv[i] * twoPi * cosTwoPi(th[i])
                    dO[i] = d * sinTwoPi(th[i])
                }
            case 1:
                let m = modulators[0]
                for i in 0..<n {
                    let d = dO[i], t = d * lv[i] * twoPi * cosTwoPi(th[i])
                    dT[i] = t
                    m[i] += t
                    dO[i] = d * sinTwoPi(th[i])
                }
            default:
                for i in 0..<n {
                    let d = dO[i]
                    dT[i] = d * lv[i] * twoPi * cosTwoPi(th[i])
                    dO[i] = d * sinTwoPi(th[i])
                }
                for m in modulators {
                    for i in 0..<n { m[i] += dT[i] }
                }
            }
        }

        /// Ends the backward pass once the loop has run: the operators above it, then levels
        /// (through each operator's envelope) and phase increments; adds dL/d(normalised
        /// controls) into `g` and frees the buffers.
        func finishBackward(_ a: Adjoint, feedbackGradient dFeedbackGain: T, state s: State<T>, into g: UnsafeMutablePointer<T>) {
            let alg = synth.algorithm
            let dOut = a.dOut, dTheta = a.dTheta
            defer { dOut.deallocate(); dTheta.deallocate() }
            // Modulators outside the loop receive the loop operators' phase gradients.
            let loop = alg.loop
            for op in loop {
                let dT = dTheta + op * n
                for j in alg.modulators[op] where !loop.contains(j) {
                    let dm = dOut + j * n
                    for i in 0..<n { dm[i] += dT[i] }
                }
            }
            for op in stride(from: loop[0] + 1, through: 6, by: 1) { backwardOperator(op, a, s) }
            let dLevelOfLoop = UnsafeMutablePointer<T>.allocate(capacity: n)
            defer { dLevelOfLoop.deallocate() }
            var d = [T](repeating: 0, count: synth.parameters.count)
            let f0 = Double(value[0])
            var dF0 = 0.0
            for op in 1...6 {
                let dT = dTheta + op * n
                var dLevel = dOut + op * n   // off the loop, `backwardOperator` left dL/d(level) there
                if loop.contains(op) {
                    let th = s.row(s.theta, op), dO = dOut + op * n
                    dLevel = dLevelOfLoop
                    for i in 0..<n { dLevel[i] = dO[i] * sinTwoPi(th[i]) }
                }
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

    }
}
