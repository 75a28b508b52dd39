import DSP
import Foundation
import Synths
import XCTest

/// `TorchsynthVoice` against torchsynth's own `Voice` (`Experiments/reference/torchsynth_voice.py`:
/// three notes of 0.2 s at 44.1 kHz with random patches whose envelopes, key release and LFOs
/// all act within the note; the noise replaced by a sequence both sides compute).
final class TorchsynthVoiceTests: XCTestCase {
    struct Fixture: Decodable {
        let seconds: Double
        let sample_count: Int
        let stride: Int
        let parameters: [String: [Double]]
        let audio: [[Float]]
    }

    static func fixture() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/torchsynth_voice.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func testRendersWhatTorchsynthRenders() throws {
        let f = try Self.fixture()
        let voice = TorchsynthVoice(seconds: f.seconds)
        XCTAssertEqual(voice.sampleCount, f.sample_count)
        let patches = try (0..<f.audio.count).map { b in try TorchsynthVoice.Patch(torchsynth: f.parameters.mapValues { $0[b] }) }
        func noiseRow(_ b: Int) -> [Float] {
            (0..<voice.sampleCount).map { (i: Int) -> Float in
                let k: Int = (7919 * i + 104_729 * b) % 2001
                return Float(k) / 1000 - 1
            }
        }
        let noise = (0..<patches.count).map(noiseRow)
        let audio = voice.render(patches, noise: noise)
        for (b, expected) in f.audio.enumerated() {
            let ours = Swift.stride(from: 0, to: voice.sampleCount, by: f.stride).map { audio.item(b)[$0] }
            XCTAssertEqual(ours.count, expected.count)
            let peak = expected.map { abs($0) }.max()!
            let worst = zip(ours, expected).map { abs($0 - $1) }.max()!
            let squaredError: Double = zip(ours, expected).map { (a: Float, e: Float) -> Double in Double(a - e) * Double(a - e) }.reduce(0, +)
            let squaredSignal: Double = expected.map { (e: Float) -> Double in Double(e) * Double(e) }.reduce(0, +)
            let rms = (squaredError / squaredSignal).squareRoot(), signal = 1.0
            print("note \(b): peak \(peak), worst difference \(worst), rms difference / rms \(rms / signal)")
            XCTAssertGreaterThan(peak, 0.01, "note \(b) is silent: the test would prove nothing")
            XCTAssertLessThan(rms / signal, 3e-4, "note \(b)")
            XCTAssertLessThan(worst, 5e-4 * peak, "note \(b)")
        }
    }

    func testNamesAMissingOrUnusableParameter() throws {
        var values = try Self.fixture().parameters.mapValues { $0[0] }
        values["lfo_2/sqr"] = nil
        XCTAssertThrowsError(try TorchsynthVoice.Patch(torchsynth: values)) { XCTAssertTrue("\($0)".contains("lfo_2/sqr")) }
        values["lfo_2/sqr"] = .nan
        XCTAssertThrowsError(try TorchsynthVoice.Patch(torchsynth: values)) { XCTAssertTrue("\($0)".contains("lfo_2/sqr")) }
        values["lfo_2/sqr"] = 0.5
        XCTAssertNoThrow(try TorchsynthVoice.Patch(torchsynth: values))
        // Values that would render NaN: negative times, a non-positive curve, no LFO shape.
        for (key, bad) in [("adsr_2/release", -0.1), ("lfo_1_rate_adsr/alpha", 0.0), ("keyboard/duration", 0.0)] {
            var broken = values
            broken[key] = bad
            XCTAssertThrowsError(try TorchsynthVoice.Patch(torchsynth: broken), key) { XCTAssertTrue("\($0)".contains(key), "\($0)") }
        }
        var silentLFO = values
        for shape in ["sin", "tri", "saw", "rsaw", "sqr"] { silentLFO["lfo_1/\(shape)"] = 0 }
        XCTAssertThrowsError(try TorchsynthVoice.Patch(torchsynth: silentLFO)) { XCTAssertTrue("\($0)".contains("lfo_1")) }
    }
}
