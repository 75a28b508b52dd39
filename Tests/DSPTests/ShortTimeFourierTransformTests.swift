@testable import DSP
import RealModule
import XCTest

final class ShortTimeFourierTransformTests: XCTestCase {
    /// Direct DFT of the padded, windowed frames: the definition, O(n^2).
    func directSTFT(_ x: [Double], _ c: STFTConfiguration) -> [Double] {
        let n = x.count, frames = c.frameCount(samples: n)!
        let offset = (c.padding == .centerReflect || c.padding == .centerZeros) ? c.fftSize / 2 : 0
        let hann: [Double] = periodicHann(c.windowLength)
        let left = (c.fftSize - c.windowLength) / 2
        var out: [Double] = []
        for f in 0..<frames {
            for k in 0...(c.fftSize / 2) {
                var re = 0.0, im = 0.0
                for t in 0..<c.fftSize {
                    let w = (t >= left && t < left + c.windowLength) ? hann[t - left] : 0
                    var s = f * c.hopSize + t - offset
                    if c.padding == .centerReflect { if s < 0 { s = -s }; if s >= n { s = 2 * (n - 1) - s } }
                    let v = (s >= 0 && s < n) ? x[s] : 0
                    let a = -2 * Double.pi * Double(k * t) / Double(c.fftSize)
                    re += w * v * Double.cos(a); im += w * v * Double.sin(a)
                }
                out += [re, im]
            }
        }
        return out
    }

    let configurations = [
        STFTConfiguration(fftSize: 64, hopSize: 16, padding: .endZeros),
        STFTConfiguration(fftSize: 64, hopSize: 12, windowLength: 40, padding: .centerReflect),
        STFTConfiguration(fftSize: 32, hopSize: 5, windowLength: 31, padding: .centerZeros),
        STFTConfiguration(fftSize: 32, hopSize: 7, padding: .none),
    ]

    func testMatchesTheDirectDFTForEveryPadding() {
        var rng = CounterRandom(key: 2)
        let x = (0..<203).map { _ in rng.normal() }
        for c in configurations {
            let stft = ShortTimeFourierTransform<Double>(c, sampleCount: x.count)!
            let ours = stft.transform(x), direct = directSTFT(x, c)
            XCTAssertEqual(ours.count, direct.count)
            let err = zip(ours, direct).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(err, 1e-12, "\(c)")
        }
    }

    func testFrameCountsFollowTheReferenceLibraries() {
        // tf.signal.stft(pad_end=True): ceil(N / hop); torch.stft(center=True): 1 + N / hop.
        XCTAssertEqual(STFTConfiguration(fftSize: 2048, hopSize: 512, padding: .endZeros).frameCount(samples: 64000), 125)
        XCTAssertEqual(STFTConfiguration(fftSize: 1024, hopSize: 120, windowLength: 600, padding: .centerReflect).frameCount(samples: 4096), 35)
        XCTAssertNil(STFTConfiguration(fftSize: 1024, hopSize: 120, padding: .centerReflect).frameCount(samples: 512))
        XCTAssertNil(STFTConfiguration(fftSize: 64, hopSize: 16, padding: .none).frameCount(samples: 63))
    }

    func testAdjointIsTheTransposeOfTheTransform() {
        // <S x, g> == <x, S^T g> for random x, g, in every padding mode.
        var rng = CounterRandom(key: 4)
        for c in configurations {
            let n = 150
            let stft = ShortTimeFourierTransform<Double>(c, sampleCount: n)!
            let x = (0..<n).map { _ in rng.normal() }
            var g = (0..<stft.spectrumCount).map { _ in rng.normal() }
            // Imaginary parts of the DC and Nyquist bins are identically zero in S x, so the
            // adjoint ignores them; zero them in g for an exact identity.
            for f in 0..<stft.frameCount { g[2 * f * stft.binCount + 1] = 0; g[2 * (f * stft.binCount + stft.binCount - 1) + 1] = 0 }
            let lhs = zip(stft.transform(x), g).map { $0 * $1 }.reduce(0, +)
            var dx = [Double](repeating: 0, count: n)
            var gg = g
            gg.withUnsafeMutableBufferPointer { gp in dx.withUnsafeMutableBufferPointer { stft.accumulateAdjoint(gp.baseAddress!, into: $0.baseAddress!) } }
            let rhs = zip(x, dx).map { $0 * $1 }.reduce(0, +)
            XCTAssertEqual(lhs, rhs, accuracy: 1e-10 * max(1, abs(lhs)), "\(c)")
        }
    }

    func testInverseReconstructsTheSignal() {
        var rng = CounterRandom(key: 6)
        let x = (0..<512).map { _ in rng.normal() }
        let c = STFTConfiguration(fftSize: 64, hopSize: 16, padding: .centerReflect)
        let stft = ShortTimeFourierTransform<Double>(c, sampleCount: x.count)!
        let spectrum = stft.transform(x)
        var y = [Double](repeating: 0, count: x.count)
        spectrum.withUnsafeBufferPointer { s in y.withUnsafeMutableBufferPointer { stft.inverse(s.baseAddress!, into: $0.baseAddress!) } }
        XCTAssertLessThan(zip(x, y).map { abs($0 - $1) }.max()!, 1e-12)
    }

    func testFloatFFTMatchesDouble() {
        var rng = CounterRandom(key: 8)
        let x = (0..<1000).map { _ in rng.normal() }
        let c = STFTConfiguration(fftSize: 256, hopSize: 64, padding: .endZeros)
        let a = ShortTimeFourierTransform<Double>(c, sampleCount: 1000)!.transform(x)
        let b = ShortTimeFourierTransform<Float>(c, sampleCount: 1000)!.transform(x.map { Float($0) })
        XCTAssertLessThan(zip(a, b).map { abs($0 - Double($1)) }.max()!, 1e-4)
    }
}
