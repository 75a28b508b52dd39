import Datasets
import Foundation
import Synths
import XCTest

/// The `synthmatch` executable as a user runs it: built next to the test bundle by
/// `swift build --build-tests` / `swift test`, run from a folder outside the repository.
final class CommandLineTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func executable() throws -> URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("synthmatch")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw XCTSkip("no synthmatch executable next to the test bundle")
    }

    @discardableResult
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        process.currentDirectoryURL = folder
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// From outside the repository: the shipped model is found, the whole note is matched, and
    /// `render --preset-file` at the matched note, length and rate reproduces match.wav exactly.
    func testMatchFindsTheModelAndItsPresetReplaysTheMatch() throws {
        let example = Self.repository.appendingPathComponent("Examples/gm-saw-lead-45.wav").path
        let match = try run(["match", example, "--synth", "subtractive", "--steps", "3", "--restarts", "2", "--out", "m"])
        XCTAssertEqual(match.status, 0, match.output)
        XCTAssertTrue(match.output.contains("pitch (YIN): A2 = MIDI 45"), match.output)
        let replay = try run(["render", "--preset-file", "m/preset.json", "--out", "again.wav"])
        XCTAssertEqual(replay.status, 0, replay.output)
        let original = try AudioFile.read(folder.appendingPathComponent("m/match.wav").path)
        let again = try AudioFile.read(folder.appendingPathComponent("again.wav").path)
        XCTAssertEqual(original.sampleRate, 16000)
        XCTAssertEqual(again, original)
        // Another note and length plays too.
        let other = try run(["render", "--preset-file", "m/preset.json", "--note", "57", "--duration", "0.5", "--sample-rate", "22050", "--out", "a3.wav"])
        XCTAssertEqual(other.status, 0, other.output)
        XCTAssertEqual(try AudioFile.read(folder.appendingPathComponent("a3.wav").path).samples.count, 11025)
    }

    /// A DX7 voice from a bank is rendered, matched with the dx7 module into a patch, and the
    /// patch comes back as a single-voice dump that `syx list` and `render --syx` read.
    func testDX7RoundTripFromBankToMatchedSyx() throws {
        let bank = Self.repository.appendingPathComponent("Tests/SynthsTests/Fixtures/dx7/renders.syx").path
        let listed = try run(["syx", "list", bank])
        XCTAssertEqual(listed.status, 0, listed.output)
        XCTAssertTrue(listed.output.contains(" 2  STACK"), listed.output)
        let target = try run(["render", "--syx", bank, "--voice", "2", "--note", "57", "--duration", "0.6", "--hold", "0.4",
                              "--sample-rate", "16000", "--out", "stack.wav"])
        XCTAssertEqual(target.status, 0, target.output)
        let match = try run(["match", "stack.wav", "--synth", "dx7", "--no-model", "--steps", "4", "--restarts", "1", "--out", "m"])
        XCTAssertEqual(match.status, 0, match.output)
        XCTAssertTrue(match.output.contains("rounded to the DX7's integers"), match.output)
        let syx = try Data(contentsOf: folder.appendingPathComponent("m/preset.syx"))
        XCTAssertEqual(syx.count, 163)
        let again = try run(["syx", "list", "m/preset.syx"])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertTrue(again.output.contains("STACK"), again.output)     // named after the target file
        let played = try run(["render", "--syx", "m/preset.syx", "--note", "57", "--out", "played.wav"])
        XCTAssertEqual(played.status, 0, played.output)
        // Datasets from banks: the voices of the module's algorithm, exactly; others refused clearly.
        let data = try run(["dataset", "generate", "--synth", "dx7-alg32", "--syx", bank, "--count", "6", "--duration", "0.2", "--out", "b.h5", "--quiet"])
        XCTAssertEqual(data.status, 0, data.output)
        let info = try run(["dataset", "info", "b.h5"])
        XCTAssertTrue(info.output.contains("sampling     dx7-banks"), info.output)
        let none = try run(["dataset", "generate", "--synth", "dx7-alg7", "--syx", bank, "--count", "6", "--out", "c.h5"])
        XCTAssertTrue(none.output.contains("uses algorithm 7"), none.output)
        let wrong = try run(["dataset", "generate", "--synth", "fm", "--syx", bank, "--count", "6", "--out", "c.h5"])
        XCTAssertTrue(wrong.output.contains("played by the dx7 modules"), wrong.output)
        XCTAssertEqual(mkfifo(folder.appendingPathComponent("fifo.syx").path, 0o644), 0)
        for (path, message) in [("fifo.syx", "is not a regular file"), ("none.syx", "no such file")] {
            let bad = try run(["dataset", "generate", "--synth", "dx7-alg32", "--syx", path, "--count", "6", "--out", "c.h5"])
            XCTAssertTrue(bad.output.contains(message), bad.output)
        }
    }

    /// The dx7 module proper: a dataset of every algorithm from a bank, a model, its estimates
    /// (the algorithm ranked) and a match whose preset.syx plays the chosen algorithm.
    func testDX7EstimatorFromBankToEstimatesAndMatch() throws {
        let bank = Self.repository.appendingPathComponent("Tests/SynthsTests/Fixtures/dx7/random-bank.syx").path
        let data = try run(["dataset", "generate", "--synth", "dx7", "--sampling", "dx7-banks", "--syx", bank, "--count", "40",
                            "--duration", "0.128", "--out", "d.h5", "--quiet"])
        XCTAssertEqual(data.status, 0, data.output)
        let train = try run(["train", "--synth", "dx7", "--data", "d.h5", "--steps", "2", "--out", "dx7.h5", "--quiet"])
        XCTAssertEqual(train.status, 0, train.output)
        let target = try run(["render", "--syx", bank, "--voice", "3", "--note", "60", "--duration", "0.5", "--hold", "0.3",
                              "--sample-rate", "16000", "--out", "t.wav"])
        XCTAssertEqual(target.status, 0, target.output)
        try Data("not audio".utf8).write(to: folder.appendingPathComponent("bad.wav"))
        let estimate = try run(["estimate", "t.wav", "bad.wav", "--synth", "dx7", "--model", "dx7.h5", "--out", "e.csv"])
        XCTAssertEqual(estimate.status, 0, estimate.output)
        XCTAssertTrue(estimate.output.contains("skipping bad.wav"), estimate.output)
        let lines = try String(contentsOf: folder.appendingPathComponent("e.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let header = lines[0].split(separator: ","), row = lines[1].split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertEqual(header.last, "algorithm_ranked")
        XCTAssertEqual(header.count, row.count)
        let ranked = row.last!.split(separator: " ")
        XCTAssertEqual(ranked.count, 3)
        let algorithms = ranked.map { Int($0.split(separator: ":")[0])! }
        XCTAssertTrue(algorithms.allSatisfy { (1...32).contains($0) })
        XCTAssertEqual(Double(row[header.firstIndex(of: "algorithm")!]), Double(algorithms[0]))
        let wrong = try run(["estimate", "t.wav", "--synth", "fm", "--model", "dx7.h5", "--out", "e.csv"])
        XCTAssertTrue(wrong.output.contains("is a model for dx7"), wrong.output)

        let match = try run(["match", "t.wav", "--synth", "dx7", "--model", "dx7.h5", "--steps", "3", "--out", "m"])
        XCTAssertEqual(match.status, 0, match.output)
        let preset = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("m/preset.json"))) as! [String: Any]
        let chosen = (preset["parameters"] as! [[String: Any]]).first { $0["name"] as? String == "algorithm" }!["value"] as! Double
        let voice = try DX7Sysex.decode([UInt8](Data(contentsOf: folder.appendingPathComponent("m/preset.syx"))), context: "m")[0]
        XCTAssertEqual(Double(voice.algorithm), chosen)
    }

    /// evaluate on synthetic targets: each parameter's error per target and method, budgets in
    /// evaluations, and the provenance beside every result CSV.
    func testEvaluateWritesParameterErrorsBudgetsAndProvenance() throws {
        let data = try run(["dataset", "generate", "--synth", "subtractive", "--count", "40", "--duration", "0.25", "--seed", "3", "--out", "d.h5", "--quiet"])
        XCTAssertEqual(data.status, 0, data.output)
        let e = try run(["evaluate", "--synth", "subtractive", "--data", "d.h5", "--count", "2", "--methods", "random,genetic",
                         "--budget", "30", "--evaluations", "20", "--seed", "5", "--out", "e", "--quiet"])
        XCTAssertEqual(e.status, 0, e.output)
        let rows = try String(contentsOf: folder.appendingPathComponent("e.csv"), encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let evaluations = rows[0].firstIndex(of: "evaluations")!
        XCTAssertEqual(rows.count, 1 + 2 * 2)
        for r in rows.dropFirst() { XCTAssertLessThanOrEqual(Int(r[evaluations])!, 20) }
        let parameters = try String(contentsOf: folder.appendingPathComponent("e-parameters.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(parameters[0], "target,method,parameter,true_value,found_value,abs_error_normalised")
        XCTAssertFalse(parameters.contains { $0.contains(",note_off,") }, "the analysed key release is given, not scored")
        XCTAssertGreaterThan(parameters.count, 2 * 2 * 10)
        for name in ["e", "e-summary", "e-parameters"] {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("\(name).provenance.json"))) as! [String: String]
            XCTAssertEqual(json["seed"], "5")
            XCTAssertEqual(json["budget_evaluations"], "20")
            XCTAssertTrue(json["command_line"]!.contains("--evaluations 20"))
        }
    }

    /// Issue 18: `evaluate --shard` in three parts (one of them through SLURM's array variables)
    /// and `evaluate-merge` give the single run's summary, byte for byte, and its rows (but for
    /// the seconds each method took); a missing shard is a clear error.
    func testEvaluateShardsMergeIntoTheSingleRun() throws {
        let data = try run(["dataset", "generate", "--synth", "subtractive", "--count", "60", "--duration", "0.25", "--seed", "3", "--out", "d.h5", "--quiet"])
        XCTAssertEqual(data.status, 0, data.output)
        let common = ["evaluate", "--synth", "subtractive", "--data", "d.h5", "--count", "5", "--methods", "random,genetic",
                      "--budget", "60", "--evaluations", "12", "--seed", "5", "--quiet"]
        XCTAssertEqual(try run(common + ["--out", "whole"]).status, 0)
        for i in 0..<2 { XCTAssertEqual(try run(common + ["--out", "part-\(i)", "--shard", "\(i)/3"]).status, 0) }
        let array = try run(common + ["--out", "part-2", "--shard", "auto"],
                            environment: ["SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "5", "SLURM_ARRAY_TASK_COUNT": "3"])
        XCTAssertEqual(array.status, 0, array.output)
        XCTAssertTrue(array.output.contains("targets 3..<5 of 5"), array.output)
        let merged = try run(["evaluate-merge", "--out", "merged", "part-2", "part-0.csv", "part-1"])
        XCTAssertEqual(merged.status, 0, merged.output)
        func text(_ name: String) throws -> String { try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8) }
        XCTAssertEqual(try text("merged-summary.csv"), try text("whole-summary.csv"))
        XCTAssertEqual(try text("merged-parameters.csv"), try text("whole-parameters.csv"))
        func withoutSeconds(_ csv: String) -> [String] {
            csv.split(separator: "\n").map { line in
                var f = line.split(separator: ",", omittingEmptySubsequences: false)
                f.remove(at: 3)   // target, target_index, method, seconds, ...
                return f.joined(separator: ",")
            }
        }
        XCTAssertEqual(withoutSeconds(try text("merged.csv")), withoutSeconds(try text("whole.csv")))
        let gap = try run(["evaluate-merge", "--out", "gap", "part-0", "part-2"])
        XCTAssertNotEqual(gap.status, 0)
        XCTAssertTrue(gap.output.contains("targets missing from the shards: 1, 2"), gap.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("gap.csv").path))
    }

    func testNoModelFoundNamesWhereItLookedAndBadTargetsAreClearErrors() throws {
        let example = Self.repository.appendingPathComponent("Examples/gm-saw-lead-45.wav").path
        let missing = try run(["match", example, "--synth", "modal", "--out", "m"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("no model modal.h5 found; looked in:"), missing.output)
        XCTAssertFalse(missing.output.contains("Usage:"), missing.output)
        try AudioFile.write(MonoAudio(samples: [Float](repeating: 0, count: 8000), sampleRate: 16000), to: folder.appendingPathComponent("silent.wav").path)
        let silent = try run(["match", "silent.wav", "--synth", "subtractive", "--no-model", "--out", "m"])
        XCTAssertNotEqual(silent.status, 0)
        XCTAssertTrue(silent.output.contains("silent.wav is silent"), silent.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("m").path))
        for bad in [["--max-duration", "nan"], ["--max-duration", "4"], ["--restarts", "100000"], ["--learning-rate", "inf"],
                    ["--note", "200"], ["--f0", "-1"], ["--note-off", "0"], ["--sample-rate", "1e12"], ["--out", ""]] {
            let r = try run(["match", example, "--synth", "subtractive", "--no-model"] + bad)
            XCTAssertEqual(r.status, 64, "\(bad): \(r.output)")   // ArgumentParser's validation exit code
        }
    }
}
