import ArgumentParser
import Datasets
import DSP
import Foundation

/// Dataset generation speed (issue 5's figure): examples per second, HDF5 write included,
/// for 1 s examples at 16 kHz, on one core and on all cores.
struct DatasetStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Dataset generation speed: examples/s with the HDF5 write, 1 and all cores.")

    @OptionGroup var options: StudyOptions
    @Option(help: "Module.") var synth: String = "subtractive"
    @Option(help: "Examples per run.") var count: Int = 4000
    @Option(help: "Seconds per example.") var duration: Double = 1
    @Option(help: "Scratch folder for the files (deleted after).") var scratch: String = NSTemporaryDirectory()

    func run() throws {
        let out = options.out ?? "results/bench"
        var csv = CSVWriter(path: "\(out)/dataset_\(synth).csv", header: ["synth", "threads", "examples", "duration_s", "examples_per_second", "megabytes_per_second"])
        for threads in Array(Set([1, Parallelism.activeProcessorCount])).sorted() {
            Parallelism.threadCount = threads
            var spec = DatasetSpec(synth: synth, count: count, seed: 1)
            spec.duration = duration
            let path = (scratch as NSString).appendingPathComponent("synthmatch-bench-\(getpid()).h5")
            let rate = try DatasetGenerator.generate(spec, to: path, progress: false)
            try? FileManager.default.removeItem(atPath: path)
            let megabytes = rate * Double(spec.sampleCount) * 4 / 1e6
            csv.row([synth, threads, count, duration, rate, megabytes])
            print(String(format: "%@ threads %d: %.0f examples/s (%.0f MB/s of audio)", synth, threads, rate, megabytes))
        }
        try csv.finish()
        print("wrote \(out)/dataset_\(synth).csv")
    }
}
