import DSP
import Foundation
@testable import Matching
import Synths
import XCTest

final class EnvelopeLossTests: XCTestCase {
    /// A signal against itself at twice the amplitude: every frame is 6.02 dB louder, up to the
    /// floor's share, which the closed form includes; a partial last frame counts like the others.
    func testGainChangeIsItsDecibels() {
        var rng = CounterRandom(key: 4)
        let x = (0..<1050).map { _ in rng.normal() }
        let loss = EnvelopeLoss(frameLength: 100)
        let value = loss.values(AudioBatch(rows: [x.map { 2 * $0 }]), AudioBatch(rows: [x]))[0]
        let frames = stride(from: 0, to: x.count, by: 100).map { lo -> Double in
            let part = x[lo..<min(lo + 100, x.count)]
            return part.reduce(0) { $0 + $1 * $1 } / Double(part.count)
        }
        let floor = frames.max()! * 1e-8
        let expected = frames.map { 10 * log10((4 * $0 + floor) / ($0 + floor)) }.reduce(0, +) / Double(frames.count)
        XCTAssertEqual(value, expected, accuracy: 1e-12)
        XCTAssertEqual(value, 20 * log10(2), accuracy: 1e-6)
        XCTAssertEqual(loss.values(AudioBatch(rows: [x]), AudioBatch(rows: [x]))[0], 0)
    }

    /// Silence against a tone costs the tone's level over the floor (80 dB), and still has a
    /// gradient (the floor is added, not clamped).
    func testSilentPredictionCostsTheFloorAndHasAGradient() {
        let x = (0..<400).map { Double(sin(0.2 * Double($0))) }
        let loss = EnvelopeLoss(frameLength: 40)
        let silent = [Double](repeating: 1e-9, count: 400)
        let (v, g) = loss.valuesWithGradient(AudioBatch(rows: [silent]), AudioBatch(rows: [x]))
        let power = stride(from: 0, to: 400, by: 40).map { lo in x[lo..<(lo + 40)].reduce(0) { $0 + $1 * $1 } / 40 }
        let floor = power.max()! * 1e-8
        let expected = power.map { 10 * log10(($0 + floor) / (1e-18 + floor)) }.reduce(0, +) / 10
        XCTAssertEqual(v[0], expected, accuracy: 1e-9)
        XCTAssertEqual(v[0], 80, accuracy: 1, "the loudest frame is 80 dB above the floor")
        XCTAssertTrue(g.samples.allSatisfy { $0 < 0 }, "more level lowers the loss")
    }

    func testGradientMatchesFiniteDifferences() {
        var rng = CounterRandom(key: 11)
        let n = 257
        let x = (0..<n).map { i in rng.normal() * exp(-Double(i) / 600) }, y = (0..<n).map { _ in rng.normal() * 0.3 }
        for loss in [EnvelopeLoss(frameLength: 16), EnvelopeLoss(frameLength: 50, floorDB: 40)] {
            let report = GradientCheck.check(at: x, step: 1e-6, function: { v in
                [loss.values(AudioBatch(rows: [v]), AudioBatch(rows: [y]))[0]]
            }, vectorJacobianProduct: { v, w in
                loss.valuesWithGradient(AudioBatch(rows: [v]), AudioBatch(rows: [y])).gradient.samples.map { $0 * w[0] }
            })
            XCTAssertLessThan(report.relativeError, 1e-6, "\(report)")
        }
    }

    /// The objective is the spectral loss plus the weighted envelope loss, value and gradient,
    /// item by item.
    func testObjectiveAddsTheWeightedTerms() {
        var rng = CounterRandom(key: 12)
        let x = AudioBatch(rows: (0..<2).map { _ in (0..<600).map { _ in rng.normal() } })
        let y = AudioBatch(rows: (0..<2).map { _ in (0..<600).map { _ in 0.5 * rng.normal() } })
        let spectral = MultiScaleSpectralLoss.ddsp(fftSizes: [256, 64]), envelope = EnvelopeLoss(frameLength: 60)
        let objective = MatchObjective(spectral: spectral, envelope: envelope, envelopeWeight: 0.3)
        let (v, g) = objective.valuesWithGradient(x, y)
        let (vs, gs) = spectral.valuesWithGradient(x, y), (ve, ge) = envelope.valuesWithGradient(x, y)
        for b in 0..<2 { XCTAssertEqual(v[b], vs[b] + 0.3 * ve[b], accuracy: 1e-9 * v[b]) }
        for i in g.samples.indices { XCTAssertEqual(g.samples[i], gs.samples[i] + 0.3 * ge.samples[i], accuracy: 1e-12) }
        XCTAssertEqual(objective.values(x, y), v)
    }

