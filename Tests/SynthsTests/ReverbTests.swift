import DSP
@testable import Synths
import XCTest

final class ReverbTests: XCTestCase {
    func testIsDryPlusDirectConvolutionWithTheDecayingNoiseIR() {
        let dry = HarmonicOscillatorBank(sampleRate: 16000, harmonicCount: 3)
        let synth = Reverberated(dry, reverbLength: 50)
        let controls = GradientCheck.randomControls(layout: synth.layout(frameCount: 2), batchSize: 1, seed: 3)
        let request = RenderRequest(sampleCount: 200, noiseKeys: [4])
        let x = dry.render(synth.dryControls(controls), request).samples
        let (ir, gain, decay) = synth.impulseResponse(controls, item: 0, key: 4)
        XCTAssertEqual(ir[0], 0)
        // ir[k] / (g exp(-d t_k)) is the keyed noise, bounded by 1.
        for k in 1..<50 { XCTAssertLessThanOrEqual(abs(ir[k]) / (gain.value * exp(-decay.value * Double(k) / 49)), 1 + 1e-12) }
        let y = synth.render(controls, request).samples
        for n in 0..<200 {
            var wet = 0.0
            for m in max(0, n - 49)...n { wet += x[m] * ir[n - m] }
            XCTAssertEqual(y[n], x[n] + wet, accuracy: 1e-12)
        }
    }

    func testDefaultsFollowDDSPInitialisation() {
        let synth = Reverberated(FilteredNoise())
        let gain = synth.parameters[synth.gainIndex], decay = synth.parameters[synth.decayIndex]
        XCTAssertEqual(gain.physical(gain.defaultNormalised), 2 * pow(1 / (1 + exp(-2.0)), log(10.0)) + 1e-7, accuracy: 1e-9)
        XCTAssertEqual(decay.physical(decay.defaultNormalised), 2 + exp(4.0), accuracy: 1e-9)
    }

    func testGradientMatchesFiniteDifferences() {
        let synth = Reverberated(HarmonicOscillatorBank(sampleRate: 16000, harmonicCount: 3), reverbLength: 40)
        SynthConformance.assertGradientMatchesFiniteDifferences(synth, frames: 2, samples: 96)
    }

    func testDeterministicAndBatchIndependent() {
        SynthConformance.assertDeterministicAndBatchIndependent(Reverberated(FilteredNoise(bandCount: 9), reverbLength: 300), frames: 4, samples: 256)
    }
}
