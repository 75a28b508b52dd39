import DSP
@testable import Synths
import XCTest

/// Every registered synth passes the shared conformance checks, so a new module is
/// checked the moment it registers (the idea of swift-collections' `CheckCollection`).
final class RegistryTests: XCTestCase {
    func testEveryRegisteredSynthConforms() throws {
        for entry in SynthRegistry.entries {
            let synth = try SynthRegistry.make(entry.name, sampleRate: 16000)
            XCTAssertEqual(synth.name, entry.name)
            XCTAssertEqual(Set(synth.parameters.map(\.name)).count, synth.parameters.count, "\(entry.name): duplicate names")
            SynthConformance.assertDeterministicAndBatchIndependent(synth, frames: 5, samples: 320)
        }
    }

    func testEveryRegisteredSynthHasExactGradients() throws {
        // The full-size modules are large (64 harmonics + 65 bands per frame): check a
        // random subset of coordinates of each, on a short render.
        for entry in SynthRegistry.entries {
            let synth = try SynthRegistry.make(entry.name, sampleRate: 16000)
            let layout = synth.layout(frameCount: 2)
            let controls = GradientCheck.randomControls(layout: layout, batchSize: 1, seed: 21)
            var rng = CounterRandom(key: 5)
            let coordinates = (0..<24).map { _ in Int(rng.next() % UInt64(layout.stride)) }
            // A small step: some modules are piecewise smooth (table reads, clamps), and a wide
            // central difference straddling a kink measures an average of two slopes.
            let report = GradientCheck.check(synth: synth, controls: controls, request: RenderRequest(sampleCount: 128, noiseKeys: [3]),
                                             coordinates: coordinates, step: 1e-8)
            XCTAssertLessThan(report.relativeError, 1e-4, "\(entry.name): \(report)")
        }
    }

    func testEveryRegisteredSynthAgreesInFloatAndDouble() throws {
        for entry in SynthRegistry.entries {
            SynthConformance.assertFloatMatchesDouble(try SynthRegistry.make(entry.name), frames: 8, samples: 2000, fixed: ["feedback": 0.3])
        }
    }

    /// A module is one room: each parameter says what it means and where it starts (issue 15).
    func testEveryParameterHasAMeaningAndAPhysicalDefault() throws {
        for entry in SynthRegistry.entries {
            for spec in entry.make(16000).parameters {
                XCTAssertFalse(spec.meaning.isEmpty, "\(entry.name).\(spec.name) has no meaning")
                XCTAssertTrue(spec.contains(spec.defaultValue) || abs(spec.defaultValue - spec.minimum) < 1e-9 * max(1, abs(spec.minimum)),
                              "\(entry.name).\(spec.name): default \(spec.defaultValue) outside its range")
            }
            for preset in entry.presets { XCTAssertNoThrow(try SynthRegistry.make(preset.module), "\(entry.name): preset \(preset.name) plays on an unknown module") }
        }
    }

    func testUnknownNamesGiveAHelpfulError() {
        XCTAssertThrowsError(try SynthRegistry.make("moog")) { error in
            XCTAssertTrue("\(error)".contains("unknown synth 'moog'"))
            XCTAssertTrue("\(error)".contains("harmonic"))
        }
    }

    func testHarmonicPlusNoiseIsTheSumOfItsParts() throws {
        let synth = SynthRegistry.harmonicPlusNoise(harmonicCount: 8, noiseBands: 9)
        let controls = GradientCheck.randomControls(layout: synth.layout(frameCount: 4), batchSize: 2, seed: 2)
        let request = RenderRequest(sampleCount: 256, noiseKeys: [1, 2])
        let total = synth.render(controls, request).samples
        let parts = synth.split(controls)
        let a = synth.parts[0].render(parts[0], request).samples, b = synth.parts[1].render(parts[1], request).samples
        XCTAssertEqual(total, zip(a, b).map { $0 + $1 })
        SynthConformance.assertGradientMatchesFiniteDifferences(synth, frames: 3, samples: 96)
    }
}
