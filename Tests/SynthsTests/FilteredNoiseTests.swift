import DSP
import Foundation
@testable import Synths
import XCTest

final class FilteredNoiseTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable { let window_size: Int; let ir_size: Int; let output: [Double]; let impulse_responses: [[Double]] }
        let audio: [Double]
        let magnitudes: [[Double]]
        let cases: [Case]
    }

    func testMatchesDDSPFrequencyFilterPort() throws {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("ddsp_filter.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        for c in fixture.cases {
            let synth = FilteredNoise(bandCount: 65, windowSize: c.window_size)
            XCTAssertEqual(synth.impulseLength, c.ir_size, "window \(c.window_size)")
            // IRs: D m per frame.
            var irs: [Double] = []
            for m in fixture.magnitudes {
                for t in 0..<synth.impulseLength {
                    irs.append((0..<65).reduce(0.0) { $0 + synth.design[t * 65 + $1] * m[$1] })
                }
            }
            let expectedIRs = c.impulse_responses.flatMap { $0 }
            XCTAssertLessThan(zip(irs, expectedIRs).map { abs($0 - $1) }.max()!, 1e-12, "IR, window \(c.window_size)")
            var y = [Double](repeating: 0, count: fixture.audio.count)
            y.withUnsafeMutableBufferPointer { synth.convolve(fixture.audio, irs, frames: fixture.magnitudes.count, into: $0.baseAddress!, count: fixture.audio.count) }
            XCTAssertLessThan(zip(y, c.output).map { abs($0 - $1) }.max()!, 1e-12, "output, window \(c.window_size)")
        }
    }

    func testDefaultIRLagsByTwoSamplesAsDDSPDoes() {
        // 65 bands with window 257 gives L = 128 with the peak at 64 and crop start 62.
        let synth = FilteredNoise()
        XCTAssertEqual(synth.impulseLength, 128)
        XCTAssertEqual(synth.cropStart, 62)
    }

    func testNoiseIsUniformAndKeyed() {
        let synth = FilteredNoise()
        let a: [Double] = synth.noiseSamples(Double.self, count: 100_000, key: 1)
        let mean = a.reduce(0, +) / Double(a.count)
        let variance = a.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(a.count)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1.0 / 3, accuracy: 0.01)
        XCTAssertTrue(a.allSatisfy { $0 >= -1 && $0 < 1 })
        XCTAssertNotEqual(Array(a.prefix(10)), synth.noiseSamples(Double.self, count: 10, key: 2))
    }

    func testGradientMatchesFiniteDifferences() {
        SynthConformance.assertGradientMatchesFiniteDifferences(FilteredNoise(bandCount: 9, windowSize: 11), frames: 3, samples: 90)
        SynthConformance.assertGradientMatchesFiniteDifferences(FilteredNoise(bandCount: 8), frames: 4, samples: 64)
    }

    func testDeterministicAndBatchIndependent() {
        SynthConformance.assertDeterministicAndBatchIndependent(FilteredNoise(), frames: 10, samples: 640)
    }
}
