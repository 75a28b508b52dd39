@testable import DSP
import XCTest

final class NoteAnalysisTests: XCTestCase {
    let rate = 16000.0

    /// A 6-harmonic tone after `lead` seconds of silence: 20 ms attack, then `sustainDBPerSecond`
    /// of decay until `off` seconds after the onset, then a fall of `releaseDBPerSecond`.
    func note(f0: Double, lead: Double, off: Double, total: Double, sustainDBPerSecond: Double = 0,
              releaseDBPerSecond: Double = 150) -> [Float] {
        (0..<Int(total * rate)).map { n in
            let t = Double(n) / rate - lead
            guard t >= 0 else { return 0 }
            var db = -sustainDBPerSecond * min(t, off)
            if t > off { db -= releaseDBPerSecond * (t - off) }
            let level = min(t / 0.02, 1) * pow(10, db / 20)
            var y = 0.0
            for k in 1...6 { y += sin(2 * Double.pi * Double(k) * f0 * t) / Double(k) }
            return Float(0.3 * level * y)
        }
    }

    func testHeldNoteThenReleased() throws {
        let x = note(f0: 220, lead: 0.25, off: 1.5, total: 3)
        let a = try NoteAnalysis.analyse(x, sampleRate: rate)
        XCTAssertEqual(a.onsetSeconds, 0.25, accuracy: 0.003)
        XCTAssertTrue(a.released)
        XCTAssertEqual(a.noteOffSeconds, 1.5, accuracy: 0.03)
        // -60 dB below the peak is reached 0.4 s after note-off.
        XCTAssertEqual(a.durationSeconds, 1.9, accuracy: 0.03)
        XCTAssertFalse(a.truncated)
        XCTAssertEqual(try XCTUnwrap(a.f0), 220, accuracy: 220 * (exp2(0.5 / 1200) - 1))
        XCTAssertEqual(a.note?.midi, 57)
        XCTAssertGreaterThan(a.voicedFraction, 0.9)
    }

    func testDecayingNoteThenDamped() throws {
        // A piano-like note: -8 dB/s while held, -120 dB/s once damped at 0.8 s.
        let x = note(f0: 146.83, lead: 0.05, off: 0.8, total: 2.5, sustainDBPerSecond: 8, releaseDBPerSecond: 120)
        let a = try NoteAnalysis.analyse(x, sampleRate: rate)
        XCTAssertTrue(a.released)
        XCTAssertEqual(a.noteOffSeconds, 0.8, accuracy: 0.03)
        XCTAssertEqual(a.note?.midi, 50)
    }

    func testNoteHeldToTheEndOfTheFileIsNotReleased() throws {
        let a = try NoteAnalysis.analyse(note(f0: 440, lead: 0, off: 5, total: 1.2), sampleRate: rate)
        XCTAssertFalse(a.released)
        XCTAssertEqual(a.noteOffSeconds, a.durationSeconds, accuracy: 1e-9)
        XCTAssertEqual(a.note?.midi, 69)
    }

    func testLongNotesAreCutAtTheMaximumAndSaySo() throws {
        var settings = NoteAnalysis.Settings()
        settings.maximumDuration = 1
        let a = try NoteAnalysis.analyse(note(f0: 220, lead: 0.1, off: 2, total: 3), sampleRate: rate, settings: settings)
        XCTAssertTrue(a.truncated)
        XCTAssertEqual(a.sampleCount, 16000)
        XCTAssertGreaterThan(a.soundingSeconds, 2.2)
    }

    func testSilentShortAndBrokenInputsAreClearErrors() {
        XCTAssertThrowsError(try NoteAnalysis.analyse([Float](repeating: 0, count: 16000), sampleRate: rate)) {
            XCTAssertEqual($0 as? NoteAnalysis.Failure, .silent(peakDB: -240))
        }
        XCTAssertThrowsError(try NoteAnalysis.analyse([Float](repeating: 1e-7, count: 16000), sampleRate: rate))
        XCTAssertThrowsError(try NoteAnalysis.analyse([], sampleRate: rate))
        XCTAssertThrowsError(try NoteAnalysis.analyse([0.5, .nan, 0.5], sampleRate: rate)) {
            XCTAssertEqual($0 as? NoteAnalysis.Failure, .notFinite)
        }
        let click = [Float](repeating: 0, count: 4000) + [Float](repeating: 0.5, count: 100) + [Float](repeating: 0, count: 4000)
        XCTAssertThrowsError(try NoteAnalysis.analyse(click, sampleRate: rate)) {
            guard case .tooShort = $0 as? NoteAnalysis.Failure else { return XCTFail("\($0)") }
        }
    }

    func testNoiseIsUnpitched() throws {
        var rng = CounterRandom(seed: 1, index: 0)
        let noise = (0..<16000).map { n in Float(rng.normal() * 0.2 * min(Double(n) / 800, 1)) }
        let a = try NoteAnalysis.analyse(noise, sampleRate: rate)
        XCTAssertNil(a.f0)
        XCTAssertNil(a.note)
        XCTAssertLessThan(a.voicedFraction, 1.0 / 3)
    }
}
