import DSP
import Foundation
import XCTest

final class VectorMathTests: XCTestCase {
    /// The float logarithm against float64's, over every exponent and a dense sweep of
    /// mantissas: within 2 ulp of the correctly rounded value, and within 1 ulp for 99% of
    /// inputs (the loss's magnitudes are such values).
    func testFloatLogIsWithinTwoUlpEverywhere() {
        var xs: [Float] = []
        var rng = CounterRandom(key: 11)
        for exponent in -126...127 {
            for _ in 0..<400 { xs.append(Float(sign: .plus, exponent: exponent, significand: Float(1 + rng.unit()))) }
        }
        // Around 1, where log is small and relative error hardest.
        for i in -2000...2000 { xs.append(1 + Float(i) * 1e-5) }
        xs.append(contentsOf: [Float.leastNormalMagnitude, Float.greatestFiniteMagnitude, 0.70710677, 0.70710683, 1, 2, 0.5])
        let ys = xs.map { VectorMath.logarithm($0) }
        var worst = 0.0, withinOne = 0
        for (x, y) in zip(xs, ys) {
            let exact = Double.log(Double(x))
            let ulps = abs(Double(y) - exact) / Double(Float(exact).ulp == 0 ? Float.leastNonzeroMagnitude : Float(exact).ulp)
            worst = max(worst, ulps)
            if ulps <= 1 { withinOne += 1 }
        }
        XCTAssertLessThanOrEqual(worst, 2, "worst error \(worst) ulp")
        XCTAssertGreaterThan(Double(withinOne) / Double(xs.count), 0.99)
    }

    /// Zero, negatives, infinity and NaN give the library's own answers; subnormals are within
    /// 2 ulp of it.
    func testSpecialValuesAreTheLibrarys() {
        let xs: [Float] = [0, -0.0, -1, -.infinity, .infinity, .nan, Float.leastNonzeroMagnitude, 1e-40, 1.1754942e-38]
        let ys = xs.map { VectorMath.logarithm($0) }
        for (x, y) in zip(xs, ys).prefix(6) {
            let expected = Float.log(x)
            if expected.isNaN { XCTAssertTrue(y.isNaN, "log(\(x))") } else { XCTAssertEqual(y, expected, "log(\(x))") }
        }
        for (x, y) in zip(xs, ys).dropFirst(6) {
            XCTAssertEqual(Double(y), Double.log(Double(x)), accuracy: 2 * Double(Float.log(x).ulp), "log(\(x))")
        }
    }

    func testDoubleLogIsTheLibrarys() {
        let xs: [Double] = [1e-300, 0.3, 1, 7, 1e300]
        let ys = xs.map { VectorMath.logarithm($0) }
        XCTAssertEqual(ys, xs.map { Double.log($0) })
    }

    func testLaneSumsAddEveryValue() {
        for count in [0, 1, 7, 8, 9, 1000, 1003] {
            let xs = (0..<count).map { Double($0 % 17) - 3 }
            XCTAssertEqual(xs.withUnsafeBufferPointer { VectorMath.sum($0.baseAddress ?? UnsafePointer(bitPattern: 8)!, count: count) }, xs.reduce(0, +))
        }
    }

    /// The SIMD (aligned) and unaligned FFTW plans give the same spectra: a row read from an
    /// odd offset takes the unaligned plan.
    func testAlignedAndUnalignedPlansAgree() {
        for size in [64, 1024] {
            let fft = RealFFT<Float>(size: size)
            var rng = CounterRandom(key: 12)
            let buffer = (0..<(size + 1)).map { _ in Float(rng.normal()) }
            let aligned = Array(buffer[1...])
            var a = [Float](repeating: 0, count: size + 2), b = [Float](repeating: 0, count: size + 4)
            // Aligned: arrays' own storage; unaligned: one float into the buffer, into an output
            // one float into its array.
            aligned.withUnsafeBufferPointer { x in a.withUnsafeMutableBufferPointer { fft.forward(x.baseAddress!, $0.baseAddress!) } }
            buffer.withUnsafeBufferPointer { x in b.withUnsafeMutableBufferPointer { fft.forward(x.baseAddress! + 1, $0.baseAddress! + 1) } }
            let scale = a.map { abs($0) }.max()!
            for i in 0..<(size + 2) { XCTAssertEqual(a[i], b[i + 1], accuracy: 1e-6 * scale, "size \(size), value \(i)") }
        }
    }

    /// 2^v against float64's over the whole clamped range (dense near 0 and the ends): within
    /// 2 ulp; clamped outside it (finite, never inf); NaN stays NaN.
    func testExponential2IsWithinTwoUlp() {
        var xs: [Float] = (-126_000...127_000).map { Float($0) / 1000 }
        xs += (-2000...2000).map { Float($0) * 1e-6 }
        var worst = 0.0
        for x in xs {
            let exact = Double.exp2(Double(x))
            let ulps = abs(Double(VectorMath.exponential2(x)) - exact) / Double(Float(exact).ulp)
            worst = max(worst, ulps)
        }
        XCTAssertLessThanOrEqual(worst, 2, "worst error \(worst) ulp")
        XCTAssertEqual(VectorMath.exponential2(1000), Float(Double.exp2(127)))
        XCTAssertEqual(VectorMath.exponential2(-1000), Float(Double.exp2(-126)))
        XCTAssertTrue(VectorMath.exponential2(.nan).isNaN)
        XCTAssertEqual(VectorMath.exponential2(0), 1)
    }

    /// tanh within 1e-7 (absolute) of float64's, odd, and exactly +-1 far out.
    func testHyperbolicTangentIsWithinATenthOfAMillionth() {
        for i in -40000...40000 {
            let x = Float(i) / 2000
            XCTAssertEqual(Double(VectorMath.hyperbolicTangent(x)), Double.tanh(Double(x)), accuracy: 1e-7, "x = \(x)")
            XCTAssertEqual(VectorMath.hyperbolicTangent(-x), -VectorMath.hyperbolicTangent(x))
        }
        XCTAssertEqual(VectorMath.hyperbolicTangent(100), 1)
        XCTAssertEqual(VectorMath.hyperbolicTangent(-100), -1)
    }
}
