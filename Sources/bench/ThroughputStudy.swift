import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import RealModule
import Synths

/// Real-time factors of the harmonic synth (forward, forward+backward) and of the spectral
/// loss, on one core and on all cores, with a naive oscillator bank (one `sin` per harmonic
/// per sample, DDSP's formulation) measured in the same run as the baseline.
struct ThroughputStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput",
        abstract: "Harmonic synth and spectral loss speed: batch 16, 4 s at 16 kHz, 64 harmonics, 250 frames/s.")

    @OptionGroup var options: StudyOptions

    @Option(help: "Batch size.") var batch: Int = 16
    @Option(help: "Seconds of audio per item.") var seconds: Double = 4
    @Option(help: "Timed repetitions (median reported).") var repeats: Int = 5
    @Option(help: "CSV file name (without .csv) under --out.") var name: String = "throughput"

    func run() throws {
        let out = options.out ?? "results/bench"
        let sr = 16000.0, n = Int(seconds * sr), frames = Int(seconds * 250)
        let synth = HarmonicOscillatorBank(sampleRate: sr, harmonicCount: 64)
        let controls = GradientCheck.randomControls(layout: synth.layout(frameCount: frames), batchSize: batch, seed: 1)
            .converted(to: Float.self)
        let request = RenderRequest(sampleCount: n)
        let audioSeconds = Double(batch) * seconds
        let loss = MultiScaleSpectralLoss.ddsp()
        var target = synth.render(controls, request)
        target.samples.reverse()
        var csv = CSVWriter(path: "\(out)/\(name).csv", header: [
            "benchmark", "threads", "batch", "audio_seconds", "wall_seconds", "realtime_factor", "ratio_vs_naive_forward"])
        let cores = Parallelism.activeProcessorCount
        for threads in Array(Set([1, cores])).sorted() {
            Parallelism.threadCount = threads
            let naive = medianSeconds(repeats: max(1, repeats / 2)) { _ = naiveOscillatorBank(synth, controls, request) }
            var audio = AudioBatch<Float>(zeros: batch, sampleCount: n)
            let forward = medianSeconds(repeats: repeats) { synth.render(controls, request, into: &audio) }
            let backward = medianSeconds(repeats: repeats) {
                let (value, pullback) = synth.valueWithPullback(controls, request)
                _ = pullback(value)
            }
            let lossTime = medianSeconds(repeats: repeats) { _ = loss.valuesWithGradient(audio, target) }
            for (name, t) in [("naive_oscillator_bank_forward", naive), ("harmonic_forward", forward),
                              ("harmonic_forward_backward", backward), ("ddsp_spectral_loss_forward_backward", lossTime)] {
                csv.row([name, threads, batch, audioSeconds, t, audioSeconds / t, naive / t])
                print(String(format: "%-38@ threads %d: %8.4f s  %7.1fx real time  (%.1fx naive forward)",
                             name, threads, t, audioSeconds / t, naive / t))
            }
        }
        try csv.finish()
        print("wrote \(out)/\(name).csv")
    }

    /// The baseline: DDSP's direct formulation, a float32 phase cumsum and `sin` per
    /// harmonic per sample, parallel over the batch like the real one.
    func naiveOscillatorBank(_ synth: HarmonicOscillatorBank, _ controls: Controls<Float>, _ request: RenderRequest) -> [Float] {
        let n = request.sampleCount, h = synth.harmonicCount, frames = controls.layout.frameCount
        let up = FrameUpsampler<Float>(frameCount: frames, sampleCount: n, interpolation: .ddspLinear)
        var out = [Float](repeating: 0, count: controls.batchSize * n)
        out.withUnsafeMutableBufferPointer { o in
            let base = o.baseAddress!
            nonisolated(unsafe) let outPointer = base
            Parallelism.forEach(controls.batchSize) { b in
                var f0Frames = [Float](repeating: 0, count: frames), amps = [Float](repeating: 0, count: frames)
                for f in 0..<frames {
                    f0Frames[f] = synth.parameters[synth.f0Index].physical(controls[item: b, parameter: synth.f0Index, frame: f])
                    amps[f] = synth.parameters[0].physical(controls[item: b, parameter: 0, frame: f]) / Float(h)
                }
                let f0 = up.upsample(f0Frames), a = up.upsample(amps)
                var phases = [Float](repeating: 0, count: h)
                for i in 0..<n {
                    var y: Float = 0
                    for k in 0..<h {
                        let f = f0[i] * Float(k + 1)
                        phases[k] += 2 * Float.pi * f / 16000
                        if f < 8000 { y += a[i] * Float.sin(phases[k]) }
                    }
                    outPointer[b * n + i] = y
                }
            }
        }
        return out
    }
}
