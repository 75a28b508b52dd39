import DSP
import Foundation
import Synths

/// What a synthetic dataset holds and how its examples are drawn.
///
/// Example `i` is a pure function of `(seed, i)`: its controls come from a counter-based
/// generator keyed by both, and its noise key is derived from them too, so a dataset made in
/// one run, in shards, or with any thread count holds the same examples bit for bit.
public struct DatasetSpec: Sendable {
    public enum Sampling: String, Sendable, CaseIterable {
        /// Every normalised control uniform in [0, 1] (f0 from the note range).
        case uniform
        /// A preset of the module, each normalised control jittered by N(0, 0.05), clipped.
        case presetJitter = "preset-jitter"
        /// A voice of the DX7 banks in `banks` played on the module (`dx7-algN`: the voices with
        /// algorithm N), its settings exact (dx7pytorch's on-the-fly DX7 dataset, deterministic);
        /// f0 from the note range, the key release drawn as in `uniform`.
        case banks = "dx7-banks"
    }

    public var synth: String
    public var count: Int
    public var seed: UInt64
    public var sampleRate: Double = 16000
    public var duration: Double = 4
    /// MIDI notes for modules with an `f0` parameter (integer notes, uniform); nil leaves f0 to
    /// the sampling scheme.
    public var noteRange: ClosedRange<Int>? = 36...84
    public var sampling: Sampling = .uniform
    public var frameRate: Double = 250
    /// Log-mel features (`/features/logmel`: 64 mels, FFT 1024, hop 256, centred).
    public var logmel = false
    /// Shuffle + deflate level for `/audio`, or nil for none (fastest).
    public var deflate: Int? = nil
    public var commandLine: String = ""
    /// DX7 .syx files (single voices or 32-voice banks) for `.banks` sampling.
    public var banks: [String] = []

    public init(synth: String, count: Int, seed: UInt64) {
        self.synth = synth
        self.count = count
        self.seed = seed
    }

    public var sampleCount: Int { Int((duration * sampleRate).rounded()) }
    public var frameCount: Int { Swift.max(1, Int((duration * frameRate).rounded())) }

    public func validate() throws {
        guard count > 0 else { throw DatasetError.invalid("--count must be positive") }
        guard duration > 0, duration <= 60 else { throw DatasetError.invalid("--duration must be in (0, 60] seconds") }
        guard sampleRate >= 1000, sampleRate <= 192_000 else { throw DatasetError.invalid("--sample-rate must be within 1000...192000 Hz") }
        if let r = noteRange, r.lowerBound < 0 || r.upperBound > 127 { throw DatasetError.invalid("--note-range must lie in 0...127") }
        if let d = deflate, !(0...9).contains(d) { throw DatasetError.invalid("--deflate must be 0...9") }
        let shortest = logmel ? 1024 : 64
        guard sampleCount >= shortest else {
            throw DatasetError.invalid("--duration \(duration) s is \(sampleCount) samples at \(Int(sampleRate)) Hz; examples need at least \(shortest)\(logmel ? " (one log-mel frame)" : "")")
        }
    }
}

public enum DatasetError: Error, CustomStringConvertible {
    case invalid(String)
    case notADataset(String, reason: String)
    case noPresets(String)

    public var description: String {
        switch self {
        case .invalid(let s): return s
        case let .notADataset(path, reason): return "\(path) is not a SynthMatch dataset: \(reason)"
        case .noPresets(let s): return "synth '\(s)' has no presets for --sampling preset-jitter (see `synthmatch synths --presets`)"
        }
    }
}

/// Generates datasets to HDF5. Layout (documented in the README):
///
///     /audio            float32 [N, samples]   chunked one example per chunk
///     /params           float32 [N, P]         normalised controls in [0, 1] (per-frame ones are
///                                              constant within an example: one value each)
///     /params_physical  float32 [N, P]
///     /features/logmel  float32 [N, frames, 64] (optional)
///     /split            float32 [N]            0 train, 1 validation, 2 test (`DatasetReader`'s
///                                              default split, stored for Python)
///     attributes: synth, parameters (JSON: name, unit, min, max, scale, rate), sample_rate,
///     duration, seed, sampling, note_range, first_index, count_total, synthmatch_version,
///     command_line, split_codes
public enum DatasetGenerator {
    public static let version = "0.5.0"
    /// `/split`'s attribute: what its values mean.
    static let splitDescription = "0 train, 1 validation, 2 test: fractions 0.8 / 0.1 / 0.1 by global index (DatasetReader.split)"
    static let batchSize = 32

