import Datasets
import Foundation
import Synths
import XCTest

/// Adversarial input (issue 14): every option of every subcommand, read from the executable's
/// own help dump so a new option is fuzzed without editing this file, with non-finite, negative,
/// huge and empty values; and crafted audio files. Each run must end in a clear error (exit 1,
/// or 64 for a usage error) or a correct result (exit 0), within a time limit: never a signal
/// (a trap or a segmentation fault), never a Swift runtime message.
///
/// The test suite runs 6 values per option; `Experiments/fuzz` runs `SYNTHMATCH_FUZZ=full`
/// (15 values per option; options are fuzzed one at a time, not in pairs).
final class FuzzTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }
    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
    var runner: CommandRunner { CommandRunner(folder: folder) }

    static var full: Bool { ProcessInfo.processInfo.environment["SYNTHMATCH_FUZZ"] == "full" }
    static var values: [String] {
        full ? ["nan", "-nan", "inf", "-inf", "0", "-1", "-0.5", "1e30", "1e-300", "", "9223372036854775807", "-9223372036854775808", "abc", "1/0", "0/0"]
             : ["nan", "-1", "0", "1e30", "1e-300", ""]
    }

    /// A WAV file (IEEE float, mono) written byte by byte, so it can say anything.
    static func wav(samples: [Float], rate: UInt32, dataBytes: Int? = nil) -> Data {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        let bytes = samples.count * 4
        d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + bytes)); d.append(contentsOf: Array("WAVE".utf8))
        d.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(3); u16(1); u32(rate); u32(rate &* 4); u16(4); u16(32)
        d.append(contentsOf: Array("data".utf8)); u32(UInt32(dataBytes ?? bytes))
        for s in samples { withUnsafeBytes(of: s.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    static func tone(_ n: Int, rate: Double = 16000) -> [Float] {
        (0..<n).map { Float(0.5 * sin(2 * Double.pi * 220 * Double($0) / rate)) }
    }

    /// Fast, valid base command lines; each option is then fuzzed in turn.
    func baseCommands() throws -> [String: [String]] {
        try Self.wav(samples: Self.tone(8000), rate: 16000).write(to: URL(fileURLWithPath: path("a.wav")))
        try Self.wav(samples: Self.tone(8000).map { $0 * 0.5 }, rate: 16000).write(to: URL(fileURLWithPath: path("b.wav")))
        for (i, name) in ["s0.h5", "s1.h5"].enumerated() {
            let r = try runner.synthmatch(["dataset", "generate", "--synth", "subtractive", "--count", "40", "--duration", "0.25",
                                           "--shard", "\(i)/2", "--out", path(name), "--quiet"])
            XCTAssertEqual(r.status, 0, r.output)
        }
        let r = try runner.synthmatch(["dataset", "merge", path("train.h5"), path("s0.h5"), path("s1.h5")])
        XCTAssertEqual(r.status, 0, r.output)
        try Data(DX7Sysex.encodeBank([DX7Patch(name: "FUZZ")])).write(to: URL(fileURLWithPath: path("bank.syx")))
        let model = try runner.synthmatch(["train", "--synth", "subtractive", "--data", path("train.h5"), "--steps", "1", "--out", path("model.h5"), "--quiet"])
        XCTAssertEqual(model.status, 0, model.output)
        // Issue 18: the shards themselves, joined in place (a virtual merge in a temporary folder).
        let sharded = try runner.synthmatch(["train", "--synth", "subtractive", "--data", path("s1.h5"), path("s0.h5"), "--steps", "1",
                                             "--out", path("model-shards.h5"), "--quiet"])
        XCTAssertEqual(sharded.status, 0, sharded.output)
        // The same split as the merged file's: "N training / M validation examples".
        func counts(_ output: String) -> Substring? { output.split(separator: "\n").first { $0.hasPrefix("train:") }?.split(separator: ",").last }
        XCTAssertNotNil(counts(model.output), model.output)
        XCTAssertEqual(counts(sharded.output), counts(model.output))
        let twice = try runner.synthmatch(["train", "--synth", "subtractive", "--data", path("s0.h5"), path("s0.h5"), "--steps", "1",
                                           "--out", path("model-twice.h5"), "--quiet"])
        XCTAssertNotEqual(twice.status, 0)
        XCTAssertTrue(twice.output.contains("given twice"), twice.output)
        return [
            "syx list": [path("bank.syx")],
            "syx extract": [path("bank.syx"), "--voice", "1", "--out", path("v.syx")],
            "distance": [path("a.wav"), path("b.wav")],
            "synths": [],
            "render": ["--synth", "subtractive", "--duration", "0.1", "--out", path("r.wav")],
            "dataset generate": ["--synth", "subtractive", "--count", "4", "--duration", "0.1", "--out", path("g.h5"), "--quiet"],
            "dataset info": [path("train.h5")],
            "probe-hdf5": [path("train.h5")],
            "dataset merge": [path("m.h5"), path("s0.h5"), path("s1.h5")],
            "train": ["--synth", "subtractive", "--data", path("train.h5"), "--steps", "1", "--spectral-steps", "0", "--out", path("t.h5"), "--quiet"],
            "match": [path("a.wav"), "--synth", "subtractive", "--no-model", "--steps", "1", "--restarts", "1", "--out", path("mt")],
            "estimate": [path("a.wav"), "--synth", "subtractive", "--model", path("model.h5"), "--out", path("est.csv")],
            "evaluate": ["--synth", "subtractive", "--data", path("train.h5"), "--count", "1", "--budget", "0.05", "--methods", "random", "--out", path("e"), "--quiet"],
            "evaluate-merge": ["--out", path("em"), path("e")],
        ]
    }

    /// (subcommand path, option names taking a value) from `--experimental-dump-help`.
    func options() throws -> [(command: String, options: [String])] {
        let dump = try runner.synthmatch(["--experimental-dump-help"])
        XCTAssertEqual(dump.status, 0)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(dump.output.utf8)) as? [String: Any])
        var out: [(String, [String])] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            let subcommands = command["subcommands"] as? [[String: Any]] ?? []
            if subcommands.isEmpty {
                let arguments = command["arguments"] as? [[String: Any]] ?? []
                let names = arguments.compactMap { a -> String? in
                    guard a["kind"] as? String == "option", let n = (a["names"] as? [[String: Any]])?.first?["name"] as? String else { return nil }
                    return n
                }
                out.append((path.joined(separator: " "), names))
            }
            for s in subcommands { walk(s, path + [s["commandName"] as? String ?? "?"]) }
        }
        walk(try XCTUnwrap(json["command"] as? [String: Any]), [])
        return out.filter { $0.0 != "help" }
    }

    func assertNoCrash(_ r: CommandRunner.Result, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(r.signalled || r.timedOut, "\(what): \(r.timedOut ? "did not finish" : "crashed (signal)"): \(r.output.suffix(600))", file: file, line: line)
        XCTAssertTrue([0, 1, 64].contains(r.status), "\(what): exit \(r.status): \(r.output.suffix(600))", file: file, line: line)
        for bad in ["Fatal error", "Program crashed", "Segmentation", "NSCocoaErrorDomain", "HDF5-DIAG", "precondition"] {
            XCTAssertFalse(r.output.contains(bad), "\(what): '\(bad)' in \(r.output.suffix(600))", file: file, line: line)
        }
    }

    func testEveryOptionWithHostileValues() throws {
        let bases = try baseCommands()
        var runs = 0
        for (command, names) in try options() {
            let base = try XCTUnwrap(bases[command], "no base command line for '\(command)': add one to FuzzTests")
            let words = command.split(separator: " ").map(String.init)
            for name in names {
                for value in Self.values {
                    // Replace the option if the base gives it, else add it.
                    var arguments = base
                    if let i = arguments.firstIndex(of: "--\(name)") { arguments[i + 1] = value } else { arguments += ["--\(name)", value] }
                    let r = try runner.synthmatch(words + arguments, timeout: 120)
                    assertNoCrash(r, "\(command) --\(name) '\(value)'")
                    runs += 1
                }
            }
        }
        XCTAssertGreaterThan(runs, 200)
    }

    /// A dataset whose damaged internals crash libhdf5 itself (Fixtures/damaged): every command
    /// that reads HDF5 ends in a clear error, never a crash of its own process.
    func testFileThatCrashesLibhdf5IsAClearError() throws {
        let damaged = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent("damaged/crashes-libhdf5.h5").path
        for arguments in [["dataset", "info", damaged],
                          ["dataset", "merge", path("m.h5"), damaged],
                          ["evaluate", "--synth", "subtractive", "--data", damaged, "--budget", "0.05", "--out", path("e"), "--quiet"],
                          ["train", "--synth", "subtractive", "--data", damaged, "--steps", "1", "--out", path("t.h5"), "--quiet"],
                          ["match", path("none.wav"), "--synth", "subtractive", "--model", damaged, "--out", path("m")]] {
            let r = try runner.synthmatch(arguments, timeout: 120)
            assertNoCrash(r, arguments.prefix(2).joined(separator: " "))
            XCTAssertEqual(r.status, 1, r.output)
        }
    }

    /// Audio files that lie about themselves, given to every command that reads audio.
    func testCraftedAudioFilesAreClearErrors() throws {
        let good = Self.tone(8000)
        let crafted: [(String, Data)] = [
            ("truncated-header", Self.wav(samples: good, rate: 16000).prefix(30)),
            ("truncated-data", Self.wav(samples: good, rate: 16000).prefix(44 + 1001)),
            ("data-size-lies", Self.wav(samples: good, rate: 16000, dataBytes: 0x7FFF_FFF0)),
            ("nan-samples", Self.wav(samples: good.enumerated().map { $0.offset % 100 == 0 ? .nan : $0.element }, rate: 16000)),
            ("inf-samples", Self.wav(samples: good.map { $0 > 0.49 ? .infinity : $0 }, rate: 16000)),
            ("empty", Self.wav(samples: [], rate: 16000)),
            ("silent", Self.wav(samples: [Float](repeating: 0, count: 8000), rate: 16000)),
            ("rate-1hz", Self.wav(samples: good, rate: 1)),
            ("rate-2e31", Self.wav(samples: good, rate: 1 << 31)),
            ("rate-max", Self.wav(samples: good, rate: .max)),
            ("huge-values", Self.wav(samples: good.map { $0 * 1e30 }, rate: 16000)),
            ("not-audio", Data("this is not a sound".utf8)),
        ]
        try Self.wav(samples: good, rate: 16000).write(to: URL(fileURLWithPath: path("good.wav")))
        let targets = folder.appendingPathComponent("targets")
        try FileManager.default.createDirectory(at: targets, withIntermediateDirectories: true)
        for (name, data) in crafted {
            let file = path("\(name).wav")
            try data.write(to: URL(fileURLWithPath: file))
            try data.write(to: targets.appendingPathComponent("\(name).wav"))
            for arguments in [["match", file, "--synth", "subtractive", "--no-model", "--steps", "1", "--restarts", "1", "--out", path("m-\(name)")],
                              ["distance", file, path("good.wav")]] {
                let r = try runner.synthmatch(arguments, timeout: 120)
                assertNoCrash(r, "\(arguments[0]) \(name)")
            }
        }
        // A folder of them: the readable ones are scored, the others skipped with a reason.
        let r = try runner.synthmatch(["evaluate", "--synth", "subtractive", "--targets", targets.path, "--budget", "0.05", "--methods", "random",
                                       "--out", path("e"), "--quiet"], timeout: 300)
        assertNoCrash(r, "evaluate --targets crafted")
        XCTAssertTrue(r.output.contains("skipping truncated-header.wav"), r.output)
    }
}
