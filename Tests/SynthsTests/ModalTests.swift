import DSP
@testable import Synths
import XCTest

final class ModalTests: XCTestCase {
    func controls(_ synth: ModalSynth, seed: UInt64, t60: ClosedRange<Double>? = nil) -> Controls<Double> {
        var c = GradientCheck.randomControls(layout: synth.layout(frameCount: 1), batchSize: 1, seed: seed, range: 0.1...0.9)
        c.set(item: 0, parameter: 0, to: synth.parameters[0].normalised(200))   // f0: most modes below Nyquist
        if let t60 {
            var rng = CounterRandom(key: seed)
            for j in 0..<synth.modeCount {
                let p = 2 + 3 * j
                c.set(item: 0, parameter: p, to: synth.parameters[p].normalised(t60.lowerBound + rng.unit() * (t60.upperBound - t60.lowerBound)))
            }
        }
        return c
    }

    func testImpulseResponseIsASumOfDampedSines() {
        let synth = ModalSynth(sampleRate: 16000, modeCount: 8)
        let c = controls(synth, seed: 3)
        let y = synth.render(c, RenderRequest(sampleCount: 3000)).samples
        var physical: [Double] = []
        for (p, spec) in synth.parameters.enumerated() { physical.append(spec.physical(c[item: 0, parameter: p, frame: 0])) }
        for n in stride(from: 0, to: 3000, by: 7) {
            var expected = 0.0
            for j in 0..<8 {
                let f = physical[0] * physical[1 + 3 * j]
                guard f < 8000 else { continue }
                let theta = 2 * Double.pi * f / 16000, r = Double.pow(10, -3 / (physical[2 + 3 * j] * 16000))
                expected += physical[3 + 3 * j] * Double.pow(r, Double(n)) * Double.sin(Double(n + 1) * theta)
            }
            XCTAssertEqual(y[n], expected, accuracy: 1e-10, "sample \(n)")
        }
        // T60: a single mode falls by 60 dB over t60 seconds.
        let one = ModalSynth(sampleRate: 16000, modeCount: 1)
        var c1 = Controls<Double>(defaultsFor: one.layout(frameCount: 1), batchSize: 1)
        c1.set(item: 0, parameter: 2, to: one.parameters[2].normalised(0.25))
        let ring = one.render(c1, RenderRequest(sampleCount: 8000)).samples
        let early = ring[0..<400].map(abs).max()!, late = ring[4000..<4400].map(abs).max()!
        XCTAssertEqual(20 * Double.log10(late / early), -60, accuracy: 1.5)
    }