    /// Normalised controls (one value per parameter) and the noise key of example `index`.
    public static func example(_ spec: DatasetSpec, synth: any Synth, presets: [SynthPreset], index: Int) -> (values: [Double], noiseKey: UInt64) {
        var rng = CounterRandom(seed: spec.seed, index: UInt64(index))
        let specs = synth.parameters
        var values: [Double]
        switch spec.sampling {
        case .uniform:
            values = specs.map { _ in rng.unit() }
        case .presetJitter:
            let preset = presets[Int(rng.next() % UInt64(presets.count))]
            values = specs.map { s in s.defaultNormalised }
            for (p, s) in specs.enumerated() {
                if let v = preset.values[s.name] { values[p] = s.normalised(v) }
                values[p] = Swift.min(Swift.max(values[p] + 0.05 * rng.normal(), 0), 1)
            }
        case .banks:
            let voice = presets[Int(rng.next() % UInt64(presets.count))]
            values = specs.map { s in voice.values[s.name].map { s.normalised($0) } ?? rng.unit() }
        }
        if let notes = spec.noteRange, let f0 = specs.firstIndex(where: { $0.name == "f0" }) {
            let note = notes.lowerBound + Int(rng.next() % UInt64(notes.count))
            values[f0] = specs[f0].normalised(440 * exp2(Double(note - 69) / 12))
        }
        // Note-off is in seconds; uniform sampling draws it as a uniform share 0.05...1 of the
        // example's duration (the draw already made for it), so every example releases inside
        // the render or holds to its end, whatever the duration.
        if spec.sampling != .presetJitter, let off = specs.firstIndex(where: { $0.name == "note_off" }) {
            values[off] = specs[off].normalised(spec.duration * (0.05 + 0.95 * values[off]))
        }
        return (values, noiseKey(seed: spec.seed, index: index))
    }

    /// The noise key of example `index`: its own stream of the counter-based generator, so a
    /// file's audio can be re-rendered from `/params`, the seed and the example's index.
    public static func noiseKey(seed: UInt64, index: Int) -> UInt64 {
        var rng = CounterRandom(seed: seed, index: UInt64(index), stream: 1)
        return rng.next()
    }


