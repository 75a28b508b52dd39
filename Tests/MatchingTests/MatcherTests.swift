import DSP
import Foundation
@testable import Matching
import Synths
import XCTest

final class MatcherTests: XCTestCase {
    func signal(_ n: Int, gain: Float = 1) -> [Float] {
        (0..<n).map { i -> Float in
            let t = Double(i)
            let s: Double = 0.3 * sin(t * 0.11) + 0.2 * sin(t * 0.37) + 0.05 * sin(t * 1.3)
            return gain * Float(s)
        }
    }

    func testMetricsOfIdenticalSignalsAreZero() {
        let x = signal(8000)
        let m = MatchMetrics.measure(x, x, sampleRate: 16000)
        XCTAssertEqual(m.spectral, 0, accuracy: 1e-9)
        XCTAssertEqual(m.logSpectral, 0, accuracy: 1e-9)
        XCTAssertEqual(m.melCepstral, 0, accuracy: 1e-9)
    }

    /// A gain of 2 raises every bin's power by 10 log10(4) = 6.02 dB (LSD), and only shifts
    /// the log-mel curve by a constant, which lives in c0 alone (MCD leaves c0 out). White
    /// noise keeps every bin far above the distances' floors.
    func testMetricsAgainstClosedFormsForAGainChange() {
        let rng = CounterRandom(key: 9)
        let x: [Float] = (0..<8000).map { 0.1 * rng.signedUniform(at: UInt64($0)) }
        let y = x.map { 2 * $0 }
        let m = MatchMetrics.measure(y, x, sampleRate: 16000)
        XCTAssertEqual(m.logSpectral, 10 * log10(4.0), accuracy: 0.02)
        XCTAssertEqual(m.melCepstral, 0, accuracy: 0.05)
        XCTAssertGreaterThan(m.spectral, 0)
    }

    /// Refinement from random starts (the pitch given, as `match` gives it from the pitch
    /// tracker) recovers a tone of the synth it matches with, and the reported best is the
    /// lowest loss any restart reached.
    func testRefinementLowersTheLossAndKeepsTheBest() throws {
        let synth = SubtractiveSynth()
        let layout = ControlLayout(parameters: synth.parameters, frameCount: 1)
        let truth = Controls<Float>(defaultsFor: layout, batchSize: 1)
        let n = 2048
        let target = synth.render(truth, RenderRequest(sampleCount: n)).samples
        var options = MatchOptions()
        options.steps = 40
        options.restarts = 3
        options.learningRate = 0.05
        options.loss = .ddsp(fftSizes: [512, 128, 64])
        options.pinned = ["f0": synth.parameters[0].physical(Double(truth.values[0]))]
        let result = Matcher.match(target: target, synth: synth, estimator: nil, options: options)
        XCTAssertEqual(result.history.count, 41)
        XCTAssertEqual(result.best.values[0], truth.values[0], accuracy: 1e-6, "f0 stays pinned")
        let firstBest = result.history[0].min()!
        // (Descent from random starts is slow on this non-convex loss: that is what the
        // estimator is for. Here it only has to make progress.)
        XCTAssertLessThan(result.bestLoss, Double(firstBest) * 0.9)
        XCTAssertEqual(result.bestLoss, Double(result.history.joined().min()!), accuracy: 1e-6)
        // The returned audio is the best controls rendered, and scores the best loss (the
        // objective: spectral + envelope terms).
        let again = options.objective(sampleRate: synth.sampleRate).values(AudioBatch(batchSize: 1, sampleCount: n, samples: result.audio),
                                        AudioBatch(batchSize: 1, sampleCount: n, samples: target))[0]
        XCTAssertEqual(Double(again), result.bestLoss, accuracy: 1e-4 * result.bestLoss)
    }

    /// The time budget (`match --time-limit`) stops the refinement before its steps, and the
    /// result says how many were taken.
    func testTimeBudgetStopsEarlyAndCountsSteps() {
        let synth = SubtractiveSynth()
        let target = signal(4096)
        var options = MatchOptions()
        options.steps = 100_000
        options.restarts = 2
        options.loss = .ddsp(fftSizes: [512, 128])
        options.timeBudget = 0.3
        let result = Matcher.match(target: target, synth: synth, estimator: nil, options: options)
        XCTAssertGreaterThan(result.stepsTaken, 0)
        XCTAssertLessThan(result.stepsTaken, 100_000)
        XCTAssertEqual(result.history.count, result.stepsTaken + 1, "one row per step, and the final point")
        XCTAssertLessThan(result.seconds, 3)
        options.timeBudget = nil
        options.steps = 7
        XCTAssertEqual(Matcher.match(target: target, synth: synth, estimator: nil, options: options).stepsTaken, 7)
    }

    /// With a model, restart 0 starts at the estimate and the estimate's loss is reported;
    /// the result is never worse than the estimate.
    func testRefinementStartsFromTheEstimate() throws {
        let synth = SubtractiveSynth()
        let untrained = try tinyEstimator(for: synth, sampleCount: 4096, seed: 3)
        let target = signal(4096)
        var estimator = untrained
        estimator.fitFeatureStatistics(AudioBatch(batchSize: 1, sampleCount: 4096, samples: target))
        var options = MatchOptions()
        options.steps = 10
        options.restarts = 2
        options.loss = .ddsp(fftSizes: [1024, 256, 64])
        let result = Matcher.match(target: target, synth: synth, estimator: estimator, options: options)
        let estimateLoss = try XCTUnwrap(result.estimateLoss)
        XCTAssertEqual(Double(result.history[0][0]), estimateLoss, accuracy: 1e-4 * estimateLoss)
        XCTAssertLessThanOrEqual(result.bestLoss, estimateLoss)
    }
}

