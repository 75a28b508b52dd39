import ArgumentParser
import Datasets
import DSP
import Foundation
import RealModule
import Synths

/// Forward and forward+backward real-time factors of each synth module (batch 16, 4 s at
/// 16 kHz by default), on one core and on all cores, with two baselines measured in the same
/// run: a naive 6-operator FM voice (libm `sin` per operator per sample, scalar) and the
/// harmonic oscillator bank (64 harmonics, 250 frames/s).
struct SynthThroughputStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synths",
        abstract: "Per-module speed: forward and forward+backward real-time factor, 1 and all cores.")

    @OptionGroup var options: StudyOptions
    @Option(help: "Batch size.") var batch: Int = 16
    @Option(help: "Seconds of audio per item.") var seconds: Double = 4
    @Option(help: "Timed repetitions (median reported).") var repeats: Int = 3
    @Option(parsing: .upToNextOption, help: "Modules to time (registry names; default: every registered module).")
    var modules: [String] = SynthRegistry.names
    @Option(help: "CSV file name (without .csv) under --out.") var name: String = "synths"

    func run() throws {
        let out = options.out ?? "results/bench"
        let sr = 16000.0, n = Int(seconds * sr)
        let request = RenderRequest(sampleCount: n, noiseKeys: (0..<batch).map { UInt64($0) })
        let audioSeconds = Double(batch) * seconds
        var csv = CSVWriter(path: "\(out)/\(name).csv", header: [
            "module", "setting", "pass", "threads", "batch", "audio_seconds", "wall_seconds", "realtime_factor",
            "ratio_vs_naive_fm_forward", "ratio_vs_harmonic_bank_forward"])
        let cores = Parallelism.activeProcessorCount
        for threads in Array(Set([1, cores])).sorted() {
            Parallelism.threadCount = threads
            let naiveFM = medianSeconds(repeats: 1) { _ = naiveFMForward(request) }
            let bank = HarmonicOscillatorBank(sampleRate: sr)
            let bankControls = GradientCheck.randomControls(layout: bank.layout(frameCount: Int(seconds * 250)), batchSize: batch, seed: 1)
                .converted(to: Float.self)
            var scratch = AudioBatch<Float>(zeros: batch, sampleCount: n)
            let bankForward = medianSeconds(repeats: repeats) { bank.render(bankControls, request, into: &scratch) }
            func report(_ module: String, _ setting: String, _ pass: String, _ t: Double) {
                csv.row([module, setting, pass, threads, batch, audioSeconds, t, audioSeconds / t, naiveFM / t, bankForward / t])
                print(String(format: "%-16@ %-10@ %-16@ threads %d: %8.4f s %8.1fx real time (%5.2fx naive FM, %5.2fx harmonic bank)",
                             module, setting, pass, threads, t, audioSeconds / t, naiveFM / t, bankForward / t))
            }
            report("naive-fm", "default", "forward", naiveFM)
            report("harmonic-bank", "random", "forward", bankForward)
            for module in modules {
                let synth = try SynthRegistry.make(module, sampleRate: sr)
                var settings: [(String, Controls<Float>)] = [("default", Controls(defaultsFor: synth.layout(frameCount: 1), batchSize: batch))]
                if let f0 = synth.layout(frameCount: 1).index(of: "f0") {
                    var low = settings[0].1
                    for b in 0..<batch { low.set(item: b, parameter: f0, to: 0) }   // 32 Hz: every harmonic sounds
                    settings.append(("f0=32Hz", low))
                }
                for (setting, controls) in settings {
                    var audio = AudioBatch<Float>(zeros: batch, sampleCount: n)
                    let forward = medianSeconds(repeats: repeats) { synth.render(controls, request, into: &audio) }
                    let backward = medianSeconds(repeats: repeats) {
                        let (value, pullback) = synth.valueWithPullback(controls, request)
                        _ = pullback(value)
                    }
                    report(module, setting, "forward", forward)
                    report(module, setting, "forward+backward", backward)
                }
            }
        }
        try csv.finish()
        print("wrote \(out)/\(name).csv")
    }

    /// The baseline: a 6-operator FM voice (algorithm 5, feedback on op 6) written the
    /// obvious way: per sample, per operator, one libm `sin`; parallel over the batch.
    func naiveFMForward(_ request: RenderRequest) -> [Float] {
        let n = request.sampleCount, batch = self.batch
        var out = [Float](repeating: 0, count: batch * n)
        out.withUnsafeMutableBufferPointer { o in
            nonisolated(unsafe) let base = o.baseAddress!
            Parallelism.forEach(batch) { b in
                let inc: [Float] = [1, 14, 1, 1, 1, 1].map { Float(220 * $0 / 16000) }
                var phase = [Float](repeating: 0, count: 6), ops = [Float](repeating: 0, count: 6)
                for i in 0..<n {
                    let env = Float(1) - Float(i) / Float(n)
                    for k in 0..<6 { phase[k] += inc[k]; if phase[k] >= 1 { phase[k] -= 1 } }
                    ops[5] = 0.3 * env * Float.sin(2 * Float.pi * (phase[5] + 0.1 * ops[5]))
                    ops[4] = 0.8 * env * Float.sin(2 * Float.pi * (phase[4] + ops[5]))
                    ops[3] = 0.3 * env * Float.sin(2 * Float.pi * phase[3])
                    ops[2] = 0.8 * env * Float.sin(2 * Float.pi * (phase[2] + ops[3]))
                    ops[1] = 0.3 * env * Float.sin(2 * Float.pi * phase[1])
                    ops[0] = 0.8 * env * Float.sin(2 * Float.pi * (phase[0] + ops[1]))
                    base[b * n + i] = (ops[0] + ops[2] + ops[4]) / 3
                }
            }
        }
        return out
    }
}