    /// The file an unfinished run writes (renamed to `path` when complete; `--resume` reopens it).
    public static func partialPath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        var name = url.lastPathComponent
        // A name near the 255-byte limit would not fit with the prefix and suffixes: its hash does.
        if name.utf8.count > 200 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            name = "synthmatch-" + String(hash, radix: 16)
        }
        return url.deletingLastPathComponent().appendingPathComponent(".\(name).partial").path
    }

    /// Writes examples `range` of the dataset to `path`: into `partialPath(path)`, renamed when
    /// complete, so an interrupted run leaves nothing that looks like a dataset. With `resume`,
    /// an existing partial file made by the same spec and range continues after its last
    /// written batch (`rows_written`, flushed after every batch). Returns examples per second.
    @discardableResult
    public static func generate(_ spec: DatasetSpec, range: Range<Int>? = nil, to path: String, resume: Bool = false,
                                progress: Bool = true) throws -> Double {
        try spec.validate()
        let synth = try SynthRegistry.make(spec.synth, sampleRate: spec.sampleRate)
        let presets = spec.sampling == .banks ? try bankVoices(spec, synth: synth) : SynthRegistry.presets(for: spec.synth)
        if spec.sampling == .presetJitter, presets.isEmpty { throw DatasetError.noPresets(spec.synth) }
        let range = range ?? 0..<spec.count
        precondition(range.lowerBound >= 0 && range.upperBound <= spec.count, "dataset: shard outside 0..<count")
        let n = spec.sampleCount, p = synth.parameters.count
        let layout = synth.layout(frameCount: spec.frameCount)
        let features = spec.logmel ? LogMel(sampleRate: spec.sampleRate, sampleCount: n) : nil
        let start = DispatchTime.now().uptimeNanoseconds
        let partial = partialPath(path)
        do { try Orphans.checkFolder(URL(fileURLWithPath: partial).deletingLastPathComponent().path, for: path) } catch let error as AtomicFileError {
            throw DatasetError.invalid("cannot write \(path): \(error.reason)")
        }
        // One writer per output: a second run onto the same path (whatever HDF5's own file
        // locking is set to) stops here instead of writing into the first one's partial file.
        let lock = try WriterLock(partial + ".lock", for: path)
        defer { lock.release() }
        var done = 0
        do {
            let file: HDF5File
            if resume, let existing = try? HDF5File.open(partial, writable: true),
               (try? existing.stringAttribute("command_key")) == commandKey(spec, range),
               let written = Self.intactRows(existing, expected: range.count, sampleCount: n) {
                file = existing
                done = written
            } else {
                file = try HDF5File.create(partial)
                try writeAttributes(file, spec, synth: synth, range: range)
                try file.setAttribute("command_key", commandKey(spec, range))
                try file.setAttribute("rows_written", Int64(0))
                try file.createFloatDataset("audio", shape: [range.count, n], chunk: [1, n], deflate: spec.deflate)
                try file.createFloatDataset("params", shape: [range.count, p], chunk: [Swift.min(range.count, 1024), p])
                try file.createFloatDataset("params_physical", shape: [range.count, p], chunk: [Swift.min(range.count, 1024), p])
                if let features {
                    try file.createFloatDataset("features/logmel", shape: [range.count, features.frameCount, features.melCount],
                                                chunk: [1, features.frameCount, features.melCount])
                }
                try file.createFloatDataset("split", shape: [range.count], chunk: [Swift.min(range.count, 4096)])
                try file.setAttribute("split_codes", Self.splitDescription)
            }
            let hasSplit = file.contains("split")
            // Rendering (both cores) overlaps writing: a serial queue owns every HDF5 call
            // after the datasets exist; at most two batches wait for it.
            let writer = DispatchQueue(label: "synthmatch.dataset.writer")
            let slots = DispatchSemaphore(value: 2)
            let failure = FirstError()
            var bar = ProgressBar("generate \(spec.synth)", total: range.count)
            var b0 = range.lowerBound + done
            while b0 < range.upperBound, failure.error == nil {
                let m = Swift.min(batchSize, range.upperBound - b0)
                var controls = Controls<Float>(zerosFor: layout, batchSize: m)
                var keys: [UInt64] = []
                var normalised = [Float](), physical = [Float]()
                for j in 0..<m {
                    let (values, key) = example(spec, synth: synth, presets: presets, index: b0 + j)
                    keys.append(key)
                    for (q, v) in values.enumerated() {
                        controls.set(item: j, parameter: q, to: Float(v))
                        normalised.append(Float(v))
                        physical.append(Float(synth.parameters[q].physical(v)))
                    }
                }
                let audio = synth.render(controls, RenderRequest(sampleCount: n, noiseKeys: keys))
                guard audio.samples.allSatisfy(\.isFinite) else {
                    throw DatasetError.invalid("\(spec.synth) rendered a non-finite sample in examples \(b0)..<\(b0 + m) (a bug: please report)")
                }
                let mel = features?.compute(audio)
                let row = b0 - range.lowerBound
                // Each example's split, from its global index (a resumed file from before /split has none).
                let splitRows = hasSplit ? (0..<m).map { DatasetReader.code(DatasetReader.split(ofIndex: b0 + $0)) } : nil
                slots.wait()
                nonisolated(unsafe) let file = file
                let (normalisedRows, physicalRows) = (normalised, physical)
                writer.async {
                    defer { slots.signal() }
                    do {
                        try audio.samples.withUnsafeBufferPointer { try file.writeRows("audio", start: row, count: m, $0) }
                        try normalisedRows.withUnsafeBufferPointer { try file.writeRows("params", start: row, count: m, $0) }
                        try physicalRows.withUnsafeBufferPointer { try file.writeRows("params_physical", start: row, count: m, $0) }
                        if let mel { try mel.withUnsafeBufferPointer { try file.writeRows("features/logmel", start: row, count: m, $0) } }
                        if let splitRows { try splitRows.withUnsafeBufferPointer { try file.writeRows("split", start: row, count: m, $0) } }
                        try file.setAttribute("rows_written", Int64(row + m))
                        try file.flush()
                    } catch { failure.record(error) }
                }
                b0 += m
                if progress { bar.update(b0 - range.lowerBound) }
            }
            writer.sync {}
            if let error = failure.error { throw error }
            try file.setAttribute("complete", Int64(1))
            try file.flush()
        } catch let error as DatasetError {
            throw error
        } catch {
            // Disk full, read-only, I/O error: what HDF5 had buffered is lost, so the partial
            // file cannot be trusted; it is removed (freeing the space), and the same command
            // regenerates the same examples bit for bit.
            unlink(partial)
            let reason = (error as? HDF5Error).map { $0.reason ?? "HDF5 \($0.operation) failed" } ?? "\(error)"
            throw DatasetError.invalid("writing \(path) failed: \(reason); nothing was kept: make room (or choose another --out) and run the same command again")
        }
        guard rename(partial, path) == 0 else { throw DatasetError.invalid("could not rename \(partial) to \(path): \(String(cString: strerror(errno)))") }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Double(range.count - done) / seconds
    }

    /// An exclusive advisory lock (`flock`) on a file beside the output, held while writing;
    /// the kernel drops it if the process dies, so a killed run never blocks the next one.
    final class WriterLock {
        let path: String, descriptor: Int32
        init(_ path: String, for output: String) throws {
            self.path = path
            descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw DatasetError.invalid("cannot write \(output): \(String(cString: strerror(errno)))") }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                close(descriptor)
                throw DatasetError.invalid("another run is writing \(output) right now; wait for it or choose another --out")
            }
        }
        func release() {
            unlink(path)
            close(descriptor)
        }
    }

    /// The rows a partial file holds intact, or nil when it cannot be trusted: its shapes must be
    /// the run's and its last written row must read back (a file damaged by a crash mid-flush
    /// fails here and is started afresh).
    static func intactRows(_ file: HDF5File, expected count: Int, sampleCount n: Int) -> Int? {
        guard let written = try? file.intAttribute("rows_written"), (0...Int64(count)).contains(written),
              (try? file.shape("audio")) == [count, n] else { return nil }
        if written > 0 {
            guard let row = try? file.readRows("audio", start: Int(written) - 1, count: 1), row.allSatisfy(\.isFinite) else { return nil }
        }
        return Int(written)
    }

    /// What a partial file must match to be resumed.
    static func commandKey(_ spec: DatasetSpec, _ range: Range<Int>) -> String {
        "\(spec.synth)|\(spec.count)|\(spec.seed)|\(spec.sampleRate)|\(spec.duration)|\(spec.noteRange.map { "\($0)" } ?? "none")|"
            + "\(spec.sampling.rawValue)|\(spec.frameRate)|\(spec.logmel)|\(spec.deflate ?? -1)|\(range)|\(version)"
            + (spec.banks.isEmpty ? "" : "|" + spec.banks.joined(separator: ","))
    }

    /// The voices of `spec.banks` the module plays (all for `dx7`, those of its algorithm for
    /// `dx7-algN`), as presets of the
    /// module's physical values; settings the module does not model are left out.
    static func bankVoices(_ spec: DatasetSpec, synth: any Synth) throws -> [SynthPreset] {
        guard let dx7 = synth as? DX7Synth else { throw DatasetError.invalid("--syx banks are played by the dx7 modules (dx7, dx7-alg1...dx7-alg32), not \(spec.synth)") }
        guard !spec.banks.isEmpty else { throw DatasetError.invalid("--sampling dx7-banks needs --syx FILE...") }
        var voices: [SynthPreset] = [], total = 0
        for path in spec.banks {
            let patches: [DX7Patch]
            do { patches = try SysexFile.read(path) } catch { throw DatasetError.invalid("\(error)") }
            total += patches.count
            for (i, patch) in patches.enumerated() where dx7.choosesAlgorithm || patch.algorithm == dx7.algorithm.number {
                var values = DX7Synth.values(of: patch, note: 60).values
                values["f0"] = nil
                if !dx7.choosesAlgorithm { values["algorithm"] = nil }
                voices.append(SynthPreset(family: "dx7", name: "\(path)#\(i + 1)", module: spec.synth, summary: patch.name, values: values))
            }
        }
        guard !voices.isEmpty else {
            throw DatasetError.invalid("none of the \(total) voices in --syx uses algorithm \(dx7.algorithm.number), the one \(spec.synth) plays (choose dx7-algN)")
        }
        return voices
    }

    static func writeAttributes(_ file: HDF5File, _ spec: DatasetSpec, synth: any Synth, range: Range<Int>) throws {
        let parameters = synth.parameters.map { ParameterDescription($0) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys   // byte-identical across runs (shards compare it)
        let json = String(decoding: try encoder.encode(parameters), as: UTF8.self)
        try file.setAttribute("synth", spec.synth)
        try file.setAttribute("parameters", json)
        try file.setAttribute("sample_rate", spec.sampleRate)
        try file.setAttribute("duration", spec.duration)
        try file.setAttribute("frame_rate", spec.frameRate)
        try file.setAttribute("seed", Int64(bitPattern: spec.seed))
        try file.setAttribute("sampling", spec.sampling.rawValue)
        try file.setAttribute("note_range", spec.noteRange.map { "\($0.lowerBound)-\($0.upperBound)" } ?? "none")
        try file.setAttribute("first_index", Int64(range.lowerBound))
        try file.setAttribute("count_total", Int64(spec.count))
        try file.setAttribute("synthmatch_version", version)
        try file.setAttribute("command_line", spec.commandLine)
    }
}

