import DSP
@testable import Synths
import XCTest

final class FMTests: XCTestCase {
    func testAlgorithmTableHasTheDX7CarrierCountsAndFeedbackOperators() {
        let carriers = [2, 2, 2, 2, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 3, 3, 4, 4, 4, 5, 5, 3, 3, 3, 4, 4, 5, 6]
        let feedback = [6, 2, 6, 4, 6, 5, 6, 4, 2, 3, 6, 2, 6, 6, 2, 6, 2, 3, 6, 3, 3, 6, 6, 6, 6, 6, 3, 5, 6, 5, 6, 6]
        XCTAssertEqual(DX7Algorithm.all.map(\.carriers.count), carriers)
        XCTAssertEqual(DX7Algorithm.all.map(\.feedback.source), feedback)
        XCTAssertEqual(DX7Algorithm.number(4).loop, [6, 5, 4])
        XCTAssertEqual(DX7Algorithm.number(6).loop, [6, 5])
        XCTAssertEqual(DX7Algorithm.number(1).carriers, [1, 3])
        XCTAssertEqual(DX7Algorithm.number(16).modulators[1].sorted(), [2, 3, 5])
        XCTAssertEqual(DX7Algorithm.number(22).modulators.map { $0.sorted() }, [[], [2], [], [6], [6], [6], []])
    }

    func testFastSineIsAccurate() {
        var worst = 0.0
        for i in 0..<20001 {
            let x = -5 + Double(i) * 0.0005
            worst = max(worst, abs(sinTwoPi(x) - Double.sin(2 * Double.pi * x)), abs(cosTwoPi(x) - Double.cos(2 * Double.pi * x)))
        }
        XCTAssertLessThan(worst, 1e-10)
        XCTAssertLessThan(abs(sinTwoPi(Float(0.125)) - Float(0.5.squareRoot())), 2e-7)
    }

    /// Physical values for every parameter: random within each range, or as given.
    func controls(_ synth: FMSynth, seed: UInt64, _ fixed: [String: Double] = [:]) -> Controls<Double> {
        var c = GradientCheck.randomControls(layout: synth.layout(frameCount: 1), batchSize: 1, seed: seed, range: 0.1...0.9)
        for (name, v) in fixed {
            let p = synth.parameters.firstIndex { $0.name == name }!
            c.set(item: 0, parameter: p, to: synth.parameters[p].normalised(v))
        }
        return c
    }

