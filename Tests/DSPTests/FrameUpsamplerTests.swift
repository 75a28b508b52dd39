@testable import DSP
import Foundation
import XCTest

struct DSPVectors: Decodable {
    struct Mel: Decodable { let sample_rate: Double; let fft_size: Int; let bands: Int; let weights: [[Double]] }
    struct Interpolate: Decodable { let frames: [Double]; let samples: Int; let half_pixel: [Double]; let align_corners: [Double] }
    let mel: Mel
    let interpolate: Interpolate

    static func load() throws -> DSPVectors {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("dsp_vectors.json")
        return try JSONDecoder().decode(DSPVectors.self, from: Data(contentsOf: url))
    }
}

final class FrameUpsamplerTests: XCTestCase {
    func testHalfPixelAndAlignCornersMatchTorchInterpolate() throws {
        let v = try DSPVectors.load().interpolate
        let half = FrameUpsampler<Double>(frameCount: v.frames.count, sampleCount: v.samples, interpolation: .halfPixel).upsample(v.frames)
        let corners = FrameUpsampler<Double>(frameCount: v.frames.count, sampleCount: v.samples, interpolation: .alignCorners).upsample(v.frames)
        XCTAssertLessThan(zip(half, v.half_pixel).map { abs($0 - $1) }.max()!, 1e-12)
        XCTAssertLessThan(zip(corners, v.align_corners).map { abs($0 - $1) }.max()!, 1e-12)
    }

    func testDDSPLinearReadsAtNTimesFOverNAndHoldsTheLastFrame() {
        // tf.compat.v1 bilinear, align_corners=False: source n * F / N.
        let y = FrameUpsampler<Double>(frameCount: 2, sampleCount: 8, interpolation: .ddspLinear).upsample([0, 1])
        XCTAssertEqual(y, [0, 0.25, 0.5, 0.75, 1, 1, 1, 1])
    }

    func testDDSPWindowClosedForm() {
        // out[k hop + m] = x[k] cos^2(pi m / 2 hop) + x[k+1] sin^2(pi m / 2 hop), x[F] = x[F-1].
        let x = [1.0, 3.0, -2.0]
        let y = FrameUpsampler<Double>(frameCount: 3, sampleCount: 12, interpolation: .ddspWindow).upsample(x)
        for n in 0..<12 {
            let k = n / 4, m = Double(n % 4), c = cos(Double.pi * m / 8)
            XCTAssertEqual(y[n], x[k] * c * c + x[min(k + 1, 2)] * (1 - c * c), accuracy: 1e-12)
        }
    }

    func testAdjointIsTheTranspose() {
        var rng = CounterRandom(key: 3)
        for mode in FrameInterpolation.allCases {
            let up = FrameUpsampler<Double>(frameCount: 5, sampleCount: 40, interpolation: mode)
            let x = (0..<5).map { _ in rng.normal() }, g = (0..<40).map { _ in rng.normal() }
            let lhs = zip(up.upsample(x), g).map { $0 * $1 }.reduce(0, +)
            let rhs = zip(x, up.adjoint(g)).map { $0 * $1 }.reduce(0, +)
            XCTAssertEqual(lhs, rhs, accuracy: 1e-12, "\(mode)")
        }
    }
}

final class MelFilterbankTests: XCTestCase {
    func testMatchesLibrosa() throws {
        let v = try DSPVectors.load().mel
        let ours = MelFilterbank<Double>(sampleRate: v.sample_rate, fftSize: v.fft_size, melCount: v.bands)
        let expected = v.weights.flatMap { $0 }
        XCTAssertEqual(ours.weights.count, expected.count)
        XCTAssertLessThan(zip(ours.weights, expected).map { abs($0 - $1) }.max()!, 1e-12)
    }