/// Log-mel features of a batch: 64 Slaney mels over a centred 1024-point STFT, hop 256,
/// `log(mel power + 1e-6)`. Also the estimator network's input. A workspace (it owns an
/// STFT's buffers): one per thread.
public struct LogMel {
    let stft: ShortTimeFourierTransform<Float>
    let mel: MelFilterbank<Float>
    public var frameCount: Int { stft.frameCount }

    /// The hop that keeps about 64 frames whatever the length: 256 up to ~1 s at 16 kHz,
    /// then the next power of two (1024 for 4 s). A whole-note estimator then reads attack,
    /// sustain and release with the network it used for one second.
    public static func hopSize(forSampleCount n: Int) -> Int {
        var hop = 256
        while n / hop > 64 { hop *= 2 }
        return hop
    }
    public var melCount: Int { mel.melCount }

    /// nil when `sampleCount` is too short for one 1024-point frame.
    public init?(sampleRate: Double, sampleCount: Int, hopSize: Int = 256) {
        guard hopSize >= 1, let stft = ShortTimeFourierTransform<Float>(STFTConfiguration(fftSize: 1024, hopSize: hopSize, padding: .centerReflect),
                                                          sampleCount: sampleCount) else { return nil }
        self.stft = stft
        mel = MelFilterbank(sampleRate: sampleRate, fftSize: 1024, melCount: 64)
    }

