import DSP
import Matching
import Synths
import XCTest

final class ControlFitTests: XCTestCase {
    /// Recovers the harmonic amplitudes of a known tone with f0 frozen.
    func testRecoversHarmonicAmplitudesWithFrozenF0() {
        let bank = HarmonicOscillatorBank(sampleRate: 8000, harmonicCount: 4)
        let layout = bank.layout(frameCount: 4)
        var truth = Controls<Float>(defaultsFor: layout, batchSize: 1)
        let weights = [0.9, 0.5, 0.1, 0.3]
        truth.set(item: 0, parameter: 0, to: Float(bank.parameters[0].normalised(0.4)))
        for k in 0..<4 { truth.set(item: 0, parameter: k + 1, to: Float(bank.parameters[k + 1].normalised(weights[k]))) }
        truth.set(item: 0, parameter: bank.f0Index, to: Float(bank.parameters[bank.f0Index].normalised(300)))
        let request = RenderRequest(sampleCount: 2048)
        let target = bank.render(truth, request)
        var start = truth
        for p in 0...4 { start.set(item: 0, parameter: p, to: 0.5) }
        let loss = MultiScaleSpectralLoss.ddsp(fftSizes: [512, 256, 128], logMagnitudeWeight: 0)
        var fit = ControlFit(synth: bank, loss: loss, target: target, initial: start,
                             trainable: { $0.name != "f0" }, tieFrames: true, optimiser: Adam(learningRate: 0.05))
        let first = fit.step()[0]
        for _ in 0..<300 { fit.step() }
        let last = loss.values(fit.render(), target)[0]
        XCTAssertLessThan(last, first / 40, "loss \(first) -> \(last)")   // ~45x (rounding-dependent); the amplitudes below are the spec
        // f0 stayed frozen; frames stayed tied.
        let c = fit.controls
        XCTAssertEqual(c[item: 0, parameter: bank.f0Index, frame: 2], truth[item: 0, parameter: bank.f0Index, frame: 2])
        XCTAssertEqual(c[item: 0, parameter: 1, frame: 0], c[item: 0, parameter: 1, frame: 3])
        // Harmonic amplitudes A d_k within 3%.
        let a = Double(bank.parameters[0].physical(c[item: 0, parameter: 0, frame: 0]))
        let e = (1...4).map { Double(bank.parameters[$0].physical(c[item: 0, parameter: $0, frame: 0])) }
        let sum = e.reduce(0, +), trueSum = weights.reduce(0, +)
        for k in 0..<4 {
            let expected = 0.4 * weights[k] / trueSum
            XCTAssertEqual(a * e[k] / sum, expected, accuracy: 0.03 * expected, "harmonic \(k + 1)")
        }
    }

    /// Where a module's gradient overflows (the DX7's feedback loop at full settings is chaotic
    /// and multiplies it every sample), the controls keep moving and stay finite.
    func testOverflowingGradientsKeepTheControlsFinite() {
        let synth = DX7Synth(sampleRate: 16000, algorithm: 4)
        let layout = synth.layout(frameCount: 1)
        let start = Controls<Float>(layout: layout, batchSize: 1, values: [Float](repeating: 0.999, count: layout.stride))
        let target = synth.render(Controls<Float>(defaultsFor: layout, batchSize: 1), RenderRequest(sampleCount: 3000))
        var fit = ControlFit(synth: synth, loss: MultiScaleSpectralLoss.ddsp(fftSizes: [512, 256]), target: target, initial: start)
        for _ in 0..<3 { fit.step() }
        XCTAssertTrue(fit.logits.allSatisfy(\.isFinite))
        XCTAssertNotEqual(fit.controls.values, start.values)
    }
}
