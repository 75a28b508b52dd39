import DSP
import Synths
import XCTest

final class BiquadLowpassTests: XCTestCase {
    /// The batch filter is the recursion `y = b0 (x + 2 x1 + x2) - a1 y1 - a2 y2`, row by row.
    func testFiltersEveryRowWithTheRecursion() {
        let filter = BiquadLowpass(cutoff: 1000, q: 0.7071, sampleRate: 16000)
        var rng = CounterRandom(key: 41)
        let x = AudioBatch<Float>(batchSize: 3, sampleCount: 500, samples: (0..<1500).map { _ in Float(rng.normal()) })
        let y = filter.valueWithPullback(x).value
        let c = filter.coefficients
        for b in 0..<3 {
            var x1 = 0.0, x2 = 0.0, y1 = 0.0, y2 = 0.0
            for i in 0..<500 {
                let xi = Double(x.samples[b * 500 + i])
                let yi = c.b0 * (xi + 2 * x1 + x2) - c.a1 * y1 - c.a2 * y2
                XCTAssertEqual(Double(y.samples[b * 500 + i]), yi, accuracy: 1e-5)
                (x2, x1, y2, y1) = (x1, xi, y1, yi)
            }
        }
        // A low-pass: DC passes at unity gain.
        let dc = filter.valueWithPullback(AudioBatch(rows: [[Float](repeating: 1, count: 4000)])).value.samples.last!
        XCTAssertEqual(dc, 1, accuracy: 1e-4)
    }

    /// The pullback against central differences of `L = sum w y` (linear in x, so exact up to
    /// float rounding) and against the coefficient gradient computed in float64 by hand.
    func testPullbackMatchesFiniteDifferences() {
        let filter = BiquadLowpass(cutoff: 2500, q: 2, sampleRate: 16000)
        var rng = CounterRandom(key: 42)
        let n = 300
        let x = AudioBatch<Float>(batchSize: 2, sampleCount: n, samples: (0..<(2 * n)).map { _ in Float(rng.normal()) })
        let w = AudioBatch<Float>(batchSize: 2, sampleCount: n, samples: (0..<(2 * n)).map { _ in Float(rng.normal()) })
        let (y, pullback) = filter.valueWithPullback(x)
        let (dx, dCoefficients) = pullback(w)
        func loss(_ x: AudioBatch<Float>) -> Double {
            zip(filter.valueWithPullback(x).value.samples, w.samples).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        for i in [0, 17, 299, 300, 451, 599] {
            var plus = x, minus = x
            plus.samples[i] += 0.5; minus.samples[i] -= 0.5
            XCTAssertEqual(Double(dx.samples[i]), loss(plus) - loss(minus), accuracy: 2e-3 * max(1, abs(Double(dx.samples[i]))), "x[\(i)]")
        }
        // dL/da1 = -sum e[n] y[n-1] etc. in float64: e from the reversed recursion.
        let c = filter.coefficients
        var expected = (0.0, 0.0, 0.0)
        for b in 0..<2 {
            var e = [Double](repeating: 0, count: n + 2)
            for i in stride(from: n - 1, through: 0, by: -1) { e[i] = Double(w.samples[b * n + i]) - c.a1 * e[i + 1] - c.a2 * e[i + 2] }
            for i in 0..<n {
                func xs(_ j: Int) -> Double { j >= 0 ? Double(x.samples[b * n + j]) : 0 }
                func ys(_ j: Int) -> Double { j >= 0 ? Double(y.samples[b * n + j]) : 0 }
                expected.0 += e[i] * (xs(i) + 2 * xs(i - 1) + xs(i - 2))
                expected.1 -= e[i] * ys(i - 1)
                expected.2 -= e[i] * ys(i - 2)
            }
        }
        XCTAssertEqual(dCoefficients.b0, expected.0, accuracy: 1e-3 * abs(expected.0))
        XCTAssertEqual(dCoefficients.a1, expected.1, accuracy: 1e-3 * abs(expected.1))
        XCTAssertEqual(dCoefficients.a2, expected.2, accuracy: 1e-3 * abs(expected.2))
    }
}
