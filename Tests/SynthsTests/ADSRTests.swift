import DSP
@testable import Synths
import XCTest

final class ADSRTests: XCTestCase {
    let values = ADSRValues<Double>(attack: 0.2, decay: 0.3, sustain: 0.5, release: 0.2, noteOff: 0.8, peak: 0.9)

    func testLinearSegmentsHitTheirCorners() {
        let env = ADSR()
        // attack: t / a; decay: 1 -> s over d; sustain; release: s -> 0 over r; then silence.
        let expected: [(Double, Double)] = [
            (0, 0), (0.1, 0.45), (0.2, 0.9), (0.35, 0.9 * 0.75), (0.5, 0.45), (0.7, 0.45),
            (0.8, 0.45), (0.9, 0.225), (1.0, 0), (1.5, 0),
        ]
        for (t, v) in expected { XCTAssertEqual(env.value(at: t, values), v, accuracy: 1e-12, "t = \(t)") }
    }

    func testMatchesMasudaSaitoWhenTheNoteEndsInSustain() {
        // diffsynth: A = min(x/a, 1), D = min((x - a)(s - 1)/d, 0) clamped below at s - 1,
        // R = min((x - off)(-s)/r, 0) clamped below at -s (hard clamps: T -> infinity).
        let v = values
        for t in stride(from: 0.0, through: 1.2, by: 0.01) {
            let a = min(t / v.attack, 1)
            let d = max(min((t - v.attack) * (v.sustain - 1) / v.decay, 0), v.sustain - 1)
            let r = max(min((t - v.noteOff) * (-v.sustain) / v.release, 0), -v.sustain)
            XCTAssertEqual(ADSR().value(at: t, v), v.peak * (a + d + r), accuracy: 1e-12, "t = \(t)")
        }
    }

    func testReleaseDuringAttackFallsFromTheLevelReached() {
        var v = values
        v.noteOff = 0.1   // halfway up the attack: level 0.5 * peak
        XCTAssertEqual(ADSR().value(at: 0.1, v), 0.45, accuracy: 1e-12)
        XCTAssertEqual(ADSR().value(at: 0.2, v), 0.225, accuracy: 1e-12)
        XCTAssertEqual(ADSR().value(at: 0.3, v), 0, accuracy: 1e-12)
        XCTAssertEqual(ADSR().value(at: 2.0, v), 0, accuracy: 1e-12)
    }

    func testExponentialSegmentsHaveTheirClosedForm() {
        let env = ADSR(shape: .exponential(3))
        // Attack progress 0.5 -> 1 - 0.5^3 = 0.875.
        XCTAssertEqual(env.value(at: 0.1, values), 0.9 * 0.875, accuracy: 1e-12)
        // Decay progress 0.5: level 1 + (s - 1) 0.875.
        XCTAssertEqual(env.value(at: 0.35, values), 0.9 * (1 - 0.5 * 0.875), accuracy: 1e-12)
        XCTAssertEqual(env.value(at: 0.2, values), 0.9, accuracy: 1e-12)
        XCTAssertEqual(env.value(at: 1.0, values), 0, accuracy: 1e-12)
    }

    func testGradientOfEachValueMatchesFiniteDifferences() {
        for shape in [EnvelopeShape.linear, .exponential(2.5)] {
            let env = ADSR(shape: shape)
            for v in [values, ADSRValues(attack: 0.05, decay: 0.5, sustain: 0.8, release: 0.4, noteOff: 0.3, peak: 1)] {
                let times = stride(from: 0.0013, through: 1.3, by: 0.0071).map { $0 }
                let w = times.map { Double.sin(7 * $0) }
                var g = ADSRValues<Double>.zero
                for (t, wt) in zip(times, w) { env.accumulateGradient(at: t, v, weight: wt, into: &g) }
                let fields: [WritableKeyPath<ADSRValues<Double>, Double>] = [\.attack, \.decay, \.sustain, \.release, \.noteOff, \.peak]
                for field in fields {
                    let h = 1e-7
                    var p = v, m = v
                    p[keyPath: field] += h; m[keyPath: field] -= h
                    let lp = zip(times, w).reduce(0.0) { $0 + $1.1 * env.value(at: $1.0, p) }
                    let lm = zip(times, w).reduce(0.0) { $0 + $1.1 * env.value(at: $1.0, m) }
                    let fd = (lp - lm) / (2 * h)
                    XCTAssertEqual(g[keyPath: field], fd, accuracy: 1e-6 * max(1, abs(fd)), "\(shape) \(field)")
                }
            }
        }
    }

    func testModuleGradientsAndConformance() {
        let synth = EnvelopeSynth(sampleRate: 8000)
        SynthConformance.assertGradientMatchesFiniteDifferences(synth, frames: 1, samples: 4000, batch: 3)
        SynthConformance.assertGradientMatchesFiniteDifferences(EnvelopeSynth(sampleRate: 8000, shape: .exponential(3)), frames: 1, samples: 4000)
        SynthConformance.assertDeterministicAndBatchIndependent(synth, frames: 1, samples: 800)
    }
}
