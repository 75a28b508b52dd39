import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import Synths

/// Throughput against batch size and thread count: every synth's forward and
/// forward+backward real-time factor, the multi-scale spectral loss (value, and value +
/// gradient) and dataset generation (subtractive, HDF5 write included), in one CSV and one
/// SVG. Real-time factor = seconds of audio processed per second of wall clock.
struct ScalingStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "Real-time factor vs batch size and threads for every synth, the spectral loss and dataset generation (CSV + SVG).")

    @OptionGroup var options: StudyOptions
    @Option(parsing: .upToNextOption, help: "Batch sizes.") var batches: [Int] = [1, 4, 16, 64]
    @Option(help: "Seconds of audio per item.") var seconds: Double = 1
    @Option(help: "Timed repetitions (median reported).") var repeats: Int = 3
    @Option(parsing: .upToNextOption, help: "Modules (registry names; default: every registered module).")
    var modules: [String] = SynthRegistry.names
    @Option(help: "Dataset examples per thread setting (0 skips dataset rows).") var datasetCount: Int = 2000

    func run() throws {
        let out = options.out ?? "results/bench"
        let sr = 16000.0, n = Int(seconds * sr)
        var csv = CSVWriter(path: "\(out)/scaling.csv", header: ["subject", "pass", "threads", "batch", "audio_seconds", "wall_seconds", "realtime_factor"])
        var series: [String: [(threads: Int, pass: String, batch: Int, rtf: Double)]] = [:]
        let threadCounts = Array(Set([1, Parallelism.activeProcessorCount])).sorted()
        func report(_ subject: String, _ pass: String, _ threads: Int, _ batch: Int, _ wall: Double) {
            let audio = Double(batch) * seconds
            csv.row([subject, pass, threads, batch, audio, wall, audio / wall])
            series[subject, default: []].append((threads, pass, batch, audio / wall))
            print(String(format: "%-12@ %-17@ threads %d batch %3d: %9.1fx real time", subject, pass, threads, batch, audio / wall))
        }
        for threads in threadCounts {
            Parallelism.threadCount = threads
            for module in modules {
                let synth = try SynthRegistry.make(module, sampleRate: sr)
                let frames = synth.parameters.contains { $0.rate == .perFrame } ? Int(seconds * 250) : 1
                for batch in batches {
                    let controls = GradientCheck.randomControls(layout: synth.layout(frameCount: frames), batchSize: batch, seed: 1).converted(to: Float.self)
                    let request = RenderRequest(sampleCount: n, noiseKeys: (0..<batch).map { UInt64($0) })
                    var audio = AudioBatch<Float>(zeros: batch, sampleCount: n)
                    report(module, "forward", threads, batch, medianSeconds(repeats: repeats) { synth.render(controls, request, into: &audio) })
                    report(module, "forward+backward", threads, batch, medianSeconds(repeats: repeats) {
                        let (value, pullback) = synth.valueWithPullback(controls, request)
                        _ = pullback(value)
                    })
                }
            }
            let loss = MultiScaleSpectralLoss.ddsp()
            for batch in batches {
                var random = CounterRandom(seed: 2, index: 0)
                let a = AudioBatch<Float>(batchSize: batch, sampleCount: n, samples: (0..<(batch * n)).map { _ in Float(random.normal()) })
                let b = AudioBatch<Float>(batchSize: batch, sampleCount: n, samples: (0..<(batch * n)).map { _ in Float(random.normal()) })
                report("mss-loss", "forward", threads, batch, medianSeconds(repeats: repeats) { _ = loss.values(a, b) })
                report("mss-loss", "forward+backward", threads, batch, medianSeconds(repeats: repeats) { _ = loss.valuesWithGradient(a, b) })
            }
            if datasetCount > 0 {
                var spec = DatasetSpec(synth: "subtractive", count: datasetCount, seed: 1)
                spec.duration = seconds
                let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("synthmatch-scaling-\(getpid()).h5")
                let rate = try DatasetGenerator.generate(spec, to: path, progress: false)
                try? FileManager.default.removeItem(atPath: path)
                report("dataset", "generate+write", threads, datasetCount, Double(datasetCount) / rate)
            }
        }
        Parallelism.threadCount = 0
        try csv.finish()
        let subjects = modules + ["mss-loss"]
        var panels: [SVGPlot.Panel] = []
        for subject in subjects {
            var lines: [SVGPlot.Series] = []
            for threads in threadCounts {
                for pass in ["forward", "forward+backward"] {
                    let rows = (series[subject] ?? []).filter { $0.threads == threads && $0.pass == pass }
                    lines.append(SVGPlot.Series(name: "\(pass), \(threads) thread\(threads > 1 ? "s" : "")", x: rows.map { Double($0.batch) }, y: rows.map(\.rtf)))
                }
            }
            panels.append(SVGPlot.Panel(title: subject, series: lines, yLabel: "x real time", logY: true))
        }
        let dataset = (series["dataset"] ?? []).map { String(format: "%d thread(s): %.0f examples/s", $0.threads, $0.rtf / seconds) }.joined(separator: "; ")
        try SVGPlot(title: "Real-time factor vs batch size (\(seconds) s items, 16 kHz). Dataset generation: \(dataset)", xLabel: "batch size", panels: panels)
            .write("\(out)/scaling.svg")
        print("wrote \(out)/scaling.csv and \(out)/scaling.svg")
    }
}
