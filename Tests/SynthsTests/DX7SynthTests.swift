import DSP
@testable import Synths
import XCTest

/// The differentiable `dx7` module: exact gradients (float64 finite differences over whole notes
/// with release and feedback), the same sound as the engine emulation at integer settings, and
/// export to patches that round-trip.
final class DX7SynthTests: XCTestCase {
    /// Random controls with feedback on and the key released inside the render.
    func controls(_ synth: DX7Synth, seed: UInt64, noteOff: Double) -> Controls<Double> {
        var c = GradientCheck.randomControls(layout: synth.layout(frameCount: 1), batchSize: 1, seed: seed)
        c.set(item: 0, parameter: 1, to: 0.3 + 0.6 * c[item: 0, parameter: 1, frame: 0])
        c.set(item: 0, parameter: 2, to: synth.parameters[2].normalised(noteOff))
        c.set(item: 0, parameter: 0, to: synth.parameters[0].normalised(150 + 200 * c[item: 0, parameter: 0, frame: 0]))
        return c
    }

    func testGradientsMatchFiniteDifferencesOverWholeNotes() {
        for (algorithm, seed) in [(1, UInt64(3)), (4, 5), (32, 7), (18, 9)] {
            let synth = DX7Synth(sampleRate: 16000, algorithm: algorithm)
            let c = controls(synth, seed: seed, noteOff: 0.09)
            let report = GradientCheck.check(synth: synth, controls: c, request: RenderRequest(sampleCount: 2400),
                                             coordinates: Array(0..<synth.parameters.count), step: 1e-7)
            XCTAssertLessThan(report.relativeError, 1e-4, "algorithm \(algorithm): \(report)")
        }
    }

    func testAnyControlsGiveFiniteRendersAndNoTrap() {
        // Every corner of the normalised box, and random points: renders stay finite. (Gradients
        // can overflow where feedback is chaotic: 3000 samples of a loop multiplying them by
        // ~(2 pi x index)^3 each; the refinement's ControlFit handles that, see ControlFitTests.)
        let synth = DX7Synth(sampleRate: 16000, algorithm: 4)
        let layout = synth.layout(frameCount: 1)
        var points: [[Double]] = [[Double](repeating: 0, count: layout.stride), [Double](repeating: 1, count: layout.stride)]
        var rng = CounterRandom(key: 77)
        for _ in 0..<20 { points.append((0..<layout.stride).map { _ in [0, 1, rng.unit()][Int(rng.next() % 3)] }) }
        for values in points {
            let c = Controls<Double>(layout: layout, batchSize: 1, values: values)
            let (audio, pullback) = synth.valueWithPullback(c, RenderRequest(sampleCount: 3000))
            XCTAssertTrue(audio.samples.allSatisfy(\.isFinite))
            _ = pullback(AudioBatch(batchSize: 1, sampleCount: 3000, samples: audio.samples))
        }
        // A NaN control (a diverged optimiser elsewhere) does not trap.
        for p in [0, 1, 2, 3, 4, 5, 6, 10] {
            var nan = Controls<Double>(defaultsFor: layout, batchSize: 1)
            nan.set(item: 0, parameter: p, to: .nan)
            _ = synth.valueWithPullback(nan, RenderRequest(sampleCount: 256)).pullback(AudioBatch(zeros: 1, sampleCount: 256))
        }
    }

    func testIntegerSettingsPlayLikeTheEngine() throws {
        // Random integer patches (neutral where the module has no parameter): the module and the
        // engine emulation differ only where a stage ends inside a block.
        var rng = CounterRandom(key: 41)
        var worstMedian = 0.0
        for v in 0..<6 {
            let synth = DX7Synth(sampleRate: 16000, algorithm: [1, 5, 8, 16, 22, 32][v])
            var values: [String: Double] = ["f0": 261.63, "feedback": Double(rng.next() % 8), "note_off": 0.25]
            for op in 1...6 {
                values["op\(op)_output_level"] = Double(60 + rng.next() % 40)
                values["op\(op)_ratio"] = DX7Law.ratio(coarse: Int(rng.next() % 4), fine: Int(rng.next() % 100))
                values["op\(op)_detune"] = Double(Int(rng.next() % 15) - 7)
                for i in 1...4 { values["op\(op)_rate\(i)"] = Double(30 + rng.next() % 70); values["op\(op)_level\(i)"] = Double(rng.next() % 100) }
                values["op\(op)_level1"] = 99
            }
            let (patch, note) = try synth.patch(from: values, name: "TEST \(v)")
            let engine = DX7Voice(patch, sampleRate: 16000).render(note: note, noteOff: 0.25, duration: 0.5)
            let controls: Controls<Float> = try SynthPreset(family: "dx7", name: "test", module: synth.name, summary: "", values: values)
                .controls(synth.layout(frameCount: 1))
            let module = synth.render(controls, RenderRequest(sampleCount: 8000)).samples
            var diffs: [Double] = []
            for b in 1..<(8000 / 64) {
                func level(_ x: [Float]) -> Double {
                    10 * log10(x[(b * 64)..<(b * 64 + 64)].reduce(0.0) { $0 + 2 * Double($1) * Double($1) } / 64 + 1e-20)
                }
                let e = level(engine)
                if e > -50 { diffs.append(abs(level(module) - e)) }
            }
            diffs.sort()
            let median = diffs.isEmpty ? 0 : diffs[diffs.count / 2]
            worstMedian = max(worstMedian, median)
            XCTAssertLessThan(median, 0.5, "voice \(v): median block level difference \(median) dB")
        }
        print("dx7 module vs engine emulation: worst median block level difference \(worstMedian) dB")
    }

