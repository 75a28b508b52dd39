import DSP
import Foundation
@testable import Matching
import XCTest

final class MultiScaleSpectralLossTests: XCTestCase {
    struct Vectors: Decodable {
        struct Preset: Decodable { let loss: Double }
        let sample_rate: Double
        let samples: Int
        let presets: [String: Preset]
    }

    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("spectral_loss")

    func load(_ name: String) throws -> [Double] {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent(name))
        return data.withUnsafeBytes { raw in (0..<(data.count / 8)).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) } }
    }

    func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        let d = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        return d / max(a.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-300)
    }

    func assertMatchesReference(_ loss: MultiScaleSpectralLoss, preset: String, valueTolerance: Double, gradientTolerance: Double) throws {
        let vectors = try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("vectors.json")))
        let x = try load("prediction.f64"), y = try load("target.f64")
        let expectedGradient = try load("\(preset)_gradient.f64")
        let (values, gradient) = loss.valuesWithGradient(AudioBatch(rows: [x]), AudioBatch(rows: [y]))
        let expected = vectors.presets[preset]!.loss
        XCTAssertEqual(values[0], expected, accuracy: expected * valueTolerance, preset)
        let err = relativeError(expectedGradient, gradient.samples)
        XCTAssertLessThan(err, gradientTolerance, "\(preset): gradient differs from the reference by \(err)")
    }

    func testAuralossDefaultsMatchTheLibrary() throws {
        try assertMatchesReference(.auraloss(), preset: "auraloss", valueTolerance: 1e-9, gradientTolerance: 1e-7)
    }

    func testAuralossMelMatchesTheLibrary() throws {
        // librosa's filterbank is float32, ours float64: agreement to ~1e-7.
        try assertMatchesReference(.mel(sampleRate: 16000), preset: "auraloss_mel", valueTolerance: 1e-6, gradientTolerance: 2e-6)
    }

    func testDDSPMatchesTheReferencePort() throws {
        try assertMatchesReference(.ddsp(), preset: "ddsp", valueTolerance: 1e-9, gradientTolerance: 1e-7)
    }

    func testIdenticalSignalsHaveZeroLoss() {
        var rng = CounterRandom(key: 3)
        let x = (0..<2048).map { _ in rng.normal() }
        for loss in [MultiScaleSpectralLoss.ddsp(), .auraloss(), .mel(sampleRate: 16000)] {
            XCTAssertEqual(loss.values(AudioBatch(rows: [x]), AudioBatch(rows: [x]))[0], 0, accuracy: 1e-12)
        }
    }

    /// Finite differences in float64 on every configuration switch (L1/L2, log kinds,
    /// convergence, mel, padding modes), on a short signal.
    func testGradientMatchesFiniteDifferences() {
        var rng = CounterRandom(key: 9)
        let n = 300
        let x = (0..<n).map { _ in rng.normal() }, y = (0..<n).map { _ in rng.normal() }
        let small = [STFTConfiguration(fftSize: 64, hopSize: 16, padding: .endZeros),
                     STFTConfiguration(fftSize: 32, hopSize: 8, windowLength: 24, padding: .centerReflect),
                     STFTConfiguration(fftSize: 16, hopSize: 5, padding: .centerZeros),
                     STFTConfiguration(fftSize: 32, hopSize: 7, padding: .none)]
        let losses: [MultiScaleSpectralLoss] = [
            .init(resolutions: small, linearWeight: 1, logWeight: 1, convergenceWeight: 0.5),
            .init(resolutions: small, linearWeight: 0.3, logWeight: 0.7, convergenceWeight: 1, distance: .l2,
                  logarithm: .offset(epsilon: 1e-7), powerFloor: 1e-8, scaleReduction: .mean),
            .init(resolutions: [small[0]], linearWeight: 1, logWeight: 1, convergenceWeight: 1,
                  melScale: .init(sampleRate: 16000, bands: 8)),
        ]
        for loss in losses {
            let report = GradientCheck.check(at: x, step: 1e-6, function: { v in
                [loss.values(AudioBatch(rows: [v]), AudioBatch(rows: [y]))[0]]
            }, vectorJacobianProduct: { v, w in
                loss.valuesWithGradient(AudioBatch(rows: [v]), AudioBatch(rows: [y])).gradient.samples.map { $0 * w[0] }
            })
            XCTAssertLessThan(report.relativeError, 1e-5, "\(report)")
        }
    }

    /// `framed(.none)` keeps every frame inside the signal: with FFT 64 / hop 16 on 310 samples
    /// the last full frame ends at sample 303, so the last samples change DDSP's end-padded loss
    /// but not the framed one; every other setting is kept.
    func testFramedInsideIgnoresSamplesPastTheLastFullFrame() {
        var rng = CounterRandom(key: 11)
        let x = (0..<310).map { _ in rng.normal() }, y = (0..<310).map { _ in rng.normal() }
        var z = x
        z[309] += 0.5
        let ddsp = MultiScaleSpectralLoss.ddsp(fftSizes: [64]), inside = ddsp.framed(.none)
        XCTAssertEqual(inside.resolutions.map(\.padding), [.none])
        XCTAssertEqual(inside.resolutions.map(\.fftSize), ddsp.resolutions.map(\.fftSize))
        XCTAssertEqual(inside.logWeight, ddsp.logWeight)
        func value(_ loss: MultiScaleSpectralLoss, _ v: [Double]) -> Double { loss.values(AudioBatch(rows: [v]), AudioBatch(rows: [y]))[0] }
        XCTAssertEqual(value(inside, x), value(inside, z))
        XCTAssertNotEqual(value(ddsp, x), value(ddsp, z))
    }

    func testBatchItemsAreScoredIndependently() {
        var rng = CounterRandom(key: 5)
        let rows = (0..<3).map { _ in (0..<1024).map { _ in Float(rng.normal()) } }
        let targets = (0..<3).map { _ in (0..<1024).map { _ in Float(rng.normal()) } }
        let loss = MultiScaleSpectralLoss.ddsp()
        let (values, gradient) = loss.valuesWithGradient(AudioBatch(rows: rows), AudioBatch(rows: targets))
        for b in 0..<3 {
            let (v, g) = loss.valuesWithGradient(AudioBatch(rows: [rows[b]]), AudioBatch(rows: [targets[b]]))
            XCTAssertEqual(v[0], values[b])
            XCTAssertEqual(g.samples, gradient.item(b))
        }
    }

    /// A nearly silent float32 prediction (magnitudes down to subnormals) still gets a finite
    /// gradient: subnormal magnitudes count as zero for the log, and the magnitude's
    /// derivative is taken as a unit direction (no 1 / |X|^2 overflow).
    func testNearlySilentFloat32PredictionsHaveFiniteGradients() {
        let n = 4096
        let target = AudioBatch<Float>(batchSize: 1, sampleCount: n, samples: (0..<n).map { Float(0.3 * sin(Double($0) * 0.1)) })
        for level: Float in [1e-20, 1e-30, 1e-38, 0] {
            let prediction = AudioBatch<Float>(batchSize: 1, sampleCount: n, samples: (0..<n).map { level * Float(sin(Double($0) * 0.37)) })
            let (values, gradient) = MultiScaleSpectralLoss.ddsp().valuesWithGradient(prediction, target)
            XCTAssertTrue(values[0].isFinite, "level \(level)")
            XCTAssertTrue(gradient.samples.allSatisfy(\.isFinite), "level \(level)")
        }
    }

    func testTooShortSignalsAreRejectedWithAClearError() {
        XCTAssertThrowsError(try MultiScaleSpectralLoss.auraloss().validate(sampleCount: 500)) { error in
            XCTAssertTrue("\(error)".contains("500 samples are too few"), "\(error)")
        }
        XCTAssertNoThrow(try MultiScaleSpectralLoss.ddsp().validate(sampleCount: 1))
    }

    /// A batch whose items share one target computes its spectra once; values and gradients are
    /// bit-identical to scoring each item alone (and to a batch whose targets differ).
    func testSharedTargetIsComputedOnceWithIdenticalResults() {
        let n = 3000
        let target = (0..<n).map { Float(0.4 * sin(Double($0) * 0.07) + 0.1 * sin(Double($0) * 0.31)) }
        let predictions = (0..<3).flatMap { b in (0..<n).map { Float(0.3 * sin(Double($0) * (0.05 + 0.01 * Double(b)))) } }
        for loss in [MultiScaleSpectralLoss.ddsp(fftSizes: [1024, 256, 64]), .auraloss(sampleRate: 16000, melBands: 32)] {
            let batch = loss.valuesWithGradient(AudioBatch(batchSize: 3, sampleCount: n, samples: predictions),
                                                AudioBatch(batchSize: 3, sampleCount: n, samples: Array([target, target, target].joined())))
            for b in 0..<3 {
                let alone = loss.valuesWithGradient(AudioBatch(batchSize: 1, sampleCount: n, samples: Array(predictions[(b * n)..<((b + 1) * n)])),
                                                    AudioBatch(batchSize: 1, sampleCount: n, samples: target))
                XCTAssertEqual(batch.values[b], alone.values[0])
                XCTAssertEqual(Array(batch.gradient.samples[(b * n)..<((b + 1) * n)]), alone.gradient.samples)
            }
        }
    }
}

