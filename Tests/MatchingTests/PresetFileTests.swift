import Datasets
import DSP
@testable import Matching
import Synths
import XCTest

final class PresetFileTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-preset-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }
    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// A subtractive preset at A3 + 12 cents, from a random point of its parameters.
    func makePreset(sampleRate: Double = 44100) -> (PresetFile, Controls<Float>) {
        let synth = SubtractiveSynth(sampleRate: sampleRate)
        let random = GradientCheck.randomControls(layout: synth.layout(frameCount: 1), batchSize: 1, seed: 7, range: 0.2...0.8)
        var controls = Controls<Float>(layout: random.layout, batchSize: 1, values: random.values.map { Float($0) })
        controls.set(item: 0, parameter: 0, to: Float(synth.parameters[0].normalised(220 * exp2(12.0 / 1200))))
        controls.set(item: 0, parameter: synth.parameters.firstIndex { $0.name == "note_off" }!, to: Float(synth.parameters[16].normalised(0.6)))
        controls.set(item: 0, parameter: 3, to: 0)   // no detuned second oscillator: one clear pitch
        let preset = PresetFile(synth: synth, controls: controls.values, note: 57, fineTuneCents: 12, durationSeconds: 1.2,
                                sampleRate: sampleRate, gainDB: -3)
        return (preset, controls)
    }

    func testRoundTripAndRenderReproducesTheMatchedNote() throws {
        let (preset, controls) = makePreset()
        try AtomicFile.write(try preset.encoded(), to: path("preset.json"))
        let read = try PresetFile.read(path("preset.json"))
        XCTAssertEqual(read, preset)
        XCTAssertNil(read.parameters.first { $0.name == "f0" }, "the pitch is the note + fine tune, not a parameter")
        XCTAssertEqual(read.parameters.first { $0.name == "note_off" }?.unit, "s")
        // At the matched note, length and rate: the module's render of the same controls, times the gain.
        let synth = SubtractiveSynth(sampleRate: 44100)
        let direct = synth.render(controls, RenderRequest(sampleCount: Int((1.2 * 44100).rounded()))).samples
        let played = try read.render()
        XCTAssertEqual(played.count, direct.count)
        let gain = Float(pow(10, -3.0 / 20))
        for i in stride(from: 0, to: direct.count, by: 97) { XCTAssertEqual(played[i], direct[i] * gain, accuracy: 2e-6 * max(1, abs(direct[i]))) }
        // Velocity 50 against the matched 100: 40 log10(1/2) = -12.04 dB.
        let soft = try read.render(velocity: 50)
        XCTAssertEqual(Double(soft[1000] / played[1000]), pow(10, 40 * log10(0.5) / 20), accuracy: 1e-5)
    }

    func testTransposesLikeAnInstrument() throws {
        let (preset, _) = makePreset(sampleRate: 16000)
        let up = try preset.render(note: 69, duration: 1)
        let a = try NoteAnalysis.analyse(up, sampleRate: 16000)
        // A4 + the preset's 12 cents fine tune.
        XCTAssertEqual(1200 * log2(try XCTUnwrap(a.f0) / 440), 12, accuracy: 3)
        XCTAssertEqual(preset.f0(note: 57), 220 * exp2(12.0 / 1200), accuracy: 1e-9)
    }

    func testNoteOffIsInSecondsSoLongerRendersFallSilent() throws {
        let (preset, _) = makePreset(sampleRate: 16000)
        let long = try preset.render(duration: 8)
        let end = long.suffix(16000)   // the last second: note-off at 0.6 s + release <= 4 s
        XCTAssertEqual(end.map { abs($0) }.max()!, 0, accuracy: 1e-6)
    }

    func testDamagedFilesAreClearErrors() throws {
        let (preset, _) = makePreset()
        func write(_ mutate: (inout [String: Any]) -> Void) throws -> String {
            var json = try JSONSerialization.jsonObject(with: try preset.encoded()) as! [String: Any]
            mutate(&json)
            let p = path("p-\(UUID().uuidString).json")
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: p))
            return p
        }
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("format", { $0["format"] = "other" }),
            ("version", { $0["format_version"] = 99 }),
            ("unknown synth", { $0["synth"] = "nope" }),
            ("module version", { $0["module_version"] = 1 }),
            ("note", { $0["note"] = 300 }),
            ("gain", { $0["gain_db"] = 1e9 }),
            ("missing parameter", { $0["parameters"] = Array(($0["parameters"] as! [Any]).dropFirst()) }),
            ("value out of range", {
                var ps = $0["parameters"] as! [[String: Any]]
                ps[0]["value"] = 1e9
                $0["parameters"] = ps
            }),
        ]
        for (name, mutate) in cases {
            XCTAssertThrowsError(try PresetFile.read(try write(mutate)), name) { XCTAssertTrue("\($0)".contains(".json:"), "\(name): \($0)") }
        }
        try Data("not json".utf8).write(to: URL(fileURLWithPath: path("bad.json")))
        XCTAssertThrowsError(try PresetFile.read(path("bad.json"))) { XCTAssertTrue("\($0)".contains("not a SynthMatch preset"), "\($0)") }
        XCTAssertThrowsError(try PresetFile.read(path("missing.json"))) { XCTAssertTrue("\($0)".contains("cannot read"), "\($0)") }
    }

    func testLoudnessMatchNeverClips() {
        let quiet: [Float] = (0..<1000).map { Float(0.1 * sin(Double($0) * 0.1)) }
        let loud: [Float] = (0..<1000).map { Float(0.5 * sin(Double($0) * 0.1)) }
        XCTAssertEqual(LoudnessMatch.gainDB(for: quiet, toMatch: loud), 20 * log10(5), accuracy: 1e-3)
        // A target RMS the render could only reach by clipping: capped at -0.1 dBFS peak.
        let gain = LoudnessMatch.gainDB(for: quiet, toMatch: loud.map { $0 * 3 })
        XCTAssertEqual(0.1 * pow(10, gain / 20), 0.988553, accuracy: 1e-4)
        XCTAssertEqual(LoudnessMatch.gainDB(for: [0, 0], toMatch: loud), 0)
    }
}

final class OutputFolderTests: XCTestCase {
    func testAppearsWholeReplacesAndNeverMixes() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("m").path
        try OutputFolder.write(out) { try Data("1".utf8).write(to: URL(fileURLWithPath: $0 + "/a.txt")) }
        // A failing second run leaves the first run's folder as it was, and no temporary folder.
        XCTAssertThrowsError(try OutputFolder.write(out) { folder in
            try Data("2".utf8).write(to: URL(fileURLWithPath: folder + "/b.txt"))
            throw CocoaError(.fileWriteOutOfSpace)
        })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["a.txt"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["m"])
        // A successful run replaces the folder as a whole.
        try OutputFolder.write(out) { try Data("3".utf8).write(to: URL(fileURLWithPath: $0 + "/c.txt")) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["c.txt"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["m"])
        // Never onto a file, and never into a missing parent.
        try Data().write(to: root.appendingPathComponent("f"))
        XCTAssertThrowsError(try OutputFolder.write(root.appendingPathComponent("f").path) { _ in }) { XCTAssertTrue("\($0)".contains("not a folder"), "\($0)") }
        XCTAssertThrowsError(try OutputFolder.write(root.appendingPathComponent("no/such").path) { _ in }) { XCTAssertTrue("\($0)".contains("does not exist"), "\($0)") }
    }
}
