import DSP
import Foundation
@testable import Synths
import XCTest

/// Forward (and adjoint) values against the reference libraries' own code, from the
/// scripts in Experiments/reference/.
final class ReferenceVectorTests: XCTestCase {
    func fixture<T: Decodable>(_ name: String, as: T.Type) throws -> T {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    struct DDX7: Decodable {
        struct Patch: Decodable { let ratios: [Double]; let levels: [Double]; let output: [Double] }
        let sample_rate: Double; let f0: Double; let max_ol: Double; let samples: Int
        let patches: [String: Patch]
    }

    /// DDX7's strings, brass and flute graphs (ddx7/core.py) against our DX7 algorithms 2, 18, 16
    /// with the same fixed ratios, constant levels and no feedback. DDX7 has no envelopes: ours
    /// hold sustain 1 after a 1 ms attack, so samples from 16 on are compared. DDX7 divides
    /// the carrier sum by max_ol, we by the number of carriers.
    func testFMMatchesDDX7Patches() throws {
        let ref = try fixture("ddx7_fm.json", as: DDX7.self)
        for (name, module) in [("strings", "ddx7-strings"), ("brass", "ddx7-brass"), ("flute", "ddx7-flute")] {
            let patch = ref.patches[name]!
            let synth = try XCTUnwrap(try SynthRegistry.make(module, sampleRate: ref.sample_rate) as? FMSynth)
            XCTAssertEqual(synth.fixedRatios, patch.ratios, name)
            var values: [String: Double] = ["f0": ref.f0, "feedback": 0, "note_off": 1]
            for op in 1...6 {
                values["op\(op)_level"] = patch.levels[op - 1]
                values["op\(op)_attack"] = 0.001; values["op\(op)_sustain"] = 1; values["op\(op)_detune"] = 0
            }
            let preset = SynthPreset(family: "test", name: name, module: module, summary: "", values: values)
            let controls: Controls<Double> = try preset.controls(synth.layout(frameCount: 1))
            let y = synth.render(controls, RenderRequest(sampleCount: ref.samples)).samples
            let scale = ref.max_ol / Double(synth.algorithm.carriers.count)
            for n in 16..<ref.samples {
                XCTAssertEqual(y[n], patch.output[n] * scale, accuracy: 1e-9, "\(name) sample \(n)")
            }
        }
    }

    struct LFilter: Decodable {
        let b0: Double; let a1: Double; let a2: Double
        let x: [Double]; let w: [Double]; let y: [Double]; let dx: [Double]
        let db0: Double; let da1: Double; let da2: Double
    }

    /// The biquad recursion and its time-reversed adjoint against torchaudio's lfilter and
    /// autograd (static coefficients: the per-sample coefficient gradients summed).
    func testBiquadMatchesTorchaudioLFilter() throws {
        let ref = try fixture("lfilter.json", as: LFilter.self)
        let n = ref.x.count
        let b0 = [Double](repeating: ref.b0, count: n), a1 = [Double](repeating: ref.a1, count: n), a2 = [Double](repeating: ref.a2, count: n)
        var y = [Double](repeating: 0, count: n)
        ref.x.withUnsafeBufferPointer { TimeVaryingBiquad.filter($0.baseAddress!, b0: b0, a1: a1, a2: a2, into: &y, count: n) }
        for i in 0..<n { XCTAssertEqual(y[i], ref.y[i], accuracy: 1e-12, "y[\(i)]") }
        var dx = [Double](repeating: 0, count: n), db0 = dx, da1 = dx, da2 = dx
        ref.x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in
                ref.w.withUnsafeBufferPointer { wp in
                    TimeVaryingBiquad.adjoint(x: xp.baseAddress!, y: yp.baseAddress!, b0: b0, a1: a1, a2: a2, cotangent: wp.baseAddress!,
                                              count: n, dx: &dx, dB0: &db0, dA1: &da1, dA2: &da2)
                }
            }
        }
        for i in 0..<n { XCTAssertEqual(dx[i], ref.dx[i], accuracy: 1e-10, "dx[\(i)]") }
        XCTAssertEqual(db0.reduce(0, +), ref.db0, accuracy: 1e-9 * abs(ref.db0))
        XCTAssertEqual(da1.reduce(0, +), ref.da1, accuracy: 1e-9 * abs(ref.da1))
        XCTAssertEqual(da2.reduce(0, +), ref.da2, accuracy: 1e-9 * abs(ref.da2))
    }
}
