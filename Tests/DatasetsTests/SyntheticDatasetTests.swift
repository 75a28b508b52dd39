import Datasets
import DSP
import Foundation
import Synths
import XCTest

final class SyntheticDatasetTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-ds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
        Parallelism.threadCount = 0
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func spec(_ synth: String = "subtractive", count: Int = 40) -> DatasetSpec {
        var s = DatasetSpec(synth: synth, count: count, seed: 7)
        s.duration = 0.25
        return s
    }

    func testShardsAndThreadCountsHoldTheSameExamplesBitForBit() throws {
        let s = spec()
        Parallelism.threadCount = 2
        try DatasetGenerator.generate(s, to: path("all.h5"), progress: false)
        Parallelism.threadCount = 1
        try DatasetGenerator.generate(s, range: 0..<13, to: path("a.h5"), progress: false)
        try DatasetGenerator.generate(s, range: 13..<40, to: path("b.h5"), progress: false)
        let all = try HDF5File.open(path("all.h5")), a = try HDF5File.open(path("a.h5")), b = try HDF5File.open(path("b.h5"))
        for name in ["audio", "params", "params_physical"] {
            XCTAssertEqual(try all.readRows(name, start: 0, count: 13), try a.readRows(name, start: 0, count: 13), name)
            XCTAssertEqual(try all.readRows(name, start: 13, count: 27), try b.readRows(name, start: 0, count: 27), name)
        }
        XCTAssertEqual(try b.intAttribute("first_index"), 13)
        XCTAssertEqual(try b.intAttribute("count_total"), 40)
    }

    func testAudioReRendersFromParamsSeedAndIndex() throws {
        for synth in ["subtractive", "fm", "modal-noise"] {
            var s = spec(synth, count: 6)
            s.logmel = synth == "fm"
            try DatasetGenerator.generate(s, range: 2..<6, to: path("\(synth).h5"), progress: false)
            let info = try DatasetInfo(path: path("\(synth).h5"))
            XCTAssertEqual(info.count, 4)
            XCTAssertEqual(info.firstIndex, 2)
            XCTAssertEqual(info.hasLogMel, synth == "fm")
            let file = try HDF5File.open(path("\(synth).h5"))
            let module = try SynthRegistry.make(synth)
            let layout = module.layout(frameCount: s.frameCount)
            for row in 0..<4 {
                let params = try file.readRows("params", start: row, count: 1)
                XCTAssertTrue(params.allSatisfy { (0...1).contains($0) })
                var c = Controls<Float>(zerosFor: layout, batchSize: 1)
                for (p, v) in params.enumerated() { c.set(item: 0, parameter: p, to: v) }
                let key = DatasetGenerator.noiseKey(seed: s.seed, index: info.firstIndex + row)
                let audio = module.render(c, RenderRequest(sampleCount: s.sampleCount, noiseKeys: [key])).samples
                XCTAssertEqual(audio, try file.readRows("audio", start: row, count: 1), "\(synth) row \(row)")
            }
        }
    }

    func testPresetJitterStaysNearAPreset() throws {
        var s = spec("fm-alg5", count: 8)
        s.sampling = .presetJitter
        s.noteRange = nil
        try DatasetGenerator.generate(s, to: path("pj.h5"), progress: false)
        let physical = try HDF5File.open(path("pj.h5")).readRows("params_physical", start: 0, count: 8)
        let synth = try SynthRegistry.make("fm-alg5")
        let p = synth.parameters.count
        let ratio2 = synth.parameters.firstIndex { $0.name == "op2_ratio" }!
        // fm-alg5 presets are epiano (op2 ratio 14) and bell (3.5): jitter of 0.05 in log-ratio space.
        for i in 0..<8 {
            let r = Double(physical[i * p + ratio2])
            XCTAssertTrue(abs(log(r / 14)) < 0.5 || abs(log(r / 3.5)) < 0.5, "op2 ratio \(r)")
        }
    }

    /// `fm` is `fm-alg5` by another name: its presets jitter (issue 14: it said "no presets").
    /// A file name near the 255-byte limit still gets a partial file beside it.
    func testFMPresetJitterAndLongNames() throws {
        var s = spec("fm", count: 4); s.sampling = .presetJitter
        XCTAssertNoThrow(try DatasetGenerator.generate(s, to: path("fm.h5"), progress: false))
        let long = String(repeating: "n", count: 250) + ".h5"
        XCTAssertLessThan((DatasetGenerator.partialPath(path(long)) as NSString).lastPathComponent.utf8.count, 255)
        XCTAssertNoThrow(try DatasetGenerator.generate(spec(count: 2), to: path(long), progress: false))
        XCTAssertEqual(try DatasetInfo(path: path(long)).count, 2)
    }

    func testClearErrors() throws {
        XCTAssertThrowsError(try DatasetGenerator.generate(spec("kazoo"), to: path("x.h5"), progress: false)) { XCTAssertTrue("\($0)".contains("unknown synth")) }
        var s = spec(); s.count = 0
        XCTAssertThrowsError(try DatasetGenerator.generate(s, to: path("x.h5"), progress: false)) { XCTAssertTrue("\($0)".contains("--count")) }
        var pj = spec("modal"); pj.sampling = .presetJitter
        XCTAssertNoThrow(try DatasetGenerator.generate(pj, range: 0..<2, to: path("m.h5"), progress: false))
        var none = spec("adsr"); none.sampling = .presetJitter
        XCTAssertThrowsError(try DatasetGenerator.generate(none, to: path("x.h5"), progress: false)) { XCTAssertTrue("\($0)".contains("no presets")) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.h5")), "a failed run leaves no file")
        try Data("text".utf8).write(to: folder.appendingPathComponent("t.h5"))
        XCTAssertThrowsError(try DatasetInfo(path: path("t.h5"))) { XCTAssertTrue("\($0)".contains("not a SynthMatch dataset")) }
        // An HDF5 file without the completion mark (what an interrupted writer would leave).
        let partial = try HDF5File.create(path("p.h5"))
        try partial.setAttribute("synth", "fm")
        try partial.setAttribute("count_total", Int64(4))
        try partial.createFloatDataset("audio", shape: [4, 16], chunk: [1, 16])
        try partial.createFloatDataset("params", shape: [4, 3], chunk: [4, 3])
        try partial.flush()
        XCTAssertThrowsError(try DatasetInfo(path: path("p.h5"))) { XCTAssertTrue("\($0)".contains("incomplete")) }
    }

    /// When h5py is installed: shapes and attributes read without SynthMatch, and audio
    /// re-rendered from the parameters h5py reads matches the audio h5py reads.
    func testReadableByH5py() throws {
        var s = spec(count: 5)
        s.logmel = true
        try DatasetGenerator.generate(s, to: path("py.h5"), progress: false)
        let script = """
            import h5py, json, sys
            f = h5py.File(sys.argv[1], 'r')
            p = json.loads(f.attrs['parameters'])
            print(f['audio'].shape, f['params'].shape, f['params_physical'].shape, f['features/logmel'].shape,
                  f.attrs['synth'], int(f.attrs['seed']), float(f.attrs['sample_rate']), len(p), p[0]['name'], p[0]['scale'])
            print(json.dumps({'first_index': int(f.attrs['first_index']), 'params': [float(x) for x in f['params'][3]],
                              'audio': [float(x) for x in f['audio'][3]]}))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path("py.h5")]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        try XCTSkipIf(process.terminationStatus != 0 && !output.contains("("), "h5py is not installed")
        let lines = output.split(separator: "\n")
        XCTAssertEqual(String(lines[0]), "(5, 4000) (5, 17) (5, 17) (5, 16, 64) subtractive 7 16000.0 17 f0 log")
        struct Row: Decodable { let first_index: Int; let params: [Double]; let audio: [Double] }
        let row = try JSONDecoder().decode(Row.self, from: Data(lines[1].utf8))
        let synth = try SynthRegistry.make("subtractive")
        var c = Controls<Float>(zerosFor: synth.layout(frameCount: s.frameCount), batchSize: 1)
        for (p, v) in row.params.enumerated() { c.set(item: 0, parameter: p, to: Float(v)) }
        let key = DatasetGenerator.noiseKey(seed: s.seed, index: row.first_index + 3)
        let audio = synth.render(c, RenderRequest(sampleCount: s.sampleCount, noiseKeys: [key])).samples
        XCTAssertEqual(audio, row.audio.map { Float($0) })
    }
}

final class DatasetFilesTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-dsf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }
    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func spec(count: Int = 50) -> DatasetSpec {
        var s = DatasetSpec(synth: "fm", count: count, seed: 3)
        s.duration = 0.1
        return s
    }

    func testShardsMergeIntoTheSingleRunDataset() throws {
        let s = spec()
        try DatasetGenerator.generate(s, to: path("all.h5"), progress: false)
        for (i, r) in [0..<17, 17..<34, 34..<50].enumerated() { try DatasetGenerator.generate(s, range: r, to: path("s\(i).h5"), progress: false) }
        let merged = try DatasetMerger.merge([path("s2.h5"), path("s0.h5"), path("s1.h5")], into: path("merged.h5"))
        XCTAssertEqual(merged.count, 50)
        let a = try HDF5File.open(path("all.h5")), b = try HDF5File.open(path("merged.h5"))
        for name in ["audio", "params", "params_physical"] { XCTAssertEqual(try a.readRows(name, start: 0, count: 50), try b.readRows(name, start: 0, count: 50)) }
        XCTAssertThrowsError(try DatasetMerger.merge([path("s0.h5"), path("s2.h5")], into: path("gap.h5"))) { XCTAssertTrue("\($0)".contains("do not join")) }
        var other = spec(); other.seed = 4
        try DatasetGenerator.generate(other, range: 17..<34, to: path("o1.h5"), progress: false)
        XCTAssertThrowsError(try DatasetMerger.merge([path("s0.h5"), path("o1.h5")], into: path("mix.h5"))) { XCTAssertTrue("\($0)".contains("same command")) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("gap.h5")))
    }

    /// `/split` holds the reader's split of every example (by global index), in a single run,
    /// in shards and through both merges, so Python can take the same split from the file.
    func testStoredSplitIsTheReadersSplit() throws {
        let s = spec()
        try DatasetGenerator.generate(s, to: path("all.h5"), progress: false)
        for (i, r) in [0..<20, 20..<50].enumerated() { try DatasetGenerator.generate(s, range: r, to: path("p\(i).h5"), progress: false) }
        _ = try DatasetMerger.merge([path("p0.h5"), path("p1.h5")], into: path("copied.h5"))
        _ = try DatasetMerger.mergeVirtual([path("p0.h5"), path("p1.h5")], into: path("virtual.h5"))
        let reader = try DatasetReader(path: path("all.h5"))
        let expected = (0..<50).map { DatasetReader.code(reader.split(ofIndex: $0)) }
        XCTAssertEqual(Set(expected), [0, 1, 2])
        for name in ["all.h5", "copied.h5", "virtual.h5"] {
            let file = try HDF5File.open(path(name))
            XCTAssertEqual(try file.readRows("split", start: 0, count: 50), expected, name)
            XCTAssertTrue(try file.stringAttribute("split_codes").hasPrefix("0 train, 1 validation, 2 test"), name)
        }
        XCTAssertEqual(try HDF5File.open(path("p1.h5")).readRows("split", start: 0, count: 30), Array(expected[20...]))
        for split in DatasetReader.Split.allCases {
            XCTAssertEqual(reader.rows(split), expected.indices.filter { expected[$0] == DatasetReader.code(split) })
        }
    }

    /// `merge --virtual`: an HDF5 virtual dataset over shards in another folder reads as the
    /// single-run dataset (through HDF5File, DatasetReader and h5py), copies nothing, survives
    /// moving the whole tree, and refuses to open once a shard is gone.
    func testVirtualMergeReadsAsTheSingleRunDataset() throws {
        let s = spec()
        try DatasetGenerator.generate(s, to: path("all.h5"), progress: false)
        let tree = folder.appendingPathComponent("run"), shards = tree.appendingPathComponent("shards")
        try FileManager.default.createDirectory(at: shards, withIntermediateDirectories: true)
        for (i, r) in [0..<17, 17..<34, 34..<50].enumerated() {
            try DatasetGenerator.generate(s, range: r, to: shards.appendingPathComponent("s\(i).h5").path, progress: false)
        }
        let out = tree.appendingPathComponent("merged.h5").path
        let merged = try DatasetMerger.mergeVirtual((0..<3).reversed().map { shards.appendingPathComponent("s\($0).h5").path }, into: out)
        XCTAssertEqual(merged.count, 50)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: out)[.size] as? Int)
        XCTAssertLessThan(size, 64 << 10, "a virtual merge copies no rows")
        XCTAssertEqual(try HDF5File.open(out).virtualSourceFiles("audio"), ["shards/s0.h5", "shards/s1.h5", "shards/s2.h5"])
        func assertSameRows(_ file: String) throws {
            let a = try HDF5File.open(path("all.h5")), b = try HDF5File.open(file)
            for name in ["audio", "params", "params_physical"] { XCTAssertEqual(try a.readRows(name, start: 0, count: 50), try b.readRows(name, start: 0, count: 50)) }
            let reader = try DatasetReader(path: file)
            XCTAssertEqual(try reader.example(40).audio, try DatasetReader(path: path("all.h5")).example(40).audio)
        }
        try assertSameRows(out)
        // The tree moves as a whole (paths are relative to the merged file's folder).
        let moved = folder.appendingPathComponent("moved")
        try FileManager.default.moveItem(at: tree, to: moved)
        try assertSameRows(moved.appendingPathComponent("merged.h5").path)
        // h5py reads it as one array.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import h5py, sys; f = h5py.File(sys.argv[1], 'r'); print(f['audio'].shape, f['audio'].is_virtual, float(f['audio'][45].sum()))",
                             moved.appendingPathComponent("merged.h5").path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 0 {
            let expected = try HDF5File.open(path("all.h5")).readRows("audio", start: 45, count: 1).reduce(0.0) { $0 + Double($1) }
            XCTAssertTrue(output.hasPrefix("(50, \(s.sampleCount)) True "), output)
            let sum = Double(output.split(separator: " ").last!.trimmingCharacters(in: .whitespacesAndNewlines))!
            XCTAssertEqual(sum, expected, accuracy: 1e-3 * max(1, abs(expected)))
        }
        // A missing shard is a clear error, never zeros.
        try FileManager.default.removeItem(at: moved.appendingPathComponent("shards/s1.h5"))
        XCTAssertThrowsError(try DatasetReader(path: moved.appendingPathComponent("merged.h5").path)) { error in
            XCTAssertTrue("\(error)".contains("shard shards/s1.h5 is missing"), "\(error)")
        }
    }

    func testResumeContinuesAnInterruptedRun() throws {
        let s = spec()
        try DatasetGenerator.generate(s, to: path("ref.h5"), progress: false)
        // An interrupted run: the partial file with two batches (64 rows) written... here 32.
        let partial = DatasetGenerator.partialPath(path("out.h5"))
        try FileManager.default.copyItem(atPath: path("ref.h5"), toPath: partial)
        do {
            let f = try HDF5File.open(partial, writable: true)
            try f.setAttribute("complete", Int64(0))
            try f.setAttribute("rows_written", Int64(32))
            let zeros = [Float](repeating: 0, count: 18 * s.sampleCount)
            try zeros.withUnsafeBufferPointer { try f.writeRows("audio", start: 32, count: 18, $0) }
        }
        XCTAssertThrowsError(try DatasetInfo(path: partial)) { XCTAssertTrue("\($0)".contains("incomplete")) }
        try DatasetGenerator.generate(s, to: path("out.h5"), resume: true, progress: false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial))
        let a = try HDF5File.open(path("ref.h5")), b = try HDF5File.open(path("out.h5"))
        XCTAssertEqual(try a.readRows("audio", start: 0, count: 50), try b.readRows("audio", start: 0, count: 50))
        XCTAssertEqual(try DatasetInfo(path: path("out.h5")).count, 50)
    }

    func testReaderSplitsAndShufflesDeterministically() throws {
        try DatasetGenerator.generate(spec(count: 60), to: path("r.h5"), progress: false)
        let reader = try DatasetReader(path: path("r.h5"))
        let train = reader.rows(.train), validation = reader.rows(.validation), test = reader.rows(.test)
        XCTAssertEqual(Set(train).union(validation).union(test), Set(0..<60))
        XCTAssertTrue(Set(train).isDisjoint(with: validation) && Set(train).isDisjoint(with: test))
        XCTAssertGreaterThan(train.count, 35)
        let e0 = reader.batches(.train, batchSize: 8, epoch: 0), e1 = reader.batches(.train, batchSize: 8, epoch: 1)
        XCTAssertEqual(e0, reader.batches(.train, batchSize: 8, epoch: 0))
        XCTAssertNotEqual(e0, e1)
        XCTAssertEqual(e0.flatMap { $0 }.sorted(), train)
        let (params, audio) = try reader.read(e0[0])
        XCTAssertEqual(params.count, 8 * reader.info.parameterCount)
        XCTAssertEqual(audio.count, 8 * reader.info.sampleCount)
        XCTAssertEqual(Array(audio[0..<reader.info.sampleCount]), try reader.example(e0[0][0]).audio)
        // Splits follow the global index: a shard's rows get the same splits.
        try DatasetGenerator.generate(spec(count: 60), range: 20..<60, to: path("tail.h5"), progress: false)
        let tail = try DatasetReader(path: path("tail.h5"))
        XCTAssertEqual(tail.rows(.test).map { $0 + 20 }, test.filter { $0 >= 20 })
    }
}
