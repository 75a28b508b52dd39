import Datasets
import Foundation
import XCTest

final class AudioFileTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-audio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// A WAV file built byte by byte, so tests do not depend on the writer under test.
    func wav(channels: Int, rate: Int, bitsPerSample: Int, float: Bool, frames: [[Double]]) -> Data {
        var body = Data()
        for frame in frames {
            for v in frame {
                if float { var f = Float(v).bitPattern.littleEndian; body.append(Data(bytes: &f, count: 4)) }
                else { var i = Int16(max(-32768, min(32767, (v * 32767).rounded()))).littleEndian; body.append(Data(bytes: &i, count: 2)) }
            }
        }
        func u32(_ v: Int) -> Data { var x = UInt32(v).littleEndian; return Data(bytes: &x, count: 4) }
        func u16(_ v: Int) -> Data { var x = UInt16(v).littleEndian; return Data(bytes: &x, count: 2) }
        let block = channels * bitsPerSample / 8
        var d = Data("RIFF".utf8) + u32(36 + body.count) + Data("WAVE".utf8)
        d += Data("fmt ".utf8) + u32(16) + u16(float ? 3 : 1) + u16(channels) + u32(rate) + u32(rate * block) + u16(block) + u16(bitsPerSample)
        d += Data("data".utf8) + u32(body.count) + body
        return d
    }

    func testRoundTripsFloatAndPCM16() throws {
        let samples = (0..<1000).map { Float(sin(Double($0) * 0.05) * 0.8) }
        try AudioFile.write(MonoAudio(samples: samples, sampleRate: 16000), to: path("f.wav"))
        let f = try AudioFile.read(path("f.wav"))
        XCTAssertEqual(f.samples, samples)
        XCTAssertEqual(f.sampleRate, 16000)
        try AudioFile.write(MonoAudio(samples: samples, sampleRate: 22050), to: path("i.wav"), format: .pcm16)
        let i = try AudioFile.read(path("i.wav"))
        XCTAssertEqual(i.sampleRate, 22050)
        XCTAssertLessThan(zip(i.samples, samples).map { abs($0 - $1) }.max()!, 1.0 / 32767 + 1e-6)
    }

    func testDownmixesStereoToTheChannelMean() throws {
        try wav(channels: 2, rate: 8000, bitsPerSample: 32, float: true, frames: [[0.5, -0.1], [0.2, 0.4], [1, 0]]).write(to: URL(fileURLWithPath: path("s.wav")))
        let a = try AudioFile.read(path("s.wav"))
        XCTAssertEqual(a.samples.count, 3)
        for (x, y) in zip(a.samples, [0.2, 0.3, 0.5] as [Float]) { XCTAssertEqual(x, y, accuracy: 1e-7) }
    }

    func testResamplingKeepsPitchAndDuration() throws {
        let rate = 44100.0, f = 1000.0
        let samples = (0..<44100).map { Float(0.5 * sin(2 * Double.pi * f * Double($0) / rate)) }
        try AudioFile.write(MonoAudio(samples: samples, sampleRate: rate), to: path("r.wav"))
        let a = try AudioFile.read(path("r.wav"), sampleRate: 16000)
        XCTAssertEqual(a.sampleRate, 16000)
        XCTAssertEqual(a.samples.count, 16000)
        // Compare with the ideal sine away from the edges (the sinc filter's transients).
        let err = (2000..<14000).map { abs(Double(a.samples[$0]) - 0.5 * sin(2 * Double.pi * f * Double($0) / 16000)) }.max()!
        XCTAssertLessThan(err, 1e-3)
    }

    /// A bad *requested* rate is reported as the request's fault, never the file's, and never traps.
    func testBadRequestedRatesAreNamedAsRequests() throws {
        let audio = MonoAudio(samples: [Float](repeating: 0.1, count: 100), sampleRate: 16000)
        for rate in [Double.nan, .infinity, -1, 0, 1e12] {
            XCTAssertThrowsError(try AudioFile.resample(audio, to: rate)) { XCTAssertTrue("\($0)".contains("requested sample rate"), "\($0)") }
        }
        try AudioFile.write(audio, to: path("a.wav"))
        XCTAssertThrowsError(try AudioFile.read(path("a.wav"), sampleRate: .nan)) { XCTAssertFalse("\($0)".contains("a.wav"), "\($0)") }
        XCTAssertThrowsError(try AudioFile.write(MonoAudio(samples: [0], sampleRate: .nan), to: path("b.wav"))) {
            XCTAssertTrue("\($0)".contains("cannot write audio (the audio's sample rate"), "\($0)")
        }
    }

    func testClearErrorsForBadFiles() throws {
        XCTAssertThrowsError(try AudioFile.read(path("nope.wav"))) { XCTAssertEqual("\($0)", "\(self.path("nope.wav")): no such file") }
        try Data("this is not audio at all, just text".utf8).write(to: URL(fileURLWithPath: path("text.wav")))
        XCTAssertThrowsError(try AudioFile.read(path("text.wav"))) { XCTAssertTrue("\($0)".contains("cannot read audio"), "\($0)") }
        try wav(channels: 1, rate: 16000, bitsPerSample: 16, float: false, frames: []).write(to: URL(fileURLWithPath: path("empty.wav")))
        XCTAssertThrowsError(try AudioFile.read(path("empty.wav"))) { XCTAssertTrue("\($0)".contains("0 samples"), "\($0)") }
        try wav(channels: 1, rate: 16000, bitsPerSample: 32, float: true, frames: [[0.1], [.nan], [0.2]]).write(to: URL(fileURLWithPath: path("nan.wav")))
        XCTAssertThrowsError(try AudioFile.read(path("nan.wav"))) { XCTAssertTrue("\($0)".contains("sample 1 is NaN"), "\($0)") }
        // Truncated: the header promises 1000 frames, the file holds 10.
        var truncated = wav(channels: 1, rate: 16000, bitsPerSample: 16, float: false, frames: Array(repeating: [0.1], count: 1000))
        truncated = truncated.prefix(44 + 20)
        try truncated.write(to: URL(fileURLWithPath: path("cut.wav")))
        // libsndfile reads what is there; the reader must not invent the missing frames.
        XCTAssertEqual(try AudioFile.read(path("cut.wav")).samples.count, 10)
    }

    func testFailedWritesLeaveNothingBehind() throws {
        XCTAssertThrowsError(try AudioFile.write(MonoAudio(samples: [0, .infinity], sampleRate: 16000), to: path("bad.wav")))
        XCTAssertThrowsError(try AudioFile.write(MonoAudio(samples: [0, 1], sampleRate: 16000), to: path("no/such/dir/x.wav")))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
    }
}

/// Result CSVs carry their provenance beside them.
final class ProvenanceTests: XCTestCase {
    func testResultCSVsCarryCommitMachineDateAndFacts() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-prov-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        Provenance.record("seed", "7")
        var csv = CSVWriter(path: folder.appendingPathComponent("result.csv").path, header: ["a"])
        csv.row([1.5])
        try csv.finish()
        let data = try Data(contentsOf: folder.appendingPathComponent("result.provenance.json"))
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: String])
        for key in ["commit", "command_line", "date_utc", "host", "cores", "memory_gib", "os"] {
            XCTAssertFalse(document[key, default: ""].isEmpty, "\(key) missing in \(document)")
        }
        XCTAssertEqual(document["seed"], "7")
        // Files that belong to another output carry none.
        var part = CSVWriter(path: folder.appendingPathComponent("part.csv").path, header: ["a"])
        part.provenance = false
        try part.finish()
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("part.provenance.json").path))
    }
}
