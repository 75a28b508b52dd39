import DSP
@testable import Synths
import XCTest

final class HarmonicOscillatorBankTests: XCTestCase {
    /// Normalised control that maps to the physical value `v` of parameter `p`.
    func u(_ synth: any Synth, _ name: String, _ v: Double) -> Double {
        synth.parameters.first { $0.name == name }!.normalised(v)
    }

    func constantControls(_ synth: HarmonicOscillatorBank, frames: Int, amplitude: Double,
                          weights: [Double], f0: Double) -> Controls<Double> {
        var c = Controls<Double>(zerosFor: synth.layout(frameCount: frames), batchSize: 1)
        c.set(item: 0, parameter: 0, to: u(synth, "amplitude", amplitude))
        for (k, w) in weights.enumerated() { c.set(item: 0, parameter: k + 1, to: u(synth, "harmonic_\(k + 1)", w)) }
        c.set(item: 0, parameter: synth.f0Index, to: u(synth, "f0", f0))
        return c
    }

    func testExpSigmoidMatchesDDSPReferenceValues() {
        // ddsp.core.exp_sigmoid(x) = 2 sigmoid(x)^ln10 + 1e-7 at x = -5, 0, 5.
        let spec = HarmonicOscillatorBank.expSigmoidSpec("a", defaultNormalised: 0.5)
        for (x, expected) in [(-5.0, 1.9793e-5), (0.0, 0.405399), (5.0, 1.969313)] {
            let sigmoid = 1 / (1 + Double.exp(-x))
            XCTAssertEqual(spec.physical(sigmoid), expected, accuracy: expected * 1e-4)
        }
    }

    func testSingleHarmonicIsASineWithInclusivePhase() {
        let synth = HarmonicOscillatorBank(sampleRate: 16000, harmonicCount: 4)
        // Weights (1, ~0, ~0, ~0): exp_sigmoid's floor is 1e-7, so use the physical ratio.
        let c = constantControls(synth, frames: 4, amplitude: 0.5, weights: [1, 1e-7, 1e-7, 1e-7], f0: 440)
        let y = synth.render(c, RenderRequest(sampleCount: 256)).samples
        let d1 = 1 / (1 + 3e-7)
        for n in 0..<256 {
            var expected = 0.5 * d1 * Double.sin(2 * Double.pi * 440 * Double(n + 1) / 16000)
            for k in 2...4 { expected += 0.5 * 1e-7 / (1 + 3e-7) * Double.sin(2 * Double.pi * 440 * Double(k) * Double(n + 1) / 16000) }
            XCTAssertEqual(y[n], expected, accuracy: 1e-9, "sample \(n)")
        }
    }

    func testHarmonicsAtOrAboveNyquistAreMaskedAndDistributionRenormalised() {
        // f0 = 3000 Hz at 16 kHz: harmonics 1, 2 (3, 6 kHz) sound; 3 (9 kHz) does not.
        let synth = HarmonicOscillatorBank(sampleRate: 16000, harmonicCount: 3)
        let c = constantControls(synth, frames: 2, amplitude: 1, weights: [1, 1, 1], f0: 3000)
        let y = synth.render(c, RenderRequest(sampleCount: 64)).samples
        for n in 0..<64 {
            let phi = 2 * Double.pi * 3000 * Double(n + 1) / 16000
            let expected = 0.5 * Double.sin(phi) + 0.5 * Double.sin(2 * phi)
            XCTAssertEqual(y[n], expected, accuracy: 1e-9)
        }
    }

    func testWindowUpsamplingOfAmplitudesAndLinearFrequencies() {
        // Two frames, amplitude 0.2 -> 1.0, f0 constant: the envelope follows cos^2/sin^2.
        let synth = HarmonicOscillatorBank(sampleRate: 16000, harmonicCount: 1)
        var c = constantControls(synth, frames: 2, amplitude: 1, weights: [1], f0: 100)
        c[item: 0, parameter: 0, frame: 0] = u(synth, "amplitude", 0.2)
        let y = synth.render(c, RenderRequest(sampleCount: 128)).samples
        for n in 0..<128 {
            let m = Double(n % 64), cc = Double.cos(Double.pi * m / 128)
            let a = n < 64 ? 0.2 * cc * cc + 1.0 * (1 - cc * cc) : 1.0
            XCTAssertEqual(y[n], a * Double.sin(2 * Double.pi * 100 * Double(n + 1) / 16000), accuracy: 1e-7)
        }
    }