    /// Weight 0 is the spectral loss exactly (the refinement before the envelope term).
    func testZeroWeightIsTheSpectralLoss() {
        let x = AudioBatch(rows: [(0..<600).map { Float(sin(0.05 * Double($0))) }])
        let y = AudioBatch(rows: [(0..<600).map { Float(0.5 * sin(0.07 * Double($0))) }])
        var options = MatchOptions()
        options.loss = .ddsp(fftSizes: [256, 64])
        options.envelopeWeight = 0
        XCTAssertEqual(options.objective(sampleRate: 16000).values(x, y), options.loss.values(x, y))
    }
}

final class PitchFallbackTests: XCTestCase {
    /// An FM point whose whole-number ratios sound an octave above the note (carrier 1 at ratio 2
    /// and loud, carrier 3 at ratio 1 but nearly silent): the match also starts a restart from
    /// the ratios halved and returns a point that sounds at the note.
    func testOctaveUpRatiosFallBackToTheNote() throws {
        let synth = FMSynth(algorithm: 5)
        let specs = synth.parameters
        func index(_ name: String) -> Int { specs.firstIndex { $0.name == name }! }
        var start = Controls<Float>(defaultsFor: synth.layout(frameCount: 1), batchSize: 1).values
        let physical: [String: Double] = ["op1_ratio": 2, "op2_ratio": 2, "op3_ratio": 1, "op4_ratio": 2, "op5_ratio": 4, "op6_ratio": 4,
                                          "op1_level": 0.9, "op2_level": 0.05, "op3_level": 0.02, "op4_level": 0.05, "op5_level": 0.3,
                                          "op6_level": 0.05, "feedback": 0, "f0": 220]
        for (name, v) in physical { start[index(name)] = Float(specs[index(name)].normalised(v)) }
        let n = 8000
        let heard = try XCTUnwrap(HarmonicRatios.heardPitch(of: HarmonicRatios.render(HarmonicRatios.snap(start, specs: specs), synth: synth, sampleCount: n),
                                                                    sampleRate: synth.sampleRate))
        XCTAssertEqual(1200 * log2(heard / 220), 1200, accuracy: 50, "the test's start must sound an octave up")

        let target = (0..<n).map { i in Float(0.3 * sin(2 * Double.pi * 220 * Double(i) / 16000) + 0.2 * sin(2 * Double.pi * 440 * Double(i) / 16000)) }
        var options = MatchOptions()
        options.steps = 6
        options.restarts = 3
        options.learningRate = 1e-6   // the points stay where they start: the choice is the pitch check's
        options.perturbation = 0
        options.loss = .ddsp(fftSizes: [512, 128])
        options.pinned = ["f0": 220]
        options.initial = start
        let result = Matcher.match(target: target, synth: synth, estimator: nil, options: options)
        XCTAssertEqual(result.restartBests.count, 3)
        let pitch = try XCTUnwrap(try NoteAnalysis.analyse(result.audio, sampleRate: 16000).f0)
        XCTAssertLessThan(abs(1200 * log2(pitch / 220)), 50)
        XCTAssertEqual(Double(specs[index("op1_ratio")].physical(Double(result.best.values[index("op1_ratio")]))), 1, accuracy: 1e-4)
        // Without a pitch to hold there is nothing to check: the lowest loss wins.
        options.pinned = [:]
        let unpitched = Matcher.match(target: target, synth: synth, estimator: nil, options: options)
        XCTAssertEqual(unpitched.bestLoss, unpitched.restartBests.map(\.loss).min()!, accuracy: 1e-9)
    }

    func testSnapDividedByAMultiple() {
        let synth = FMSynth(algorithm: 5)
        var values = Controls<Float>(defaultsFor: synth.layout(frameCount: 1), batchSize: 1).values
        for op in 1...6 {
            let q = synth.parameters.firstIndex { $0.name == "op\(op)_ratio" }!
            values[q] = Float(synth.parameters[q].normalised([2, 6, 3, 1, 4, 7.2][op - 1]))
        }
        let snapped = HarmonicRatios.snap(values, specs: synth.parameters, dividedBy: 2)
        let ratios = (1...6).map { op -> Double in
            let q = synth.parameters.firstIndex { $0.name == "op\(op)_ratio" }!
            return synth.parameters[q].physical(Double(snapped[q]))
        }
        // 1, 3, 1.5 -> 2 (half away from zero), 0.5 -> 1, 2, 3.6 -> 4, then no common divisor.
        for (r, expected) in zip(ratios, [1.0, 3, 2, 1, 2, 4]) { XCTAssertEqual(r, expected, accuracy: 1e-4) }
    }
}