    /// [batch, frames, mels], row-major.
    public func compute(_ audio: AudioBatch<Float>) -> [Float] {
        let bins = stft.binCount, frames = stft.frameCount, mels = mel.melCount
        var out = [Float](repeating: 0, count: audio.batchSize * frames * mels)
        var spectrum = [Float](repeating: 0, count: stft.spectrumCount)
        var power = [Float](repeating: 0, count: bins)
        for b in 0..<audio.batchSize {
            audio.samples.withUnsafeBufferPointer { x in
                spectrum.withUnsafeMutableBufferPointer { stft.transform(x.baseAddress! + b * audio.sampleCount, into: $0.baseAddress!) }
            }
            for f in 0..<frames {
                for k in 0..<bins {
                    let re = spectrum[2 * (f * bins + k)], im = spectrum[2 * (f * bins + k) + 1]
                    power[k] = re * re + im * im
                }
                for m in 0..<mels {
                    var e: Float = 0
                    for k in mel.support[m] { e += mel.weights[m * bins + k] * power[k] }
                    out[(b * frames + f) * mels + m] = log(e + 1e-6)
                }
            }
        }
        return out
    }
}

/// What a dataset file holds (its attributes and shapes), with a clear error for files
/// that are not complete SynthMatch datasets.
public struct DatasetInfo {
    public let path: String
    public let synth: String
    public let count: Int
    public let firstIndex: Int
    public let countTotal: Int
    public let sampleCount: Int
    public let parameterCount: Int
    public let sampleRate: Double
    public let duration: Double
    public let seed: UInt64
    public let sampling: String
    public let hasLogMel: Bool
    /// Holds `/split` (files from before it do not; the reader computes the same split).
    public let hasSplit: Bool
    public let attributes: [String: String]

