import AutodiffReference
import DSP
import Synths
import XCTest

final class AutodiffHarmonicTests: XCTestCase {
    /// The compiler-differentiated scalar loop renders what the bank renders for constant
    /// controls, and its gradient equals the bank's hand-written adjoint (summed over frames).
    func testMatchesTheHarmonicBankAndItsAdjoint() {
        let k = 6, n = 512
        let bank = HarmonicOscillatorBank(sampleRate: 16000, harmonicCount: k)
        let autodiff = AutodiffHarmonic(harmonicCount: k, sampleRate: 16000, sampleCount: n)
        var random = CounterRandom(seed: 8, index: 0)
        var u = (0...k).map { _ in 0.2 + 0.6 * random.unit() }
        u.append(bank.parameters[bank.f0Index].normalised(1900))   // harmonics 5 and 6 above Nyquist
        let layout = bank.layout(frameCount: 4)
        var controls = Controls<Double>(zerosFor: layout, batchSize: 1)
        for p in 0..<layout.parameters.count { for f in 0..<4 { controls.values[controls.index(item: 0, parameter: p, frame: f)] = u[p] } }
        let (y, pullback) = bank.valueWithPullback(controls, RenderRequest(sampleCount: n))
        let (ad, adPullback) = autodiff.valueWithPullback(u)
        for i in 0..<n { XCTAssertEqual(ad[i], y.samples[i], accuracy: 1e-9) }
        let dy = (0..<n).map { _ in random.normal() }
        let exact = pullback(AudioBatch(batchSize: 1, sampleCount: n, samples: dy))
        let viaCompiler = adPullback(dy)
        for p in 0..<layout.parameters.count {
            let summed = (0..<4).reduce(0.0) { $0 + exact.values[exact.index(item: 0, parameter: p, frame: $1)] }
            XCTAssertEqual(viaCompiler[p], summed, accuracy: 1e-7 * max(1, abs(summed)), "parameter \(p)")
        }
    }
}
