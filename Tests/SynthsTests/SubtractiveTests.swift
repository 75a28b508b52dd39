import DSP
@testable import Synths
import XCTest

final class SubtractiveTests: XCTestCase {
    func testLowpassMagnitudeMatchesTheAnalogueReferenceValues() {
        // diffsynth's reference at Q = 1/sqrt(2): |H(fc)| = 0.7071, |H(2 fc)| = 0.24253 (analogue).
        // The prewarped digital filter is exact at fc and close to the prototype well below Nyquist.
        let sr = 16000.0, fc = 100.0, q = 1 / 2.0.squareRoot()
        let k = Double.tan(Double.pi * fc / sr)
        func h(_ f: Double) -> Double { LowpassDesign.magnitude(r: Double.tan(Double.pi * f / sr) / k, q: q).value }
        XCTAssertEqual(h(fc), 0.70710678, accuracy: 1e-8)
        XCTAssertEqual(h(2 * fc), 0.24253, accuracy: 2e-4)
    }

    func testBiquadSteadyStateGainIsTheSampledMagnitude() {
        let sr = 16000.0, fc = 900.0, q = 1.7, n = 8000
        let c = LowpassDesign.coefficients(k: Double.tan(Double.pi * fc / sr), q: q)
        for f in [200.0, 900.0, 2500.0] {
            let x = (0..<n).map { Double.sin(2 * Double.pi * f * Double($0) / sr) }
            var y = [Double](repeating: 0, count: n)
            x.withUnsafeBufferPointer { xp in
                TimeVaryingBiquad.filter(xp.baseAddress!, b0: .init(repeating: c.b0, count: n), a1: .init(repeating: c.a1, count: n),
                                         a2: .init(repeating: c.a2, count: n), into: &y, count: n)
            }
            let peak = y[(n / 2)...].map { abs($0) }.max()!
            let expected = LowpassDesign.magnitude(r: Double.tan(Double.pi * f / sr) / Double.tan(Double.pi * fc / sr), q: q).value
            XCTAssertEqual(peak, expected, accuracy: 2e-3 * expected, "f = \(f)")
        }
    }

    func testBiquadAdjointMatchesFiniteDifferences() {
        // Time-varying coefficients: the adjoint is exact for any per-sample coefficients.
        let n = 64
        var rng = CounterRandom(key: 9)
        let x = (0..<n).map { _ in rng.normal() }
        let ks = (0..<n).map { Double.tan(Double.pi * (300 + 20 * Double($0)) / 16000) }
        let cs = ks.map { LowpassDesign.coefficients(k: $0, q: 1.3) }
        let flat = x + cs.map(\.b0) + cs.map(\.a1) + cs.map(\.a2)
        func run(_ v: [Double]) -> [Double] {
            var y = [Double](repeating: 0, count: n)
            Array(v[0..<n]).withUnsafeBufferPointer {
                TimeVaryingBiquad.filter($0.baseAddress!, b0: Array(v[n..<2 * n]), a1: Array(v[2 * n..<3 * n]), a2: Array(v[3 * n..<4 * n]), into: &y, count: n)
            }
            return y
        }
        let report = GradientCheck.check(at: flat, function: run) { v, w in
            let y = run(v)
            var dx = [Double](repeating: 0, count: n), db = dx, da1 = dx, da2 = dx
            Array(v[0..<n]).withUnsafeBufferPointer { xp in
                y.withUnsafeBufferPointer { yp in
                    w.withUnsafeBufferPointer { wp in
                        TimeVaryingBiquad.adjoint(x: xp.baseAddress!, y: yp.baseAddress!, b0: Array(v[n..<2 * n]), a1: Array(v[2 * n..<3 * n]),
                                                  a2: Array(v[3 * n..<4 * n]), cotangent: wp.baseAddress!, count: n, dx: &dx, dB0: &db, dA1: &da1, dA2: &da2)
                    }
                }
            }
            return dx + db + da1 + da2
        }
        XCTAssertLessThan(report.relativeError, 1e-7, "\(report)")
    }

    /// A static filter: sustained note (sustain 1, note held), no cutoff envelope, no noise, no detune.
    func staticControls(_ synth: SubtractiveSynth) -> Controls<Double> {
        var c = Controls<Double>(defaultsFor: synth.layout(frameCount: 1), batchSize: 1)
        let set: [String: Double] = ["f0": 250, "amplitude": 0.8, "osc_mix": 0.3, "detune": 0, "noise": 0, "cutoff": 1100, "q": 1.6,
                                     "cutoff_env": 0, "amp_attack": 0.001, "amp_sustain": 1, "note_off": 1]
        for (name, v) in set {
            let p = synth.parameters.firstIndex { $0.name == name }!
            c.set(item: 0, parameter: p, to: synth.parameters[p].normalised(v))
        }
        return c
    }

