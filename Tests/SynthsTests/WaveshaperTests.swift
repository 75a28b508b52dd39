import DSP
@testable import Synths
import XCTest

final class WaveshaperTests: XCTestCase {
    func set(_ c: inout Controls<Double>, _ synth: WaveshaperSynth, _ values: [String: Double]) {
        for (name, v) in values {
            let p = synth.parameters.firstIndex { $0.name == name }!
            c.set(item: 0, parameter: p, to: synth.parameters[p].normalised(v))
        }
    }

    func testChebyshevShaperSetsHarmonicsExactly() {
        // a = 1, b = 0: T_k(sin phi) = cos(k (phi - pi/2)), so y = c sum_k h_k cos(k (phi - pi/2)) + d.
        let synth = WaveshaperSynth(shaper: .chebyshev(order: 6), shaperCount: 2)
        var c = Controls<Double>(defaultsFor: synth.layout(frameCount: 3), batchSize: 1)
        let h = [0.5, -0.25, 0.3, 0, 0.1, -0.05]
        var values: [String: Double] = ["f0": 300, "shaper1_index_gain": 1, "shaper1_index_bias": 0, "shaper1_norm_gain": 0.8,
                                        "shaper1_norm_bias": 0.1, "shaper2_norm_gain": 0, "shaper2_norm_bias": 0]
        for k in 1...6 { values["shaper1_h\(k)"] = h[k - 1] }
        set(&c, synth, values)
        let y = synth.render(c, RenderRequest(sampleCount: 600)).samples
        for n in 0..<600 {
            let phi = 2 * Double.pi * 300 * Double(n + 1) / 16000
            let expected = 0.8 * (1...6).reduce(0.0) { $0 + h[$1 - 1] * Double.cos(Double($1) * (phi - Double.pi / 2)) } + 0.1
            XCTAssertEqual(y[n], expected, accuracy: 1e-12, "sample \(n)")
        }
    }

    func testMLPShaperMatchesAPlainEvaluation() {
        let synth = WaveshaperSynth(shaper: .mlp(width: 3), shaperCount: 1)
        let c = GradientCheck.randomControls(layout: synth.layout(frameCount: 1), batchSize: 1, seed: 4)
        func v(_ name: String) -> Double {
            let p = synth.parameters.firstIndex { $0.name == name }!
            return synth.parameters[p].physical(c[item: 0, parameter: p, frame: 0])
        }
        let y = synth.render(c, RenderRequest(sampleCount: 200)).samples
        for n in 0..<200 {
            let e = Double.sin(2 * Double.pi * v("f0") * Double(n + 1) / 16000)
            let x = v("shaper1_index_gain") * e + v("shaper1_index_bias")
            let u = v("shaper1_in_scale") * x
            let h1 = (0..<3).map { Double.sin(v("shaper1_w1_\($0)") * u + v("shaper1_b1_\($0)")) }
            let h2 = (0..<3).map { o in Double.sin((0..<3).reduce(v("shaper1_b2_\(o)")) { $0 + v("shaper1_w2_\(o)_\($1)") * h1[$1] }) }
            let out = Double.sin((0..<3).reduce(v("shaper1_b3")) { $0 + v("shaper1_w3_\($1)") * h2[$1] })
            // (The module's phase is a running float64 sum; the input scale amplifies its 1e-15 drift.)
            XCTAssertEqual(y[n], v("shaper1_norm_gain") * out + v("shaper1_norm_bias"), accuracy: 1e-9, "sample \(n)")
        }
    }

    func testLookupTableFollowsTheMLP() {
        // Same parameters (same layout) through the exact MLP and a 4096-point table.
        let exact = WaveshaperSynth(shaper: .mlp(width: 8)), fast = WaveshaperSynth(shaper: .lookup(width: 8, size: 4096, range: 3))
        var c = Controls<Double>(defaultsFor: exact.layout(frameCount: 2), batchSize: 1)
        // Keep |x| <= 3, the table's range: index gains <= 2, biases <= 0.5.
        for s in 1...4 { set(&c, exact, ["shaper\(s)_index_gain": 0.5 * Double(s), "shaper\(s)_index_bias": 0.25]) }
        let a = exact.render(c, RenderRequest(sampleCount: 1000)).samples
        let b = fast.render(Controls(layout: fast.layout(frameCount: 2), batchSize: 1, values: c.values), RenderRequest(sampleCount: 1000)).samples
        let peak = a.map(abs).max()!
        XCTAssertGreaterThan(peak, 0.05)
        // Linear interpolation on a 6/4095 grid of a function with input scale up to ~40: error ~ (40 h)^2 / 8.
        XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max()!, 2e-3 * peak)
    }

    func testGradientsMatchFiniteDifferences() {
        SynthConformance.assertGradientMatchesFiniteDifferences(WaveshaperSynth(shaper: .chebyshev(order: 5), shaperCount: 2), frames: 3, samples: 200, batch: 2)
        // MLP weights near the middle of their ranges: at the extremes (input scale 40, weights 4)
        // the shaper oscillates so fast in x that a finite difference no longer resolves it.
        SynthConformance.assertGradientMatchesFiniteDifferences(WaveshaperSynth(shaper: .mlp(width: 4), shaperCount: 2), frames: 3, samples: 200,
                                                                batch: 2, range: 0.4...0.6)
        // The table is piecewise linear in x: small steps, and a coarse table so every grid point counts.
        let fast = WaveshaperSynth(shaper: .lookup(width: 4, size: 65, range: 3), shaperCount: 2)
        let c = GradientCheck.randomControls(layout: fast.layout(frameCount: 3), batchSize: 1, seed: 3, range: 0.3...0.7)
        let report = GradientCheck.check(synth: fast, controls: c, request: RenderRequest(sampleCount: 200), step: 1e-8)
        XCTAssertLessThan(report.relativeError, 1e-4, "\(report)")
    }

    func testDeterministicAndBatchIndependent() {
        SynthConformance.assertDeterministicAndBatchIndependent(WaveshaperSynth(shaper: .mlp(width: 4)), frames: 3, samples: 300)
    }
}