    func testFloatRenderMatchesDoubleRender() {
        let synth = HarmonicOscillatorBank(sampleRate: 16000, harmonicCount: 64)
        // Controls rounded to float first, so both renders see the same inputs. What remains
        // is float32 arithmetic: mostly the f0 map (exp in float, ~1e-7 relative), which
        // integrates into a phase drift growing with time and harmonic number.
        let c = GradientCheck.randomControls(layout: synth.layout(frameCount: 50), batchSize: 2, seed: 4)
            .converted(to: Float.self)
        let request = RenderRequest(sampleCount: 3200)
        let y64 = synth.render(c.converted(to: Double.self), request).samples
        let y32 = synth.render(c, request).samples
        let peak = y64.map { abs($0) }.max()!
        let err = zip(y64, y32).map { abs($0 - Double($1)) }.max()!
        print("float32 vs float64: max error \(err), peak \(peak)")
        XCTAssertLessThan(err / peak, 2e-3, "float32 drifts from float64 by \(err)")
    }

    func testGradientMatchesFiniteDifferences() {
        SynthConformance.assertGradientMatchesFiniteDifferences(
            HarmonicOscillatorBank(sampleRate: 16000, harmonicCount: 6), frames: 4, samples: 96)
    }

    func testGradientWithLinearAmplitudeInterpolationAndUnevenFrames() {
        let synth = HarmonicOscillatorBank(sampleRate: 8000, harmonicCount: 5, amplitudeInterpolation: .halfPixel,
                                           frequencyInterpolation: .halfPixel)
        SynthConformance.assertGradientMatchesFiniteDifferences(synth, frames: 5, samples: 77)
    }

    func testDeterministicAndBatchIndependent() {
        SynthConformance.assertDeterministicAndBatchIndependent(HarmonicOscillatorBank(harmonicCount: 16), frames: 10, samples: 640)
    }
}

/// The Float kernel (concrete SIMD, grouped three-term recurrence) against the float64 path
/// on identical inputs: any difference is the Float kernel's own rounding.
final class AdditiveKernelPrecisionTests: XCTestCase {
    func testFloatKernelMatchesFloat64OnTheSameInputs() {
        let n = 4000, frames = 32, h = 64
        var rng = CounterRandom(key: 17)
        let ampsF = (0..<(frames * h)).map { _ in Float(rng.unit()) / Float(h) }
        let f0 = (0..<n).map { i in Float(55 + 40 * sin(Double(i) / 500)) }     // low: most harmonics audible
        let upF = FrameUpsampler<Float>(frameCount: frames, sampleCount: n, interpolation: .alignCorners)
        let upD = FrameUpsampler<Double>(frameCount: frames, sampleCount: n, interpolation: .alignCorners)
        let phaseD = AdditiveKernel<Double>.phases(f0.map(Double.init), sampleRate: 16000)
        let phaseF = phaseD.map { Float($0) }
        var yF = [Float](repeating: 0, count: n), yD = [Double](repeating: 0, count: n)
        ampsF.withUnsafeBufferPointer { a in
            AdditiveKernel(harmonicCount: h, sampleRate: 16000, upsampler: upF)
                .synthesise(amplitudes: a.baseAddress!, frequency: f0, phase: phaseF, output: &yF, accumulate: false)
        }
        ampsF.map(Double.init).withUnsafeBufferPointer { a in
            AdditiveKernel(harmonicCount: h, sampleRate: 16000, upsampler: upD)
                .synthesise(amplitudes: a.baseAddress!, frequency: f0.map(Double.init), phase: phaseD.map { Double(Float($0)) }, output: &yD, accumulate: false)
        }
        let peak = yD.map(abs).max()!
        let worst = zip(yF, yD).map { abs(Double($0) - $1) }.max()!
        XCTAssertGreaterThan(peak, 0.1)
        // Rotation alone: ~5e-6 here; with the grouped recurrence ~6e-6 (-104 dB).
        XCTAssertLessThan(worst / peak, 1e-5, "Float kernel error \(worst) of peak \(peak)")
    }
}
