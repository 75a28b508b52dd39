import DSP
import RealModule

/// The `dx7` module: a DX7 voice (one algorithm) whose settings are real numbers, for matching by
/// gradients. Per operator: output level, frequency ratio, detune, four EG rates and four EG
/// levels, each on the DX7's own scale (0...99, ratio 0.5...61.69, detune -7...+7); voice-wide:
/// the note's f0, feedback 0...7 and the key release time. Every law is the DX7's as Dexed
/// plays it (`DX7Law`), relaxed to be continuous between integer settings (`DX7Relaxation`), so
/// `DX7PatchExport` rounds a match to a patch that plays what the matcher heard.
///
/// Not parameters here (fixed at their neutral values, and written so in an exported patch):
/// keyboard level and rate scaling, velocity sensitivity, amplitude-modulation sensitivity,
/// fixed-frequency mode, the pitch EG and the LFO.
///
/// The `dx7` module proper chooses the algorithm per note as well (`choosesAlgorithm`: a
/// categorical `algorithm` parameter, last in the list): the estimator classifies it and the
/// refinement keeps each start's algorithm (a choice has no gradient); `dx7-algN` fix it.
///
/// The forward pass and the exact adjoint run in float64 per item (phases multiply f0 by the
/// sample index; the envelope carries its Jacobian forward, `DX7ContinuousEnvelope`).
public struct DX7Synth: Synth {
    public let name: String
    public let sampleRate: Double
    /// The algorithm (the default one when `choosesAlgorithm`).
    public let algorithm: DX7Algorithm
    /// Whether the algorithm is a parameter (`algorithm`, 1...32, categorical) instead of fixed.
    public let choosesAlgorithm: Bool
    public let parameters: [ParameterSpec]

    public static let f0Range: ClosedRange<Double> = 20...4000
    /// Coarse 0 (0.5) to coarse 31 with fine 99 (61.69): every ratio a DX7 plays.
    public static let ratioRange: ClosedRange<Double> = 0.5...61.69
    static let operatorStride = 11
    /// Offsets inside an operator's block.
    enum Field { static let outputLevel = 0, ratio = 1, detune = 2, rate = 3, level = 7 }
    static func base(_ op: Int) -> Int { 3 + (op - 1) * operatorStride }

    /// `dx7-alg1` ... `dx7-alg32`.
    public static let algorithmVariants = SynthRegistry.Variants(
        pattern: "dx7-alg1...dx7-alg32", summary: "the dx7 module on DX7 algorithm N"
    ) { name, sampleRate in
        guard name.hasPrefix("dx7-alg"), let n = Int(name.dropFirst(7)), (1...32).contains(n) else { return nil }
        return DX7Synth(sampleRate: sampleRate, algorithm: n)
    }

    public init(sampleRate: Double = 16000, algorithm: Int = 1, choosesAlgorithm: Bool = false, name: String? = nil) {
        self.algorithm = DX7Algorithm.number(algorithm)
        self.choosesAlgorithm = choosesAlgorithm
        self.name = name ?? "dx7-alg\(algorithm)"
        self.sampleRate = sampleRate
        var specs = [
            ParameterSpec("f0", unit: "Hz", range: Self.f0Range, scale: .logarithmic, default: 261.63, meaning: "the note's fundamental (a MIDI note on export)"),
            ParameterSpec("feedback", range: 0...7, default: 0, meaning: "DX7 feedback 0...7 on the algorithm's feedback operator"),
            ADSR.noteOffParameter(),
        ]
        for op in 1...6 {
            let carrier = self.algorithm.carriers.contains(op)
            specs += [
                ParameterSpec("op\(op)_output_level", range: 0...99, default: carrier ? 90 : 60,
                              meaning: "operator \(op) output level 0...99 (0.75 dB per step above 20)"),
                ParameterSpec("op\(op)_ratio", range: Self.ratioRange, scale: .logarithmic, default: 1,
                              meaning: "operator \(op) frequency ratio (coarse x (1 + fine/100) on export)"),
                ParameterSpec("op\(op)_detune", range: -7...7, default: 0, meaning: "operator \(op) detune -7...+7"),
            ]
            for (i, r) in [99.0, 70, 60, 60].enumerated() {
                specs.append(ParameterSpec("op\(op)_rate\(i + 1)", range: 0...99, default: r, meaning: "operator \(op) EG rate \(i + 1) (0 slow ... 99 fast)"))
            }
            for (i, l) in [99.0, 85, 75, 0].enumerated() {
                specs.append(ParameterSpec("op\(op)_level\(i + 1)", range: 0...99, default: l, meaning: "operator \(op) EG level \(i + 1) 0...99"))
            }
        }
        if choosesAlgorithm {
            specs.append(ParameterSpec("algorithm", range: 1...32, scale: .categorical, default: Double(algorithm),
                                       meaning: "DX7 algorithm 1...32 (a choice: classified by the estimator, kept by the refinement)"))
        }
        parameters = specs
    }

