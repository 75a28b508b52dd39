import Foundation
@testable import Matching
import XCTest

/// The standard distances against librosa / numpy / scipy (`Experiments/reference/metric_vectors.py`):
/// Kubichek's MCD on SPTK-convention mel-cepstra, Masuda & Saito's LSD, auraloss's spectral
/// convergence and spiegelib's MFCC L1, each within 1e-6 (relative).
final class StandardMetricsTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/metrics")

    func testEveryMetricMatchesItsReference() throws {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.folder.appendingPathComponent("metrics.json"))) as! [String: Any]
        let pairs = json["pairs"] as! [[String: Double]]
        let n = json["samples"] as! Int, rate = json["sample_rate"] as! Double
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("metrics-signals.f32"))
        let all = data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.load(fromByteOffset: $0 * 4, as: UInt32.self))) } }
        XCTAssertEqual(all.count, pairs.count * 2 * n)
        for (i, expected) in pairs.enumerated() {
            let prediction = Array(all[(2 * i * n)..<((2 * i + 1) * n)]), target = Array(all[((2 * i + 1) * n)..<((2 * i + 2) * n)])
            let m = StandardMetrics.measure(prediction, target, sampleRate: rate)
            for (name, value) in zip(StandardMetrics.names, m.values) {
                let reference = try XCTUnwrap(expected[name])
                XCTAssertEqual(value, reference, accuracy: 1e-6 * abs(reference), "pair \(i) \(name)")
            }
        }
    }

    func testIdenticalSignalsScoreZeroAndTheOldMCDIsAFixedMultiple() {
        let x = (0..<6000).map { Float(0.4 * sin(Double($0) * 0.09) * exp(-Double($0) / 3000)) }
        let y = (0..<6000).map { Float(0.3 * sin(Double($0) * 0.13)) }
        let same = StandardMetrics.measure(x, x, sampleRate: 16000)
        XCTAssertEqual(same.values, [0, 0, 0, 0])
        // The evaluation's older MCD (orthonormal DCT of ln mel power) is sqrt(2 x 40) times this one.
        let old = MatchMetrics.measure(x, y, sampleRate: 16000).melCepstral
        XCTAssertEqual(old / StandardMetrics.measure(x, y, sampleRate: 16000).melCepstralDB, (80.0).squareRoot(), accuracy: 1e-3)
    }
}
