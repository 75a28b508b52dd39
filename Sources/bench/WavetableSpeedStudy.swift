import ArgumentParser
import Datasets
import DSP
import Foundation
import Synths

/// Shan et al. report wavetable synthesis an order of magnitude faster than an additive
/// oscillator bank for the same sound. Same spectrum here: a 64-harmonic saw (1/k) at
/// 110 Hz (every harmonic below Nyquist), rendered by the harmonic oscillator bank (64
/// harmonics) and by one 512-sample wavetable holding the same harmonics; batch 16 x 4 s at
/// 16 kHz, 250 frames/s, forward and forward+backward, 1 and all cores. The outputs are
/// compared too, so the speed-up is for the same audio.
struct WavetableSpeedStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wavetable-vs-harmonic",
        abstract: "Wavetable vs harmonic oscillator bank on the same 64-harmonic spectrum.")

    @OptionGroup var options: StudyOptions
    @Option(help: "Batch size.") var batch: Int = 16
    @Option(help: "Seconds of audio per item.") var seconds: Double = 4
    @Option(help: "Timed repetitions (median reported).") var repeats: Int = 5

    func run() throws {
        let out = options.out ?? "results/bench"
        let sr = 16000.0, n = Int(seconds * sr), frames = Int(seconds * 250), h = 64, f0 = 110.0
        let amplitudes = (1...h).map { 1 / Double($0) }
        // Harmonic bank: amplitude A, distribution ~ 1/k (exp_sigmoid floors are negligible).
        let bank = HarmonicOscillatorBank(sampleRate: sr, harmonicCount: h)
        var bankControls = Controls<Float>(zerosFor: bank.layout(frameCount: frames), batchSize: batch)
        let total = amplitudes.reduce(0, +)
        for b in 0..<batch {
            bankControls.set(item: b, parameter: 0, to: Float(bank.parameters[0].normalised(total * 0.1)))
            for k in 0..<h { bankControls.set(item: b, parameter: k + 1, to: Float(bank.parameters[k + 1].normalised(amplitudes[k]))) }
            bankControls.set(item: b, parameter: bank.f0Index, to: Float(bank.parameters[bank.f0Index].normalised(f0)))
        }
        // Wavetable: one learnable table with the same harmonics (sine phase) at the same level.
        let table = WavetableSynth(sampleRate: sr, tables: .learnable(count: 1), tableLength: 512)
        let cubic = WavetableSynth(sampleRate: sr, tables: .learnable(count: 1), tableLength: 512, interpolation: .cubic)
        var tableControls = Controls<Float>(defaultsFor: table.layout(frameCount: frames), batchSize: batch)
        let values = (0..<512).map { i in (1...h).reduce(0.0) { $0 + amplitudes[$1 - 1] * Double.sin(2 * Double.pi * Double($1 * i) / 512) } }
        let peak = values.map(abs).max()!
        for b in 0..<batch {
            tableControls.set(item: b, parameter: 0, to: Float(0.1 * peak))
            tableControls.set(item: b, parameter: table.f0Index, to: Float(table.parameters[table.f0Index].normalised(f0)))
            for (i, v) in values.enumerated() { tableControls.set(item: b, parameter: table.tableIndex + i, to: Float((v / peak + 1) / 2)) }
        }
        let request = RenderRequest(sampleCount: n)
        // Same audio? (The bank's phase is inclusive, the table's exclusive: align by one sample.)
        let a = bank.render(bankControls, request).item(0), w = table.render(tableControls, request).item(0)
        let error = zip(a.dropLast(), w.dropFirst()).map { abs($0 - $1) }.max()!
        let wc = cubic.render(tableControls, request).item(0)
        let cubicError = zip(a.dropLast(), wc.dropFirst()).map { abs($0 - $1) }.max()!
        print(String(format: "same spectrum: max |bank - wavetable| = %.2e linear, %.2e cubic (peak %.3f)", error, cubicError, a.map(abs).max()!))

        let audioSeconds = Double(batch) * seconds
        var csv = CSVWriter(path: "\(out)/wavetable_vs_harmonic.csv", header: [
            "synth", "pass", "threads", "wall_seconds", "realtime_factor", "speedup_vs_harmonic_bank", "max_abs_difference"])
        for threads in Array(Set([1, Parallelism.activeProcessorCount])).sorted() {
            Parallelism.threadCount = threads
            var audio = AudioBatch<Float>(zeros: batch, sampleCount: n)
            let bankForward = medianSeconds(repeats: repeats) { bank.render(bankControls, request, into: &audio) }
            let tableForward = medianSeconds(repeats: repeats) { table.render(tableControls, request, into: &audio) }
            let bankBoth = medianSeconds(repeats: repeats) { let (v, p) = bank.valueWithPullback(bankControls, request); _ = p(v) }
            let tableBoth = medianSeconds(repeats: repeats) { let (v, p) = table.valueWithPullback(tableControls, request); _ = p(v) }
            let cubicForward = medianSeconds(repeats: repeats) { cubic.render(tableControls, request, into: &audio) }
            let cubicBoth = medianSeconds(repeats: repeats) { let (v, p) = cubic.valueWithPullback(tableControls, request); _ = p(v) }
            let rows: [(String, String, Double, Double, Float)] = [
                ("harmonic-bank", "forward", bankForward, bankForward, 0), ("wavetable", "forward", tableForward, bankForward, error),
                ("wavetable-cubic", "forward", cubicForward, bankForward, cubicError),
                ("harmonic-bank", "forward+backward", bankBoth, bankBoth, 0), ("wavetable", "forward+backward", tableBoth, bankBoth, error),
                ("wavetable-cubic", "forward+backward", cubicBoth, bankBoth, cubicError)]
            for (synth, pass, t, base, e) in rows {
                csv.row([synth, pass, threads, t, audioSeconds / t, base / t, Double(e)])
                print(String(format: "%-14@ %-17@ threads %d: %8.4f s %8.1fx real time (%.2fx the harmonic bank)", synth, pass, threads, t, audioSeconds / t, base / t))
            }
        }
        try csv.finish()
        print("wrote \(out)/wavetable_vs_harmonic.csv")
    }
}
