import ArgumentParser
import Datasets
import DSP
import Foundation
import Synths

/// `synthmatch dataset`: synthetic (parameters, audio) datasets in HDF5.
struct Dataset: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate and inspect synthetic datasets (HDF5, readable by h5py).",
        subcommands: [Generate.self, Info.self, Merge.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render N examples of a synth with random (or preset-jittered) parameters to an HDF5 file.",
            discussion: """
                Example i depends only on (--seed, i): shards and thread counts do not change the examples.
                Example: synthmatch dataset generate --synth subtractive --count 10000 --seed 1 --duration 1 --out sub.h5
                """)

        @Option(help: "Module name (see `synthmatch synths`).") var synth: String
        @Option(help: "Number of examples in the whole dataset.") var count: Int
        @Option(help: "Seed: example i is a pure function of (seed, i).") var seed: UInt64 = 0
        @Option(help: "Output HDF5 file (written to a temporary file, renamed when complete).") var out: String
        @Option(help: "Sample rate in Hz.") var sampleRate: Double = 16000
        @Option(help: "Seconds per example.") var duration: Double = 4
        @Option(help: "MIDI note range LO-HI for modules with f0, or 'none'.") var noteRange: String = "36-84"
        @Option(help: "uniform | preset-jitter | dx7-banks (given by --syx)") var sampling: String = "uniform"
        @Option(parsing: .upToNextOption, help: "DX7 .syx banks or voices to draw examples from (dx7 modules: the voices with the module's algorithm).")
        var syx: [String] = []
        @Option(help: "Write shard i of n (0-based), e.g. 0/4: examples i*N/n ..< (i+1)*N/n; 'auto': the task's place in a SLURM job array (sbatch --array).")
        var shard: String?
        @Option(help: "Optional features: logmel.") var features: [String] = []
        @Option(help: "Compress /audio with shuffle + deflate at this level (0-9).") var deflate: Int?
        @Option(help: "Worker threads (0: all cores).") var threads: Int = 0
        @Flag(help: "No progress bar.") var quiet = false
        @Flag(help: "Continue an interrupted run of the same command (its .partial file) instead of starting over.") var resume = false

        func validate() throws {
            guard (1...100_000_000).contains(count) else { throw ValidationError("--count must be within 1...100000000") }
            guard duration.isFinite, duration > 0, duration <= 60 else { throw ValidationError("--duration must be in (0, 60] seconds") }
            guard sampleRate.isFinite, sampleRate >= 1000, sampleRate <= 192_000 else { throw ValidationError("--sample-rate must be within 1000...192000 Hz") }
            guard (0...256).contains(threads) else { throw ValidationError("--threads must be within 0...256 (0: all cores)") }
            if let deflate { guard (0...9).contains(deflate) else { throw ValidationError("--deflate must be 0...9") } }
            guard !out.isEmpty else { throw ValidationError("--out must name a file") }
        }

        func run() throws {
            var spec = DatasetSpec(synth: synth, count: count, seed: seed)
            spec.sampleRate = sampleRate
            spec.duration = duration
            if noteRange == "none" {
                spec.noteRange = nil
            } else {
                let parts = noteRange.split(separator: "-").compactMap { Int($0) }
                guard parts.count == 2, parts[0] <= parts[1] else { throw ValidationError("--note-range must be LO-HI (e.g. 36-84) or 'none'") }
                spec.noteRange = parts[0]...parts[1]
            }
            guard let scheme = DatasetSpec.Sampling(rawValue: sampling) else {
                throw ValidationError("--sampling must be one of: \(DatasetSpec.Sampling.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            spec.sampling = scheme
            if !syx.isEmpty {
                guard sampling == "uniform" || scheme == .banks else { throw ValidationError("--syx draws examples from DX7 banks: it takes no --sampling \(sampling)") }
                spec.sampling = .banks
                spec.banks = syx
            } else if scheme == .banks {
                throw ValidationError("--sampling dx7-banks needs --syx FILE...")
            }
            for f in features {
                guard f == "logmel" else { throw ValidationError("unknown feature '\(f)' (known: logmel)") }
                spec.logmel = true
            }
            spec.deflate = deflate
            spec.commandLine = CommandLine.arguments.joined(separator: " ")
            var range = 0..<count
            if let shard {
                do { range = try Shard.parse(shard).range(of: count) } catch let error as ShardError { throw ValidationError(error.description) }
            }
            Parallelism.threadCount = threads
            if resume { try HDF5Probe.check(DatasetGenerator.partialPath(out), as: .partial) }
            let rate = try DatasetGenerator.generate(spec, range: range, to: out, resume: resume, progress: !quiet)
            print(String(format: "wrote %@: examples %d..<%d of %d, %.0f examples/s", out, range.lowerBound, range.upperBound, count, rate)
                  + (ProcessMemory.peakResidentSummary.map { ", \($0)" } ?? ""))
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Join shards of one dataset (same synth, seed and settings) into one file, in index order.",
            discussion: """
                By default every row is copied (the result stands alone; the shards can go). With --virtual the
                result is an HDF5 virtual dataset over the shards: nothing is copied, h5py and `train` read it as
                one array, and the shards must stay where they are relative to it.
                """)
        @Argument(help: "Output HDF5 file.") var out: String
        @Argument(help: "Shard files.") var shards: [String]
        @Flag(help: "Write an HDF5 virtual dataset over the shards instead of copying them.") var virtual = false

        func run() throws {
            guard !shards.isEmpty else { throw ValidationError("give at least one shard") }
            try AtomicFile.checkWritable(out)
            let target = URL(fileURLWithPath: out).standardizedFileURL.resolvingSymlinksInPath().path
            for shard in shards {
                guard URL(fileURLWithPath: shard).standardizedFileURL.resolvingSymlinksInPath().path != target else {
                    throw ValidationError("the output \(out) is also a shard: choose another output")
                }
                try HDF5Probe.check(shard, as: .dataset)
            }
            let info = try virtual ? DatasetMerger.mergeVirtual(shards, into: out) : DatasetMerger.merge(shards, into: out)
            print(info.summary + (virtual ? " (virtual: reads \(shards.count) shard\(shards.count == 1 ? "" : "s") in place)" : ""))
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print what a dataset file holds.")
        @Argument(help: "HDF5 file.") var file: String

        func run() throws {
            try HDF5Probe.check(file, as: .dataset)
            let info = try DatasetInfo(path: file)
            print(info.summary)
        }
    }
}