    func testRecursionAndFrequencySamplingAgree() {
        for excitation in [ModalSynth.Excitation.impulse, .noiseBurst(seconds: 0.01)] {
            let recursive = ModalSynth(modeCount: 12, excitation: excitation)
            let sampled = ModalSynth(modeCount: 12, excitation: excitation, realisation: .frequencySampled(fftSize: nil))
            // Decays well inside the FFT's spare length (2048 samples = 0.128 s): wrap-around < 1e-7.
            let c = controls(recursive, seed: 5, t60: 0.01...0.04)
            let request = RenderRequest(sampleCount: 2048, noiseKeys: [4])
            let a = recursive.render(c, request).samples, b = sampled.render(c, request).samples
            let peak = a.map(abs).max()!
            XCTAssertGreaterThan(peak, 0.01)
            XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max()!, 1e-7 * max(peak, 1), "\(excitation)")
        }
    }

    func testGradientsMatchFiniteDifferences() {
        for synth in [ModalSynth(modeCount: 6), ModalSynth(modeCount: 6, excitation: .noiseBurst(seconds: 0.005)),
                      ModalSynth(modeCount: 6, realisation: .frequencySampled(fftSize: nil))] {
            let c = controls(synth, seed: 9, t60: 0.01...0.03)
            let report = GradientCheck.check(synth: synth, controls: c, request: RenderRequest(sampleCount: 900, noiseKeys: [2]))
            XCTAssertGreaterThan(report.analyticNorm, 0)
            XCTAssertLessThan(report.relativeError, 1e-4, "\(synth.name) \(synth.excitation) \(synth.realisation): \(report)")
        }
        // Long decays through the recursion, every parameter of a 32-mode bank on a subset.
        let big = ModalSynth()
        let report = GradientCheck.check(synth: big, controls: controls(big, seed: 1), request: RenderRequest(sampleCount: 1500),
                                         coordinates: Array(stride(from: 0, to: 97, by: 3)) + [1, 2, 50, 95])
        XCTAssertLessThan(report.relativeError, 1e-4, "\(report)")
    }

    func testStableAtTheLongestDecayAndSilentAboveNyquist() {
        let synth = ModalSynth(modeCount: 4)
        var c = Controls<Float>(defaultsFor: synth.layout(frameCount: 1), batchSize: 1)
        for j in 0..<4 { c.set(item: 0, parameter: 2 + 3 * j, to: 1) }   // t60 = 10 s
        let y = synth.render(c, RenderRequest(sampleCount: 160_000)).samples
        XCTAssertTrue(y.allSatisfy(\.isFinite))
        XCTAssertLessThan(y[150_000...].map(abs).max()!, y[..<1000].map(abs).max()!)
        // f0 = 4000 Hz with ratios >= 2: every mode at or above Nyquist.
        var high = c
        high.set(item: 0, parameter: 0, to: 1)
        for j in 0..<4 { high.set(item: 0, parameter: 1 + 3 * j, to: Float(synth.parameters[1].normalised(2 + Double(j)))) }
        XCTAssertEqual(synth.render(high, RenderRequest(sampleCount: 256)).samples.map(abs).max(), 0)
    }

    func testPresetsRing() throws {
        for preset in PresetLibrary.all where preset.family == "modal" {
            let synth = try SynthRegistry.make(preset.module)
            let c: Controls<Float> = try preset.controls(synth.layout(frameCount: 1))
            let y = synth.render(c, RenderRequest(sampleCount: 16000)).samples
            XCTAssertTrue(y.allSatisfy(\.isFinite), preset.name)
            XCTAssertGreaterThan(y.map(abs).max()!, 0.05, preset.name)
        }
    }
}

final class ResonatedSynthTests: XCTestCase {
    /// A linear, time-invariant body: the output is the source's audio convolved with the
    /// body's impulse response (the same bank rung by an impulse).
    func testOutputIsTheSourceConvolvedWithTheBodysImpulseResponse() {
        let source = SubtractiveSynth(harmonicCount: 8)
        let synth = ResonatedSynth(source, modeCount: 5)
        let c = GradientCheck.randomControls(layout: synth.layout(frameCount: 1), batchSize: 1, seed: 12)
        let n = 700
        let y = synth.render(c, RenderRequest(sampleCount: n, noiseKeys: [3])).samples
        let (sc, bc) = synth.split(c)
        let x = source.render(sc, RenderRequest(sampleCount: n, noiseKeys: [3])).samples
        let h = synth.body.render(bc, RenderRequest(sampleCount: n)).samples
        for i in stride(from: 0, to: n, by: 11) {
            let expected = (0...i).reduce(0.0) { $0 + x[$1] * h[i - $1] }
            XCTAssertEqual(y[i], expected, accuracy: 1e-10, "sample \(i)")
        }
    }

    func testGradientsReachTheSourceAndTheBody() {
        let synth = ResonatedSynth(FilteredNoise(bandCount: 5), modeCount: 4)
        SynthConformance.assertGradientMatchesFiniteDifferences(synth, frames: 3, samples: 300, batch: 2)
        let sub = ResonatedSynth(SubtractiveSynth(harmonicCount: 6, controlHop: 32), modeCount: 3)
        SynthConformance.assertGradientMatchesFiniteDifferences(sub, frames: 1, samples: 300, batch: 1)
    }
}