final class JointMatcherTests: XCTestCase {
    /// Two notes of one preset at A3 and E4 (own pitch and key release each): joint refinement
    /// from random starts lowers the mean loss, keeps each note's pinned values, shares the rest,
    /// and renders each note at its own length.
    func testSharesTimbreAcrossNotesAndKeepsEachPitch() {
        let synth = SubtractiveSynth()
        let layout = synth.layout(frameCount: 1)
        var notes: [JointMatcher.Note] = []
        for (hz, off, n) in [(220.0, 0.05, 2048), (329.63, 0.08, 2600)] {
            var c = Controls<Float>(defaultsFor: layout, batchSize: 1)
            c.set(item: 0, parameter: 0, to: Float(synth.parameters[0].normalised(hz)))
            c.set(item: 0, parameter: 16, to: Float(synth.parameters[16].normalised(off)))
            notes.append(.init(samples: synth.render(c, RenderRequest(sampleCount: n)).samples, pinned: ["f0": hz, "note_off": off]))
        }
        var options = MatchOptions()
        options.steps = 40
        options.restarts = 2
        options.loss = .ddsp(fftSizes: [512, 128, 64])
        let result = JointMatcher.match(notes: notes, synth: synth, estimator: nil, options: options)
        XCTAssertEqual(result.history.count, 41)
        XCTAssertLessThan(result.bestLoss, Double(result.history[0].min()!) * 0.9)
        XCTAssertEqual(result.bestLoss, Double(result.history.joined().min()!), accuracy: 1e-6)
        XCTAssertEqual(result.audio.map(\.count), [2048, 2600])
        XCTAssertEqual(result.noteLosses.count, 2)
        // Note 2 is note 1's preset with its own pitch and key release.
        var second = result.best
        second[0] = Float(synth.parameters[0].normalised(329.63))
        second[16] = Float(synth.parameters[16].normalised(0.08))
        XCTAssertEqual(result.audio[1], synth.render(Controls(layout: layout, batchSize: 1, values: second), RenderRequest(sampleCount: 2600)).samples)
        XCTAssertEqual(Double(result.best[0]), synth.parameters[0].normalised(220), accuracy: 1e-6)
    }

    func testFMJointPresetIsHarmonic() {
        let synth = FMSynth(algorithm: 5)
        let notes = [220.0, 330.0].map { hz in
            JointMatcher.Note(samples: (0..<2500).map { Float(0.3 * sin(2 * Double.pi * hz * Double($0) / 16000)) }, pinned: ["f0": hz, "note_off": 1])
        }
        var options = MatchOptions()
        options.steps = 15
        options.restarts = 2
        options.loss = .ddsp(fftSizes: [512, 128])
        let result = JointMatcher.match(notes: notes, synth: synth, estimator: nil, options: options)
        XCTAssertEqual(result.history.count, 10 + 1 + 5 + 1)
        for (q, spec) in synth.parameters.enumerated() where spec.name.hasSuffix("_ratio") || spec.name.hasSuffix("_detune") {
            let v = spec.physical(Double(result.best[q]))
            XCTAssertEqual(v, spec.name.hasSuffix("_ratio") ? v.rounded() : 0, accuracy: 1e-3, spec.name)
        }
    }
}

final class HarmonicRatioTests: XCTestCase {
    /// FM matches keep whole-number operator ratios with no common divisor and no detune, so
    /// they sound at the pinned f0; the history covers both phases.
    func testFMMatchEndsHarmonicAtTheNote() throws {
        let synth = FMSynth(algorithm: 5)
        let target = (0..<3000).map { i in Float(0.3 * sin(2 * Double.pi * 220 * Double(i) / 16000) + 0.1 * sin(2 * Double.pi * 660 * Double(i) / 16000)) }
        var options = MatchOptions()
        options.steps = 30
        options.restarts = 2
        options.loss = .ddsp(fftSizes: [512, 128])
        options.pinned = ["f0": 220]
        let result = Matcher.match(target: target, synth: synth, estimator: nil, options: options)
        XCTAssertEqual(result.history.count, 20 + 1 + 10 + 1)
        var ratios: [Int] = []
        for (q, spec) in synth.parameters.enumerated() {
            let v = spec.physical(Double(result.best.values[q]))
            if spec.name.hasSuffix("_ratio") {
                XCTAssertEqual(v, v.rounded(), accuracy: 1e-3, spec.name)
                ratios.append(Int(v.rounded()))
            }
            if spec.name.hasSuffix("_detune") { XCTAssertEqual(v, 0, accuracy: 1e-4, spec.name) }
        }
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        XCTAssertEqual(ratios.reduce(0, gcd), 1)
        let pitch = try XCTUnwrap(try NoteAnalysis.analyse(result.audio, sampleRate: 16000).f0)
        XCTAssertLessThan(abs(1200 * log2(pitch / 220)), 50)
    }

    func testSnapDividesACommonFactor() {
        let synth = FMSynth(algorithm: 5)
        var values = Controls<Float>(defaultsFor: synth.layout(frameCount: 1), batchSize: 1).values
        for op in 1...6 {
            let q = synth.parameters.firstIndex { $0.name == "op\(op)_ratio" }!
            values[q] = Float(synth.parameters[q].normalised([2.1, 3.9, 6.2, 2, 4, 8][op - 1]))
        }
        let snapped = HarmonicRatios.snap(values, specs: synth.parameters)
        let ratios = (1...6).map { op -> Double in
            let q = synth.parameters.firstIndex { $0.name == "op\(op)_ratio" }!
            return synth.parameters[q].physical(Double(snapped[q]))
        }
        for (r, expected) in zip(ratios, [1.0, 2, 3, 1, 2, 4]) { XCTAssertEqual(r, expected, accuracy: 1e-4) }
    }
}