    /// The algorithm of one item: its `algorithm` control, or the module's fixed one.
    func algorithm(physical: [Double]) -> DX7Algorithm {
        let a = physical[parameters.count - 1]
        guard choosesAlgorithm, a.isFinite else { return algorithm }
        return DX7Algorithm.number(min(max(Int(a), 1), 32))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func render<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>) {
        renderEachItem(controls, request, into: &audio) { b, out in
            let voice = Voice(self, controls, item: b, sampleCount: request.sampleCount)
            let state = voice.forward(keep: false)
            for i in 0..<voice.n { out[i] = T(state.output[i]) }
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valueWithPullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest)
        -> (value: AudioBatch<T>, pullback: (AudioBatch<T>) -> Controls<T>) {
        renderThenPullback(controls, request) { [self] c, r, dAudio in
            pullbackEachItem(c, r, dAudio) { b, dy, g in
                Voice(self, c, item: b, sampleCount: r.sampleCount).backward(dy, into: g)
            }
        }
    }
}

extension DX7Synth {
    /// Everything one note's render and adjoint need, in float64.
    struct Voice {
        let synth: DX7Synth
        let algorithm: DX7Algorithm
        let n: Int
        let physical: [Double], slope: [Double]
        /// Phase increment (cycles per sample) of each operator, index 1...6.
        var increments = [Double](repeating: 0, count: 7)
        /// Levels (steps) at block ends with derivatives with respect to (output level, EG
        /// levels 1-4, rates 1-4, note-off), index 1...6.
        var envelopes: [[Dual]] = [[]]
        let feedback: (value: Double, slope: Double)

        static let tangentOutputLevel = 0, tangentLevel = 1, tangentRate = 5, tangentNoteOff = 9

        init<T: SynthScalar>(_ synth: DX7Synth, _ controls: Controls<T>, item b: Int, sampleCount: Int) {
            self.synth = synth
            n = sampleCount
            (physical, slope) = globalValues(synth.parameters, controls, item: b)
            algorithm = synth.algorithm(physical: physical)
            let f0 = physical[0], log2f0 = Double.log2(f0)
            feedback = DX7Relaxation.feedbackScale(physical[1], algorithm: algorithm.number)
            var noteOff = Dual(physical[2]); noteOff.d[Self.tangentNoteOff] = 1
            let blocks = (n + DX7Law.blockSize - 1) / DX7Law.blockSize
            for op in 1...6 {
                let o = DX7Synth.base(op)
                let detune = DX7Relaxation.detuneOctaves(log2Hz: log2f0, detune: physical[o + Field.detune]).value
                increments[op] = f0 * physical[o + Field.ratio] * Double.exp2(detune) / synth.sampleRate
                let term = DX7Relaxation.outputTerm(physical[o + Field.outputLevel])
                var targets: [Dual] = [], speeds: [Dual] = []
                for i in 0..<4 {
                    let eg = DX7Relaxation.egLevel(physical[o + Field.level + i])
                    var t = Dual(eg.value + term.value - 4256)
                    if t.v > 16 {
                        t.d[Self.tangentLevel + i] = eg.slope
                        t.d[Self.tangentOutputLevel] = term.slope
                    } else {
                        t = Dual(16)
                    }
                    targets.append(t)
                    let s = DX7Relaxation.speed(physical[o + Field.rate + i])
                    var speed = Dual(s.value)
                    speed.d[Self.tangentRate + i] = s.value * Double.log(2) * s.log2Slope
                    speeds.append(speed)
                }
                envelopes.append(DX7ContinuousEnvelope(targets: targets, speeds: speeds, noteOff: noteOff)
                    .levels(blockSeconds: Double(DX7Law.blockSize) / synth.sampleRate, count: blocks))
            }
        }

        /// Where sample `i` sits in its block: the block and the weight of the block's end level
        /// (the level ramps linearly in the log domain across each block, from 0 steps before the
        /// first, as the engine does).
        @inline(__always)
        func position(_ i: Int) -> (block: Int, weight: Double) {
            let b = i / DX7Law.blockSize
            return (b, Double(i - b * DX7Law.blockSize + 1) / Double(DX7Law.blockSize))
        }

        struct State {
            var output: [Double]
            /// Per operator (row op, index 1...6): gain, phase argument (cycles) and output of every sample.
            var gain: [[Double]], theta: [[Double]], y: [[Double]]
        }