    /// Amplitude of harmonic k of a 250 Hz tone over whole periods (64 samples each at 16 kHz).
    func harmonicMagnitude(_ y: ArraySlice<Double>, _ k: Int) -> Double {
        var s = 0.0, c = 0.0
        for (i, v) in zip(y.indices, y) {
            let phase = 2 * Double.pi * Double(k) * 250 * Double(i + 1) / 16000
            s += v * Double.sin(phase); c += v * Double.cos(phase)
        }
        return 2 * (s * s + c * c).squareRoot() / Double(y.count)
    }

    func testFrequencySampledAndTimeDomainFiltersAgreeOnAStaticFilter() {
        let sampled = SubtractiveSynth(filter: .frequencySampled), recursive = SubtractiveSynth(filter: .timeDomain)
        let c = staticControls(sampled)
        let n = 6400
        let ya = sampled.render(c, RenderRequest(sampleCount: n)).samples
        let yb = recursive.render(c, RenderRequest(sampleCount: n)).samples
        let tail = 3200..<n   // after the attack and the filter's transient; 50 whole periods
        var compared = 0
        for k in 1...31 {
            let a = harmonicMagnitude(ya[tail], k), b = harmonicMagnitude(yb[tail], k)
            // Closed form: amplitude * (two oscillators at half level) * blend * |H(k f0)|.
            let saw = 2 / (Double.pi * Double(k)), square = k % 2 == 1 ? 4 / (Double.pi * Double(k)) : 0
            let kc = Double.tan(Double.pi * 1100 / 16000)
            let h = LowpassDesign.magnitude(r: Double.tan(Double.pi * Double(k) * 250 / 16000) / kc, q: 1.6).value
            let expected = 0.8 * (0.7 * saw + 0.3 * square) * h
            XCTAssertEqual(a, expected, accuracy: 1e-6 + 1e-5 * expected, "sampled, harmonic \(k)")
            XCTAssertEqual(b, expected, accuracy: 1e-6 + 1e-4 * expected, "time domain, harmonic \(k)")
            if expected > 1e-3 { compared += 1 }
        }
        XCTAssertGreaterThan(compared, 8)
    }

    func testGradientsMatchFiniteDifferences() {
        for filter in [SubtractiveSynth.FilterRealisation.frequencySampled, .timeDomain] {
            let synth = SubtractiveSynth(sampleRate: 16000, harmonicCount: 24, filter: filter, controlHop: 32)
            SynthConformance.assertGradientMatchesFiniteDifferences(synth, frames: 1, samples: 700, batch: 2, seed: 4)
            SynthConformance.assertGradientMatchesFiniteDifferences(synth, frames: 1, samples: 700, batch: 1, seed: 8)
            let exp = SubtractiveSynth(sampleRate: 16000, harmonicCount: 12, filter: filter, envelopeShape: .exponential(2), controlHop: 32)
            SynthConformance.assertGradientMatchesFiniteDifferences(exp, frames: 1, samples: 500, batch: 1, seed: 12)
        }
    }

    func testDeterministicAndBatchIndependent() {
        SynthConformance.assertDeterministicAndBatchIndependent(SubtractiveSynth(), frames: 1, samples: 1000)
        SynthConformance.assertDeterministicAndBatchIndependent(SubtractiveSynth(filter: .timeDomain), frames: 1, samples: 1000)
    }

    /// The detuned pair sounds at f0: YIN on a render with a 40-cent detune reads f0 to within a
    /// couple of cents (the second oscillator alone detuned up read ~20 cents sharp).
    func testDetunedPairSoundsAtF0() throws {
        let synth = SubtractiveSynth()
        var c = Controls<Double>(defaultsFor: synth.layout(frameCount: 1), batchSize: 1)
        for (name, v) in ["f0": 220.0, "detune": 40, "noise": 0, "note_off": 5] {
            let p = synth.parameters.firstIndex { $0.name == name }!
            c.set(item: 0, parameter: p, to: synth.parameters[p].normalised(v))
        }
        let y = synth.render(c, RenderRequest(sampleCount: 16000)).samples.map { Float($0) }
        let pitch = try XCTUnwrap(try NoteAnalysis.analyse(y, sampleRate: 16000).f0)
        XCTAssertLessThan(abs(1200 * log2(pitch / 220)), 3)
    }
}
