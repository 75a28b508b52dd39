import DSP
@testable import Synths
import XCTest

final class WavetableTests: XCTestCase {
    /// Controls putting (almost) all weight on table `k` with amplitude `a` and constant f0.
    func controls(_ synth: WavetableSynth, frames: Int, table k: Int, amplitude a: Double, f0: Double) -> Controls<Double> {
        var c = Controls<Double>(defaultsFor: synth.layout(frameCount: frames), batchSize: 1)
        c.set(item: 0, parameter: 0, to: a)
        for j in 0..<synth.tableCount { c.set(item: 0, parameter: 1 + j, to: j == k ? 1 : 0) }
        c.set(item: 0, parameter: synth.f0Index, to: synth.parameters[synth.f0Index].normalised(f0))
        return c
    }

    func testSineTableReadsASineWithExclusivePhase() {
        for (interpolation, tolerance) in [(WavetableSynth.Interpolation.linear, 2e-5), (.cubic, 2e-7)] {
            // Default learnable table 1 is one sine cycle; logits +-8 leave 2 * e^-16 of weight on the other.
            let synth = WavetableSynth(tables: .learnable(count: 2), interpolation: interpolation)
            let y = synth.render(controls(synth, frames: 4, table: 0, amplitude: 0.8, f0: 441), RenderRequest(sampleCount: 800)).samples
            let pi1 = 1 / (1 + Double.exp(-16))
            for n in 0..<800 {
                let p = Double(n) * 441 / 16000
                let other = 0.8 * (1 - pi1) * Double.sin(4 * Double.pi * p)
                XCTAssertEqual(y[n], 0.8 * pi1 * Double.sin(2 * Double.pi * p) + other, accuracy: tolerance, "\(interpolation) sample \(n)")
            }
        }
    }

    func testFixedTablesAreBandLimitedPerOctave() {
        let synth = WavetableSynth(tables: .fixed(WavetableSynth.basicShapes()), interpolation: .cubic)
        // f0 = 1500 Hz reads the level for [1280, 2560) Hz: harmonics up to 8000 / 2560 -> 3.
        let n = 3200
        let y = synth.render(controls(synth, frames: 4, table: 2, amplitude: 1, f0: 1500), RenderRequest(sampleCount: n)).samples
        let harmonics = WavetableSynth.basicShapes()[2]
        let peak = synth.mipmaps[2][0].map(abs).max()! // level 0 is normalised by the full table's peak too
        XCTAssertLessThanOrEqual(peak, 1 + 1e-12)
        let fullPeak = { () -> Double in
            (0..<512).map { i in harmonics.prefix(255).enumerated().reduce(0.0) { $0 + $1.1 * Double.sin(2 * Double.pi * Double(($1.0 + 1) * i) / 512) } }.map(abs).max()!
        }()
        let pi = 1 / (1 + 3 * Double.exp(-16))
        for i in stride(from: 0, to: n, by: 13) {
            let p = Double(i) * 1500 / 16000
            let expected = (1...3).reduce(0.0) { $0 + harmonics[$1 - 1] * Double.sin(2 * Double.pi * Double($1) * p) } / fullPeak * pi
            XCTAssertEqual(y[i], expected, accuracy: 1e-4, "sample \(i)")
        }
    }

    func testGradientsMatchFiniteDifferences() {
        for interpolation in [WavetableSynth.Interpolation.linear, .cubic] {
            let learnable = WavetableSynth(tables: .learnable(count: 3), tableLength: 16, interpolation: interpolation)
            SynthConformance.assertGradientMatchesFiniteDifferences(learnable, frames: 4, samples: 256, batch: 2)
            // Linear reads are piecewise linear in the phase: a central difference whose step moves
            // late samples across table points measures an average of two slopes, so use a small step.
            let fixed = WavetableSynth(tables: .fixed(WavetableSynth.basicShapes(harmonics: 40)), tableLength: 64, interpolation: interpolation)
            let c = GradientCheck.randomControls(layout: fixed.layout(frameCount: 4), batchSize: 2, seed: 7, range: 0.1...0.9)
            let report = GradientCheck.check(synth: fixed, controls: c, request: RenderRequest(sampleCount: 256), step: 1e-8)
            XCTAssertLessThan(report.relativeError, 1e-4, "\(interpolation): \(report)")
        }
    }

    func testDeterministicAndBatchIndependent() {
        SynthConformance.assertDeterministicAndBatchIndependent(WavetableSynth(tables: .learnable(count: 3), tableLength: 32), frames: 4, samples: 400)
    }
}