        func forward(keep: Bool) -> State {
            let alg = algorithm
            let rows = { keep ? [[Double]](repeating: [Double](repeating: 0, count: n), count: 7) : [] }
            var s = State(output: [Double](repeating: 0, count: n), gain: rows(), theta: rows(), y: rows())
            var y = [Double](repeating: 0, count: 7)
            let (src, dst) = alg.feedback
            var past = (0.0, 0.0)   // the feedback source's outputs at n-2 and n-1
            let carriers = (1...6).map { alg.carriers.contains($0) }
            // Within a block the level ramps linearly in the log domain, so the gain is a
            // geometric sequence: one multiplication per sample instead of an exp2.
            var gain = [Double](repeating: 0, count: 7), growth = [Double](repeating: 1, count: 7)
            for i in 0..<n {
                if i % DX7Law.blockSize == 0 {
                    let b = i / DX7Law.blockSize
                    for op in 1...6 {
                        let start = b == 0 ? 0 : envelopes[op][b - 1].v, end = envelopes[op][b].v
                        gain[op] = Double.exp2(start / 256 - 14)
                        growth[op] = Double.exp2((end - start) / (256 * Double(DX7Law.blockSize)))
                    }
                }
                var sample = 0.0
                for op in stride(from: 6, through: 1, by: -1) {
                    var m = 0.0
                    for j in alg.modulators[op] { m += y[j] }
                    if op == dst { m += (past.0 + past.1) * feedback.value }
                    let x = Double(i) * increments[op]
                    let theta = (x - x.rounded(.down)) + m
                    gain[op] *= growth[op]
                    let g = gain[op]
                    y[op] = g * sinTwoPi(theta)
                    if keep { s.gain[op][i] = g; s.theta[op][i] = theta; s.y[op][i] = y[op] }
                    if carriers[op - 1] { sample += y[op] / 2 }
                }
                past = (past.1, y[src])
                s.output[i] = sample
            }
            return s
        }

        /// dL/d(normalised parameters) for dL/d(output) `dy`, accumulated into `g`.
        func backward<T: SynthScalar>(_ dy: UnsafeMutablePointer<T>, into g: UnsafeMutablePointer<T>) {
            let s = forward(keep: true)
            let alg = algorithm
            let (src, dst) = alg.feedback
            let carriers = (1...6).map { alg.carriers.contains($0) }
            var dyOp = [Double](repeating: 0, count: 7)          // dL/dy_op at the current sample
            var pendingOne = 0.0, pendingTwo = 0.0               // dL/dy_src owed to samples n-1, n-2
            var dIncrement = [Double](repeating: 0, count: 7)
            var dFeedbackScale = 0.0
            let blocks = envelopes[1].count
            var dLevel = [[Double]](repeating: [Double](repeating: 0, count: blocks), count: 7)
            for i in stride(from: n - 1, through: 0, by: -1) {
                for op in 1...6 { dyOp[op] = carriers[op - 1] ? Double(dy[i]) / 2 : 0 }
                dyOp[src] += pendingOne
                pendingOne = pendingTwo; pendingTwo = 0
                for op in 1...6 {
                    let gain = s.gain[op][i], theta = s.theta[op][i]
                    let dGain = dyOp[op] * sinTwoPi(theta)
                    let dTheta = dyOp[op] * gain * cosTwoPi(theta) * 2 * Double.pi
                    for j in alg.modulators[op] { dyOp[j] += dTheta }
                    if op == dst && i > 0 {
                        // m_dst[i] uses y_src[i-1] and y_src[i-2].
                        let y1 = s.y[src][i - 1], y2 = i > 1 ? s.y[src][i - 2] : 0
                        dFeedbackScale += dTheta * (y1 + y2)
                        pendingOne += dTheta * feedback.value
                        pendingTwo += dTheta * feedback.value
                    }
                    dIncrement[op] += dTheta * Double(i)
                    // Gain = 2^(level/256 - 14): dL/dlevel, spread over the block's two ends.
                    let dl = dGain * gain * Double.log(2) / 256
                    let (b, w) = position(i)
                    dLevel[op][b] += dl * w
                    if b > 0 { dLevel[op][b - 1] += dl * (1 - w) }
                }
            }
            var d = [Double](repeating: 0, count: synth.parameters.count)
            d[1] = dFeedbackScale * feedback.slope
            let f0 = physical[0], log2f0 = Double.log2(f0)
            for op in 1...6 {
                let o = DX7Synth.base(op)
                var tangent = SIMD16<Double>.zero
                for (b, e) in envelopes[op].enumerated() where dLevel[op][b] != 0 { tangent += e.d * dLevel[op][b] }
                d[o + Field.outputLevel] += tangent[Self.tangentOutputLevel]
                for k in 0..<4 {
                    d[o + Field.level + k] += tangent[Self.tangentLevel + k]
                    d[o + Field.rate + k] += tangent[Self.tangentRate + k]
                }
                d[2] += tangent[Self.tangentNoteOff]
                // increment = f0 ratio 2^detune(log2 f0, detune) / rate.
                let detune = DX7Relaxation.detuneOctaves(log2Hz: log2f0, detune: physical[o + Field.detune])
                let dLogIncrement = dIncrement[op] * increments[op]      // dL/d(ln increment)
                d[o + Field.ratio] += dLogIncrement / physical[o + Field.ratio]
                d[o + Field.detune] += dLogIncrement * Double.log(2) * detune.dDetune
                d[0] += dLogIncrement * (1 / f0 + Double.log(2) * detune.dLog2Hz / (f0 * Double.log(2)))
            }
            for p in 0..<d.count { g[p] += T(d[p] * slope[p]) }     // every parameter is global: offset p
        }
    }
}