    public init(path: String) throws {
        let file: HDF5File
        do { file = try HDF5File.open(path) } catch { throw DatasetError.notADataset(path, reason: "\(error)") }
        do {
            // Every file SynthMatch writes (partial ones included) has these from its first
            // moment; any other HDF5 file is not one of ours, whatever else it holds.
            guard file.hasAttribute("synth"), file.hasAttribute("count_total"), file.contains("audio"), file.contains("params") else {
                throw DatasetError.notADataset(path, reason: "it is an HDF5 file, but not a SynthMatch dataset (no synth attribute, /audio and /params)")
            }
            guard (try? file.intAttribute("complete")) == 1 else { throw DatasetError.notADataset(path, reason: "it is incomplete (an interrupted write? `dataset generate --resume` finishes it)") }
            // A virtual merge reads its shards through HDF5, which would give zeros (or a
            // same-named file in the working folder) for a missing one: each must be where the
            // merge left it, relative to this file.
            let folder = (path as NSString).deletingLastPathComponent
            for name in ["audio", "params"] {
                for source in try file.virtualSourceFiles(name) {
                    let resolved = source.hasPrefix("/") ? source : (folder.isEmpty ? source : (folder as NSString).appendingPathComponent(source))
                    guard FileManager.default.isReadableFile(atPath: resolved) else {
                        throw DatasetError.notADataset(path, reason: "it is a virtual merge and its shard \(source) is missing (looked for \(resolved)); keep the shards beside it, or merge without --virtual to copy them")
                    }
                }
            }
            self.path = path
            synth = try file.stringAttribute("synth")
            let audio = try file.shape("audio"), params = try file.shape("params")
            guard audio.count == 2, params.count == 2, audio[0] == params[0] else { throw DatasetError.notADataset(path, reason: "/audio and /params do not match") }
            count = audio[0]; sampleCount = audio[1]; parameterCount = params[1]
            firstIndex = Int(try file.intAttribute("first_index"))
            countTotal = Int(try file.intAttribute("count_total"))
            sampleRate = try file.doubleAttribute("sample_rate")
            duration = try file.doubleAttribute("duration")
            seed = UInt64(bitPattern: try file.intAttribute("seed"))
            sampling = try file.stringAttribute("sampling")
            hasLogMel = file.contains("features")
            hasSplit = file.contains("split")
            var attributes: [String: String] = [:]
            for key in ["parameters", "note_range", "synthmatch_version", "command_line"] { attributes[key] = try file.stringAttribute(key) }
            self.attributes = attributes
            // Values used later to size buffers and index rows: checked here, once.
            func bad(_ what: String) -> DatasetError { DatasetError.notADataset(path, reason: "its \(what) (damaged or not written by SynthMatch)") }
            guard sampleRate.isFinite, (1000...384_000).contains(sampleRate) else { throw bad("sample rate \(sampleRate) Hz is out of range") }
            guard duration.isFinite, duration > 0, sampleCount >= 1, abs(Double(sampleCount) - duration * sampleRate) <= 1 else {
                throw bad("duration \(duration) s does not match its \(sampleCount) samples per example")
            }
            guard parameterCount >= 1, count >= 0, firstIndex >= 0, countTotal >= 0, firstIndex <= countTotal - count else {
                throw bad("example counts (\(count) from index \(firstIndex) of \(countTotal)) do not add up")
            }
        } catch let error as DatasetError {
            throw error
        } catch {
            throw DatasetError.notADataset(path, reason: "\(error)")
        }
    }

    public var summary: String {
        """
        \(path): SynthMatch dataset (version \(attributes["synthmatch_version"] ?? "?"))
          synth        \(synth), \(parameterCount) parameters
          examples     \(count) (indices \(firstIndex)..<\(firstIndex + count) of \(countTotal))
          audio        [\(count), \(sampleCount)] float32, \(sampleRate) Hz, \(duration) s
          sampling     \(sampling), seed \(seed), notes \(attributes["note_range"] ?? "?")
          features     \(hasLogMel ? "/features/logmel" : "none")
          made by      \(attributes["command_line"] ?? "?")
        """
    }
}

/// The first error a background writer hit (checked by the producer between batches).
final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    var error: Error? { lock.lock(); defer { lock.unlock() }; return stored }
    func record(_ e: Error) { lock.lock(); if stored == nil { stored = e }; lock.unlock() }
}
