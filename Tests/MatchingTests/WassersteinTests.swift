import DSP
import Foundation
@testable import Matching
import XCTest

final class WassersteinTests: XCTestCase {
    func tone(_ bin: Double, n: Int, fftSize: Int = 2048) -> [Double] {
        (0..<n).map { sin(2 * Double.pi * bin * Double($0) / Double(fftSize)) }
    }

    /// Two bin-centred tones: their long-term spectra are translates of each other, so all
    /// the mass moves by the bin distance: W1 = 10 bins x df.
    func testDistanceBetweenTwoTonesIsTheirFrequencyGap() {
        let loss = SpectralWasserstein(sampleRate: 16000)
        let n = 8192
        let a = AudioBatch(batchSize: 1, sampleCount: n, samples: tone(40, n: n))
        let b = AudioBatch(batchSize: 1, sampleCount: n, samples: tone(50, n: n))
        let df = 16000.0 / 2048
        XCTAssertEqual(loss.values(a, b)[0], 10 * df, accuracy: 1e-3 * 10 * df)
        XCTAssertEqual(loss.values(a, a)[0], 0, accuracy: 1e-9)
        // Symmetric, and an octave costs more than a semitone.
        XCTAssertEqual(loss.values(b, a)[0], loss.values(a, b)[0], accuracy: 1e-9)
        let c = AudioBatch(batchSize: 1, sampleCount: n, samples: tone(80, n: n))
        XCTAssertGreaterThan(loss.values(a, c)[0], 3 * loss.values(a, b)[0])
    }

    func testGradientMatchesFiniteDifferences() {
        let loss = SpectralWasserstein(sampleRate: 16000, fftSize: 256)
        let n = 1024
        var random = CounterRandom(seed: 4, index: 0)
        let target = AudioBatch(batchSize: 2, sampleCount: n, samples: (0..<(2 * n)).map { _ in random.normal() })
        let x = (0..<(2 * n)).map { i in 0.5 * sin(Double(i) * 0.3) + 0.1 * random.normal() }
        let report = GradientCheck.check(at: x, coordinates: Array(stride(from: 0, to: 2 * n, by: 37)),
            function: { v in loss.values(AudioBatch(batchSize: 2, sampleCount: n, samples: v), target) },
            vectorJacobianProduct: { v, w in
                let g = loss.valuesWithGradient(AudioBatch(batchSize: 2, sampleCount: n, samples: v), target).gradient
                return (0..<(2 * n)).map { g.samples[$0] * w[$0 / n] }
            })
        XCTAssertLessThan(report.relativeError, 1e-4, "\(report)")
    }
}

final class WaveformLossTests: XCTestCase {
    func testValuesAndGradientsAgainstClosedFormsAndFiniteDifferences() {
        let p = AudioBatch<Double>(batchSize: 2, sampleCount: 4, samples: [1, -2, 3, 0.5, 0, 0, 1, 1])
        let t = AudioBatch<Double>(batchSize: 2, sampleCount: 4, samples: [0, 0, 1, 1, 0, 0, 0, 0])
        // Item 0: errors 1, -2, 2, -0.5 -> L1 mean 5.5/4, L2 mean 9.25/4; item 1: errors 0, 0, 1, 1.
        XCTAssertEqual(WaveformLoss(.l1).values(p, t), [5.5 / 4, 0.5])
        XCTAssertEqual(WaveformLoss(.l2).values(p, t), [9.25 / 4, 0.5])
        var random = CounterRandom(seed: 6, index: 0)
        let n = 64
        let target = AudioBatch(batchSize: 2, sampleCount: n, samples: (0..<(2 * n)).map { _ in random.normal() })
        let x = (0..<(2 * n)).map { _ in random.normal() }
        for loss in [WaveformLoss(.l1), WaveformLoss(.l2)] {
            let report = GradientCheck.check(at: x,
                function: { v in loss.values(AudioBatch(batchSize: 2, sampleCount: n, samples: v), target) },
                vectorJacobianProduct: { v, w in
                    let g = loss.valuesWithGradient(AudioBatch(batchSize: 2, sampleCount: n, samples: v), target).gradient
                    return (0..<(2 * n)).map { g.samples[$0] * w[$0 / n] }
                })
            XCTAssertLessThan(report.relativeError, 1e-4, "\(loss.norm): \(report)")
        }
    }
}
