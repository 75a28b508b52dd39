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

extension SynthConformance {
    /// Production renders in `Float`, where some kernels take concrete-SIMD paths that the
    /// float64 gradient checks never run: the Float render and gradient must agree with float64.
    /// Controls are made exactly representable in `Float`; `fixed` sets normalised values by name
    /// (FM feedback high enough to be chaotic separates any two roundings, by design).
    static func assertFloatMatchesDouble(_ synth: any Synth, frames: Int, samples: Int, seed: UInt64 = 5, fixed: [String: Double] = [:],
                                         tolerance: Double = 2e-3, file: StaticString = #filePath, line: UInt = #line) {
        let layout = synth.layout(frameCount: frames)
        var controls = GradientCheck.randomControls(layout: layout, batchSize: 2, seed: seed)
        for (name, u) in fixed { if let p = layout.index(of: name) { for b in 0..<2 { controls.set(item: b, parameter: p, to: u) } } }
        controls = controls.converted(to: Float.self).converted(to: Double.self)
        let request = RenderRequest(sampleCount: samples, noiseKeys: [1, 2])
        let (y64, pb64) = synth.valueWithPullback(controls, request)
        let (y32, pb32) = synth.valueWithPullback(controls.converted(to: Float.self), request)
        func relative(_ a: [Double], _ b: [Double]) -> Double {
            let diff = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            return diff / max(a.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-30)
        }
        XCTAssertLessThan(relative(y64.samples, y32.samples.map(Double.init)), tolerance, "\(synth.name): Float render", file: file, line: line)
        var rng = CounterRandom(key: seed)
        let cot = (0..<(2 * samples)).map { _ in rng.normal() }
        let g64 = pb64(AudioBatch(batchSize: 2, sampleCount: samples, samples: cot)).values
        let g32 = pb32(AudioBatch(batchSize: 2, sampleCount: samples, samples: cot.map(Float.init))).values.map(Double.init)
        XCTAssertLessThan(relative(g64, g32), tolerance, "\(synth.name): Float gradient", file: file, line: line)
    }
}
