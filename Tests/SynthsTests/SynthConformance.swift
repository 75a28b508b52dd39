import DSP
import Synths
import XCTest

/// Checks every synth must pass: the float64 gradient check, determinism and batch
/// independence, finite output. Each synth's own test file calls these; the registry
/// test runs them over every registered module so a new synth is checked on arrival.
enum SynthConformance {
    static func assertGradientMatchesFiniteDifferences(
        _ synth: any Synth, frames: Int, samples: Int, batch: Int = 2, seed: UInt64 = 7,
        range: ClosedRange<Double> = 0.1...0.9, tolerance: Double = 1e-4,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let layout = synth.layout(frameCount: frames)
        let controls = GradientCheck.randomControls(layout: layout, batchSize: batch, seed: seed, range: range)
        let request = RenderRequest(sampleCount: samples, noiseKeys: (0..<batch).map { UInt64($0 + 11) })
        let report = GradientCheck.check(synth: synth, controls: controls, request: request, step: 1e-6, seed: seed)
        XCTAssertGreaterThan(report.analyticNorm, 0, "\(synth.name): gradient is identically zero", file: file, line: line)
        XCTAssertLessThan(report.relativeError, tolerance, "\(synth.name): \(report)", file: file, line: line)
    }

    static func assertDeterministicAndBatchIndependent(
        _ synth: any Synth, frames: Int, samples: Int, seed: UInt64 = 3,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let layout = synth.layout(frameCount: frames)
        let controls = GradientCheck.randomControls(layout: layout, batchSize: 3, seed: seed).converted(to: Float.self)
        let keys: [UInt64] = [5, 9, 5]
        let request = RenderRequest(sampleCount: samples, noiseKeys: keys)
        let batch = synth.render(controls, request)
        XCTAssertEqual(batch, synth.render(controls, request), "\(synth.name): two renders differ", file: file, line: line)
        XCTAssertTrue(batch.samples.allSatisfy { $0.isFinite }, "\(synth.name): non-finite output", file: file, line: line)
        XCTAssertGreaterThan(batch.samples.map { abs($0) }.max() ?? 0, 0, "\(synth.name): silent output", file: file, line: line)
        for b in 0..<3 {
            let alone = synth.render(controls.item(b), RenderRequest(sampleCount: samples, noiseKeys: [keys[b]]))
            XCTAssertEqual(alone.samples, batch.item(b), "\(synth.name): item \(b) depends on its batch", file: file, line: line)
        }
        // Gradients are batch independent too.
        let (_, pullback) = synth.valueWithPullback(controls, request)
        var rng = CounterRandom(key: 1)
        let cot = AudioBatch<Float>(batchSize: 3, sampleCount: samples, samples: (0..<(3 * samples)).map { _ in Float(rng.normal()) })
        let grad = pullback(cot)
        for b in 0..<3 {
            let (_, p1) = synth.valueWithPullback(controls.item(b), RenderRequest(sampleCount: samples, noiseKeys: [keys[b]]))
            XCTAssertEqual(p1(AudioBatch(rows: [cot.item(b)])).values, grad.item(b).values,
                           "\(synth.name): gradient of item \(b) depends on its batch", file: file, line: line)
        }
    }
}