    /// A plain per-sample simulation of the DX7 graph with libm's sine, written from the
    /// definition (operators 6 down to 1, feedback from the previous sample).
    func naiveRender(_ synth: FMSynth, _ c: Controls<Double>, samples n: Int) -> [Double] {
        var physical: [String: Double] = [:]
        for (p, spec) in synth.parameters.enumerated() { physical[spec.name] = spec.physical(c[item: 0, parameter: p, frame: 0]) }
        func v(_ name: String) -> Double { physical[name]! }
        let alg = synth.algorithm
        var out = [[Double]](repeating: [Double](repeating: 0, count: n), count: 7)
        var y = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let t = Double(i) / synth.sampleRate
            for op in stride(from: 6, through: 1, by: -1) {
                let ratio = synth.fixedRatios?[op - 1] ?? v("op\(op)_ratio")
                let f = v("f0") * ratio * Double.exp2(v("op\(op)_detune") / 1200)
                var theta = Double(i + 1) * f / synth.sampleRate
                for (a, b) in alg.edges where b == op { theta += out[a][i] }
                if op == alg.feedback.destination, i > 0 { theta += v("feedback") / 2 * out[alg.feedback.source][i - 1] }
                let env = ADSR().value(at: t, ADSRValues(attack: v("op\(op)_attack"), decay: v("op\(op)_decay"), sustain: v("op\(op)_sustain"),
                                                         release: v("op\(op)_release"), noteOff: v("note_off"), peak: v("op\(op)_level")))
                out[op][i] = env * Double.sin(2 * Double.pi * theta)
            }
            y[i] = alg.carriers.reduce(0) { $0 + out[$1][i] } / Double(alg.carriers.count)
        }
        return y
    }

    func testEveryAlgorithmMatchesAPlainSimulation() {
        for alg in 1...32 {
            let synth = FMSynth(sampleRate: 16000, algorithm: alg)
            // Feedback 0.4: at high feedback the recursion turns chaotic (as on the DX7) and any
            // rounding difference grows without bound, so no two implementations agree.
            let c = controls(synth, seed: UInt64(alg), ["feedback": 0.4, "note_off": 0.045])
            let y = synth.render(c, RenderRequest(sampleCount: 1200)).samples
            let reference = naiveRender(synth, c, samples: 1200)
            let worst = zip(y, reference).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-9, "algorithm \(alg)")
            XCTAssertGreaterThan(reference.map(abs).max()!, 0.02, "algorithm \(alg): near-silent test note")
        }
    }

    func testTwoOperatorStackHasTheClosedForm() {
        // Algorithm 5 with only the op2 -> op1 stack sounding: y = L1 sin(2 pi (p1 + L2 sin(2 pi p2))) / 3.
        let synth = FMSynth(sampleRate: 16000, algorithm: 5, fixedRatios: [1, 3, 1, 1, 1, 1])
        var fixed: [String: Double] = ["f0": 200, "feedback": 0, "note_off": 1]
        for op in 1...6 {
            fixed["op\(op)_level"] = [0.9, 0.4, 0, 0, 0, 0][op - 1]
            fixed["op\(op)_attack"] = 0.001; fixed["op\(op)_sustain"] = 1; fixed["op\(op)_detune"] = 0
        }
        let y = synth.render(controls(synth, seed: 1, fixed), RenderRequest(sampleCount: 800)).samples
        for n in 16..<800 {
            let p = Double(n + 1) * 200 / 16000
            XCTAssertEqual(y[n], 0.9 * Double.sin(2 * Double.pi * (p + 0.4 * Double.sin(2 * Double.pi * 3 * p))) / 3, accuracy: 1e-10)
        }
    }

    func testGradientsMatchFiniteDifferences() {
        // Algorithms with self feedback (1, 18), the multi-operator loops (4, 6), all carriers
        // (32), and a fixed-ratio module: every parameter.
        for synth in [FMSynth(algorithm: 1), FMSynth(algorithm: 4), FMSynth(algorithm: 6), FMSynth(algorithm: 18), FMSynth(algorithm: 32),
                      FMSynth(algorithm: 2, fixedRatios: [1, 1, 1, 1, 3, 14])] {
            // Note-off inside the 500 samples, so the release's gradients are checked too.
            let c = controls(synth, seed: UInt64(synth.algorithm.number), ["feedback": 0.45, "note_off": 0.0201234])
            // A 5e-9 step: f0 moves every phase by up to n ratio f0 du / sr, so the central difference
            // converges slowly to the adjoint (alg4: relative error 0.19, 0.0075, 0.0003 at steps
            // 1e-6, 1e-7, 2e-8; the ratio-14 operator of alg2: 0.0036 at 1e-6).
            let report = GradientCheck.check(synth: synth, controls: c, request: RenderRequest(sampleCount: 500), step: 5e-9)
            XCTAssertLessThan(report.relativeError, 1e-4, "\(synth.name): \(report)")
        }
        let exponential = FMSynth(algorithm: 4, envelopeShape: .exponential(2))
        let report = GradientCheck.check(synth: exponential, controls: controls(exponential, seed: 3, ["feedback": 0.3, "note_off": 0.0151234]), request: RenderRequest(sampleCount: 400))
        XCTAssertLessThan(report.relativeError, 1e-4, "\(report)")
    }

    func testGradientsOfEveryAlgorithmOnASubset() {
        for alg in 1...32 {
            let synth = FMSynth(algorithm: alg)
            let c = controls(synth, seed: UInt64(100 + alg), ["feedback": 0.45])
            let others: [Int] = (0..<10).map { (k: Int) -> Int in 3 + (alg * 7 + k * 4) % 42 }
            let report = GradientCheck.check(synth: synth, controls: c, request: RenderRequest(sampleCount: 300),
                                             coordinates: [0, 1, 2] + others)
            XCTAssertLessThan(report.relativeError, 1e-4, "algorithm \(alg): \(report)")
        }
    }

    func testDeterministicAndBatchIndependent() {
        SynthConformance.assertDeterministicAndBatchIndependent(FMSynth(algorithm: 4), frames: 1, samples: 900)
    }

    func testPresetsRenderFiniteAndAudible() throws {
        for preset in PresetLibrary.all {
            let synth = try SynthRegistry.make(preset.module)
            let c: Controls<Float> = try preset.controls(synth.layout(frameCount: 1))
            let y = synth.render(c, RenderRequest(sampleCount: 16000)).samples
            XCTAssertTrue(y.allSatisfy(\.isFinite), preset.name)
            let rms = (y.reduce(0) { $0 + $1 * $1 } / Float(y.count)).squareRoot()
            XCTAssertGreaterThan(rms, 0.01, "\(preset.family)/\(preset.name) is near silent")
            XCTAssertLessThan(y.map(abs).max()!, 1.5, "\(preset.family)/\(preset.name) is too loud")
        }
        XCTAssertThrowsError(try PresetLibrary.find(synth: "fm", preset: "kazoo")) { XCTAssertTrue("\($0)".contains("epiano")) }
    }

    /// The pullback reuses the forward states kept by `valueWithPullback`: it must give exactly
    /// what recomputing them gives (bit for bit, float32 as the product runs), including on
    /// algorithms whose feedback loop spans operators, and stay valid when called twice.
    func testStoredForwardStateGivesTheRecomputedGradient() {
        for algorithm in [1, 4, 6, 32] {
            let fm = FMSynth(sampleRate: 16000, algorithm: algorithm)
            let controls = GradientCheck.randomControls(layout: fm.layout(frameCount: 1), batchSize: 3, seed: UInt64(algorithm))
                .converted(to: Float.self)
            let request = RenderRequest(sampleCount: 2000)
            var rng = CounterRandom(seed: 5, index: UInt64(algorithm))
            let dy = AudioBatch<Float>(batchSize: 3, sampleCount: 2000, samples: (0..<6000).map { _ in Float(rng.normal()) })
            let (audio, pullback) = fm.valueWithPullback(controls, request)
            XCTAssertEqual(audio, fm.render(controls, request), "algorithm \(algorithm)")
            // Bit patterns, so that equal NaNs compare equal too.
            let stored = pullback(dy).values.map(\.bitPattern)
            XCTAssertEqual(stored, fm.pullback(controls, request, dy).values.map(\.bitPattern), "algorithm \(algorithm)")
            XCTAssertEqual(pullback(dy).values.map(\.bitPattern), stored, "algorithm \(algorithm): second call")
        }
    }

    /// Up to eight notes run their feedback loops side by side in the lanes of one vector
    /// (`FMSynth.FeedbackLanes`), in groups that follow the batch size and the thread count.
    /// Every note must get exactly what it gets alone (bit for bit, outputs and gradients),
    /// whatever the grouping: one thread (groups of 5 and 6 here), two threads, and a batch
    /// larger than the lanes (groups of 6 and 7); notes of different lengths than a block.
    func testNotesInVectorLanesGetWhatTheyGetAlone() {
        let saved = Parallelism.threadCount
        defer { Parallelism.threadCount = saved }
        for (algorithm, batch, samples) in [(1, 11, 700), (4, 13, 513), (6, 11, 256), (18, 3, 1), (32, 9, 1000)] {
            let fm = FMSynth(sampleRate: 16000, algorithm: algorithm)
            let controls = GradientCheck.randomControls(layout: fm.layout(frameCount: 1), batchSize: batch, seed: UInt64(40 + algorithm))
                .converted(to: Float.self)
            let request = RenderRequest(sampleCount: samples)
            var rng = CounterRandom(seed: 6, index: UInt64(algorithm))
            let dy = AudioBatch<Float>(batchSize: batch, sampleCount: samples, samples: (0..<(batch * samples)).map { _ in Float(rng.normal()) })
            var alone: [(audio: [Float], gradient: [UInt32])] = []
            Parallelism.threadCount = 1
            for b in 0..<batch {
                let (audio, pullback) = fm.valueWithPullback(controls.item(b), RenderRequest(sampleCount: samples))
                alone.append((audio.samples, pullback(AudioBatch(rows: [dy.item(b)])).values.map(\.bitPattern)))
            }
            for threads in [1, 2] {
                Parallelism.threadCount = threads
                let (audio, pullback) = fm.valueWithPullback(controls, request)
                let gradient = pullback(dy)
                XCTAssertTrue(audio == fm.render(controls, request), "algorithm \(algorithm), \(threads) thread(s): render")
                for b in 0..<batch {
                    XCTAssertTrue(audio.item(b) == alone[b].audio, "algorithm \(algorithm), item \(b), \(threads) thread(s): output")
                    XCTAssertTrue(gradient.item(b).values.map(\.bitPattern) == alone[b].gradient,
                                  "algorithm \(algorithm), item \(b), \(threads) thread(s): gradient")
                }
            }
        }
    }

    /// A note whose feedback is 0 skips the recursion and runs its loop element-wise: the same
    /// phases, outputs, adjoints and feedback gradient as the recursion, bit for bit (compared
    /// directly, single-operator and chained loops), and the same note in a batch with
    /// recursive ones gets what it gets alone.
    func testNotesWithoutFeedbackGetTheRecursionsResult() {
        for algorithm in [1, 4, 6, 32] {
            let fm = FMSynth(sampleRate: 16000, algorithm: algorithm)
            var controls = GradientCheck.randomControls(layout: fm.layout(frameCount: 1), batchSize: 1, seed: UInt64(70 + algorithm))
                .converted(to: Float.self)
            controls.set(item: 0, parameter: fm.layout(frameCount: 1).index(of: "feedback")!, to: 0)
            let n = 777
            let voice = FMSynth.Voice(fm, controls, item: 0, sampleCount: n)
            XCTAssertEqual(voice.feedbackGain, 0)
            let recursion = voice.forwardAboveLoop(), elementwise = voice.forwardAboveLoop()
            FMSynth.FeedbackLanes(voices: [voice], states: [recursion]).forward()
            voice.forwardLoopWithoutFeedback(elementwise)
            for s in [recursion, elementwise] { voice.forwardBelowLoop(s) }
            func bits(_ p: UnsafeMutablePointer<Float>) -> [UInt32] { (n..<(7 * n)).map { p[$0].bitPattern } }   // operators 1...6
            XCTAssertTrue(bits(recursion.theta) == bits(elementwise.theta), "algorithm \(algorithm): phases")
            XCTAssertTrue(bits(recursion.out) == bits(elementwise.out), "algorithm \(algorithm): outputs")
            var rng = CounterRandom(seed: 8, index: UInt64(algorithm))
            var dy = (0..<n).map { _ in Float(rng.normal()) }
            dy.withUnsafeMutableBufferPointer { dy in
                let a1 = voice.backwardBelowLoop(dy.baseAddress!, state: recursion), a2 = voice.backwardBelowLoop(dy.baseAddress!, state: elementwise)
                let g1 = FMSynth.FeedbackLanes(voices: [voice], states: [recursion]).backward([a1])[0]
                let g2 = voice.backwardLoopWithoutFeedback(a2, elementwise)
                XCTAssertEqual(g1.bitPattern, g2.bitPattern, "algorithm \(algorithm): feedback gradient")
                XCTAssertNotEqual(g1, 0, "algorithm \(algorithm): the feedback gradient at 0 is not 0")
                for op in fm.algorithm.loop {
                    XCTAssertTrue((0..<n).map { a1.dOut[op * n + $0].bitPattern } == (0..<n).map { a2.dOut[op * n + $0].bitPattern }, "algorithm \(algorithm) op \(op)")
                    XCTAssertTrue((0..<n).map { a1.dTheta[op * n + $0].bitPattern } == (0..<n).map { a2.dTheta[op * n + $0].bitPattern }, "algorithm \(algorithm) op \(op)")
                }
                var scratch = [Float](repeating: 0, count: fm.parameters.count)
                for (a, s) in [(a1, recursion), (a2, elementwise)] { voice.finishBackward(a, feedbackGradient: 0, state: s, into: &scratch) }
            }
            for s in [recursion, elementwise] { s.deallocate() }
        }
        // Mixed in a batch: the zero-feedback notes take the element-wise path, the others the lanes.
        let fm = FMSynth(sampleRate: 16000, algorithm: 4)
        let layout = fm.layout(frameCount: 1)
        var mixed = GradientCheck.randomControls(layout: layout, batchSize: 6, seed: 77).converted(to: Float.self)
        for b in [0, 3, 4] { mixed.set(item: b, parameter: layout.index(of: "feedback")!, to: 0) }
        let request = RenderRequest(sampleCount: 600)
        let dy = AudioBatch<Float>(batchSize: 6, sampleCount: 600, samples: (0..<3600).map { Float(sin(Double($0) * 0.21)) })
        let (audio, pullback) = fm.valueWithPullback(mixed, request)
        let gradient = pullback(dy)
        for b in 0..<6 {
            let (alone, p1) = fm.valueWithPullback(mixed.item(b), RenderRequest(sampleCount: 600))
            XCTAssertTrue(alone.samples == audio.item(b), "item \(b): output")
            XCTAssertTrue(p1(AudioBatch(rows: [dy.item(b)])).values.map(\.bitPattern) == gradient.item(b).values.map(\.bitPattern), "item \(b): gradient")
        }
    }
}