    func testExportRoundsToTheNearestDX7Settings() throws {
        XCTAssertTrue(DX7Synth.coarseAndFine(nearest: 3) == (3, 0))
        XCTAssertTrue(DX7Synth.coarseAndFine(nearest: 0.5) == (0, 0))
        XCTAssertTrue(DX7Synth.coarseAndFine(nearest: 1.011) == (1, 1))
        let (c, f) = DX7Synth.coarseAndFine(nearest: 14.2)
        XCTAssertEqual(DX7Law.ratio(coarse: c, fine: f), 14.2, accuracy: 1e-9)
        let synth = DX7Synth(algorithm: 5)
        var values = Dictionary(uniqueKeysWithValues: synth.parameters.map { ($0.name, $0.defaultValue) })
        values["op2_ratio"] = 3.47
        values["op3_output_level"] = 71.6
        values["feedback"] = 6.4
        values["f0"] = 446
        let (patch, note) = try synth.patch(from: values, name: "MATCH")
        XCTAssertEqual(note, 69)
        XCTAssertEqual(patch.algorithm, 5)
        XCTAssertEqual(patch.value("feedback"), 6)
        XCTAssertEqual(patch.value("output_level", operator: 3), 72)
        XCTAssertEqual(DX7Law.ratio(coarse: patch.value("coarse", operator: 2), fine: patch.value("fine", operator: 2)), 3.48, accuracy: 1e-9)
        // Back through the sysex codec and into the module: the same settings, rounded.
        let decoded = try DX7Sysex.decode(DX7Sysex.encodeVoice(patch), context: "match")[0]
        let back = DX7Synth.values(of: decoded, note: note)
        XCTAssertTrue(back.unmodelled.isEmpty, "\(back.unmodelled)")
        XCTAssertEqual(back.values["op3_output_level"], 72)
        XCTAssertEqual(back.values["op2_ratio"]!, 3.48, accuracy: 1e-9)
        XCTAssertEqual(back.values["f0"]!, 440, accuracy: 0.01)
    }
}

/// The `dx7` module proper: the algorithm is a categorical parameter.
final class DX7ChoosesAlgorithmTests: XCTestCase {
    func testEachChoicePlaysAsTheFixedAlgorithmModuleWithTheSameGradients() throws {
        let any = try XCTUnwrap(try SynthRegistry.make("dx7") as? DX7Synth)
        XCTAssertTrue(any.choosesAlgorithm)
        XCTAssertEqual(any.parameters.last?.name, "algorithm")
        XCTAssertEqual(any.parameters.count, DX7Synth(algorithm: 1).parameters.count + 1)
        for (algorithm, seed) in [(1, UInt64(11)), (4, 12), (17, 13), (32, 14)] {
            let fixed = DX7Synth(sampleRate: 16000, algorithm: algorithm)
            var c = GradientCheck.randomControls(layout: fixed.layout(frameCount: 1), batchSize: 1, seed: seed)
            c.set(item: 0, parameter: 1, to: 0.5)
            var values = c.values
            values.append(any.parameters.last!.normalised(Double(algorithm)))
            let chosen = Controls<Double>(layout: any.layout(frameCount: 1), batchSize: 1, values: values)
            let request = RenderRequest(sampleCount: 1500)
            let (a, pullA) = fixed.valueWithPullback(c, request)
            let (b, pullB) = any.valueWithPullback(chosen, request)
            XCTAssertEqual(a.samples, b.samples, "algorithm \(algorithm)")
            let gA = pullA(a).values, gB = pullB(b).values
            XCTAssertEqual(Array(gB.dropLast()), gA, "algorithm \(algorithm)")
            XCTAssertEqual(gB.last, 0, "a choice has no gradient")
        }
        // Exported with the chosen algorithm.
        var physical = Dictionary(uniqueKeysWithValues: any.parameters.map { ($0.name, $0.defaultValue) })
        physical["algorithm"] = 22
        XCTAssertEqual(try any.patch(from: physical, name: "CHOICE").patch.algorithm, 22)
        physical["algorithm"] = nil
        XCTAssertThrowsError(try any.patch(from: physical, name: "CHOICE"))
        // The gradient test of every other parameter, on the module that chooses.
        var c = GradientCheck.randomControls(layout: any.layout(frameCount: 1), batchSize: 1, seed: 21)
        c.set(item: 0, parameter: any.parameters.count - 1, to: any.parameters.last!.normalised(7))
        c.set(item: 0, parameter: 2, to: any.parameters[2].normalised(0.0913))
        let report = GradientCheck.check(synth: any, controls: c, request: RenderRequest(sampleCount: 2000),
                                         coordinates: Array(0..<any.parameters.count), step: 1e-7)
        XCTAssertLessThan(report.relativeError, 1e-4, "\(report)")
    }
}