    func testSlaneyScaleRoundTrips() {
        for hz in [0.0, 200, 999, 1000, 4000, 8000] {
            XCTAssertEqual(MelFilterbank<Double>.melToHz(MelFilterbank<Double>.hzToMel(hz)), hz, accuracy: 1e-9)
        }
    }
}

final class ParameterSpecTests: XCTestCase {
    func testTorchsynthReferenceValues() {
        // torchsynth: attack [0, 2] curve .5 at u = .5 -> 0.5 s; release [0, 5] -> 1.25 s;
        // mod depth +-96 st, curve .2, symmetric, u = .75 -> +3 st; LFO [0, 20] curve .25 -> 1.25 Hz.
        XCTAssertEqual(ParameterSpec("a", range: 0...2, scale: .curve(0.5)).physical(0.5), 0.5, accuracy: 1e-12)
        XCTAssertEqual(ParameterSpec("r", range: 0...5, scale: .curve(0.5)).physical(0.5), 1.25, accuracy: 1e-12)
        XCTAssertEqual(ParameterSpec("d", range: -96...96, scale: .symmetricCurve(0.2)).physical(0.75), 3.0, accuracy: 1e-9)
        XCTAssertEqual(ParameterSpec("l", range: 0...20, scale: .curve(0.25)).physical(0.5), 1.25, accuracy: 1e-12)
    }

    func testRoundTripsAndDerivatives() {
        let specs = [ParameterSpec("lin", range: -3...5), ParameterSpec("log", range: 30...8000, scale: .logarithmic),
                     ParameterSpec("curve", range: 0...2, scale: .curve(0.5)), ParameterSpec("sym", range: -1...3, scale: .symmetricCurve(0.3)),
                     ParameterSpec("steep", range: 0...1, scale: .curve(2))]
        for spec in specs {
            for u in stride(from: 0.05, through: 0.95, by: 0.1) {
                let (v, dv) = spec.physicalWithDerivative(u)
                XCTAssertEqual(spec.normalised(v), u, accuracy: 1e-9, spec.name)
                let h = 1e-6
                let numeric = (spec.physical(u + h) - spec.physical(u - h)) / (2 * h)
                XCTAssertEqual(dv, numeric, accuracy: 1e-5 * max(1, abs(numeric)), "\(spec.name) at \(u)")
            }
            XCTAssertEqual(spec.physical(-1.0), spec.minimum, accuracy: 1e-9)
            XCTAssertEqual(spec.physical(2.0), spec.maximum, accuracy: 1e-9)
            XCTAssertFalse(spec.contains(.nan))
        }
    }

    func testControlLayoutMixesGlobalAndPerFrameParameters() {
        let layout = ControlLayout(parameters: [ParameterSpec("g", range: 0...1), ParameterSpec("f", range: 0...1, rate: .perFrame),
                                                ParameterSpec("h", range: 0...1)], frameCount: 4)
        XCTAssertEqual(layout.offsets, [0, 1, 5])
        XCTAssertEqual(layout.stride, 6)
        var c = Controls<Double>(zerosFor: layout, batchSize: 2)
        c[item: 1, parameter: 1, frame: 2] = 0.5
        XCTAssertEqual(c.values[6 + 1 + 2], 0.5)
        c[item: 1, parameter: 0, frame: 3] = 0.25   // global parameters ignore the frame
        XCTAssertEqual(c.values[6], 0.25)
    }
}

final class CounterRandomTests: XCTestCase {
    func testValuesArePureFunctionsOfKeyAndCounter() {
        var a = CounterRandom(seed: 42, index: 7)
        let first = (0..<5).map { _ in a.next() }
        let b = CounterRandom(seed: 42, index: 7)
        XCTAssertEqual(first, (0..<5).map { b.value(at: UInt64($0)) })
        XCTAssertNotEqual(first[0], CounterRandom(seed: 42, index: 8).value(at: 0))
        XCTAssertNotEqual(first[0], CounterRandom(seed: 43, index: 7).value(at: 0))
    }
}
