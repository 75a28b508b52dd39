import AutodiffReference
import DSP
import Synths
import XCTest

/// Each module's scalar-loop version (`ScalarLoop.make`, differentiated by the compiler)
/// renders what the module renders for static controls, and its gradient equals the module's
/// hand-written adjoint summed over control frames: two independent derivations of one
/// derivative agreeing to rounding.
final class ScalarLoopTests: XCTestCase {
    func check(_ synth: any Synth, sampleCount n: Int = 600, seed: UInt64 = 3, file: StaticString = #filePath, line: UInt = #line) {
        guard let loop = ScalarLoop.make(for: synth, sampleCount: n) else {
            return XCTFail("\(synth.name): no scalar-loop version", file: file, line: line)
        }
        var random = CounterRandom(seed: seed, index: 0)
        let u = synth.parameters.map { _ in 0.2 + 0.6 * random.unit() }
        let layout = synth.layout(frameCount: 4)
        var controls = Controls<Double>(zerosFor: layout, batchSize: 1)
        for p in 0..<u.count { for f in 0..<layout.count(p) { controls.values[controls.index(item: 0, parameter: p, frame: f)] = u[p] } }
        let (y, pullback) = synth.valueWithPullback(controls, RenderRequest(sampleCount: n))
        let (ad, adPullback) = loop.valueWithPullback(u)
        XCTAssertEqual(ad.count, n, file: file, line: line)
        let peak = y.samples.map(abs).max()!
        XCTAssertGreaterThan(peak, 1e-3, "\(synth.name): a silent test point checks nothing", file: file, line: line)
        let worst = zip(ad, y.samples).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(worst, 1e-9 * max(1, peak), "\(synth.name): output", file: file, line: line)
        let dy = (0..<n).map { _ in random.normal() }
        let exact = pullback(AudioBatch(batchSize: 1, sampleCount: n, samples: dy))
        let viaCompiler = adPullback(dy)
        let summed = (0..<u.count).map { p in (0..<layout.count(p)).reduce(0.0) { $0 + exact[item: 0, parameter: p, frame: $1] } }
        let scale = summed.map(abs).max()!
        XCTAssertGreaterThan(scale, 0, file: file, line: line)
        for p in 0..<u.count where abs(viaCompiler[p] - summed[p]) > 1e-7 * scale + 1e-7 * abs(summed[p]) {
            XCTFail("\(synth.name) \(synth.parameters[p].name): autodiff \(viaCompiler[p]) vs adjoint \(summed[p])", file: file, line: line)
        }
    }

    func testHarmonicBank() { check(HarmonicOscillatorBank(sampleRate: 16000, harmonicCount: 16)) }
    func testFilteredNoise() { check(FilteredNoise(sampleRate: 16000, bandCount: 33)) }
    /// DDSP's harmonic-plus-noise composite (`SynthSum`): the parts' loops, summed.
    func testHarmonicPlusNoise() { check(SynthRegistry.harmonicPlusNoise(sampleRate: 16000, harmonicCount: 8, noiseBands: 17)) }
    func testEnvelope() { check(EnvelopeSynth(sampleRate: 16000)) }
    func testSubtractiveFrequencySampled() { check(SubtractiveSynth(sampleRate: 16000, harmonicCount: 12)) }
    func testSubtractiveTimeDomain() { check(SubtractiveSynth(sampleRate: 16000, harmonicCount: 12, filter: .timeDomain)) }
    func testFMAlgorithm5() { check(FMSynth(sampleRate: 16000, algorithm: 5)) }
    /// Algorithm 4: operator 4 feeds back to the top of its stack (6).
    func testFMAlgorithm4() { check(FMSynth(sampleRate: 16000, algorithm: 4)) }
    func testFMFixedRatios() { check(try! SynthRegistry.make("ddx7-strings")) }
    func testWavetableFixed() { check(try! SynthRegistry.make("wavetable-fixed")) }
    func testWaveshaper() { check(try! SynthRegistry.make("waveshaper")) }
    func testModalImpulse() { check(ModalSynth(sampleRate: 16000, modeCount: 12)) }
    func testModalNoiseBurst() { check(ModalSynth(sampleRate: 16000, modeCount: 12, excitation: .noiseBurst(seconds: 0.01))) }

    /// The modules without a scalar-loop version say so instead of returning a wrong one.
    func testModulesWithoutAVersion() throws {
        for name in ["wavetable", "newt", "modal-fft", "harmonic-reverb"] {
            XCTAssertNil(ScalarLoop.make(for: try SynthRegistry.make(name), sampleCount: 64), name)
        }
    }
}