extension MultiScaleSpectralLossTests {
    /// Float32 evaluation (the vectorised logarithm, eight-lane sums) against the float64
    /// reference: the loss within 1e-6; the gradient within 5e-4 (float32 STFTs leave ~1e-4:
    /// an L1 term's sign flips where prediction and target magnitudes nearly agree).
    func testFloat32MatchesTheReferenceToSinglePrecision() throws {
        let vectors = try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("vectors.json")))
        let x = try load("prediction.f64"), y = try load("target.f64")
        for (preset, loss) in [("auraloss", MultiScaleSpectralLoss.auraloss()), ("ddsp", .ddsp())] {
            let (values, gradient) = loss.valuesWithGradient(AudioBatch(rows: [x.map { Float($0) }]), AudioBatch(rows: [y.map { Float($0) }]))
            let expected = vectors.presets[preset]!.loss
            XCTAssertEqual(Double(values[0]), expected, accuracy: expected * 1e-6, preset)
            let err = relativeError(try load("\(preset)_gradient.f64"), gradient.samples.map(Double.init))
            XCTAssertLessThan(err, 5e-4, "\(preset): float32 gradient differs from the reference by \(err)")
        }
    }

    /// Targets scored again are served from the cache with bit-identical values and gradients;
    /// a target changed in one sample is never served the old features.
    func testTargetCacheIsExactAndNeverStale() {
        let n = 4000
        var target = (0..<n).map { Float(0.4 * sin(Double($0) * 0.07) + 0.1 * sin(Double($0) * 0.31)) }
        let prediction = AudioBatch(batchSize: 2, sampleCount: n, samples: (0..<(2 * n)).map { Float(0.3 * sin(Double($0) * 0.05)) })
        func score(_ t: [Float], _ loss: MultiScaleSpectralLoss) -> (values: [Float], gradient: AudioBatch<Float>) {
            loss.valuesWithGradient(prediction, AudioBatch(batchSize: 2, sampleCount: n, samples: t + t))
        }
        defer { MultiScaleSpectralLoss.cachesTargets = true }
        for loss in [MultiScaleSpectralLoss.ddsp(fftSizes: [1024, 256, 64]), .auraloss(sampleRate: 16000, melBands: 32)] {
            MultiScaleSpectralLoss.cachesTargets = false
            let fresh = score(target, loss)
            MultiScaleSpectralLoss.cachesTargets = true
            let first = score(target, loss), second = score(target, loss)
            XCTAssertEqual(first.values, fresh.values)
            XCTAssertEqual(second.values, fresh.values)
            XCTAssertEqual(second.gradient.samples, fresh.gradient.samples)
            target[1234] += 0.25
            let changed = score(target, loss)
            MultiScaleSpectralLoss.cachesTargets = false
            let changedFresh = score(target, loss)
            XCTAssertEqual(changed.values, changedFresh.values)
            XCTAssertNotEqual(changed.values, fresh.values)
            MultiScaleSpectralLoss.cachesTargets = true
        }
    }
}
