import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import Synths

/// Where the spectral losses' cent-scale gradient ripple (`bench landscape`) comes from.
///
/// A sine against a sine target, the DDSP linear-magnitude term at ONE FFT size at a time,
/// d(loss)/d(f0) on a fine grid 100-300 cents either side of the target (away from the
/// basin), with DDSP's framing (`tf.signal.stft` with `pad_end`: frames run past the last
/// sample into zeros) and with frames kept inside the signal (`padding none`).
///
/// Why a ripple at all: a real sine is `(e^{i phi} - e^{-i phi}) / 2i`. Wherever a frame's
/// transforms of the two images overlap, its magnitude carries a cross term in `cos(2 phi)`,
/// and `phi` at time t turns with f0 as `2 pi f0 t`, so d|X|/d(f0) gets a term
/// `~ t sin(4 pi f0 t)`: weighted by time, so the latest frames dominate, with period
/// `1/(2T)` Hz, i.e. `4T` sign changes per Hz for a T-second signal. The images overlap in
/// two places: frames cut off by the end of the signal (the cut's broad sidebands), and
/// windows only a period or two long. Removing the end frames (`padding none`) tells the two
/// apart.
///
/// Rows: target, FFT size, duration, padding, the fraction of the region's grid points whose
/// gradient points toward the target, the gradient's sign changes per Hz, and `4T`.
struct RippleStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ripple",
        abstract: "Cause of the spectral losses' gradient ripple: one FFT size at a time, with and without end padding.")

    @OptionGroup var options: StudyOptions
    @Option(parsing: .upToNextOption, help: "Target f0s (Hz).") var targets: [Double] = [110, 220, 440]
    @Option(parsing: .upToNextOption, help: "Durations (seconds).") var durations: [Double] = [0.25, 0.5, 1]
    @Option(parsing: .upToNextOption, help: "FFT sizes (hop = size / 4, as DDSP).") var fftSizes: [Int] = [2048, 1024, 512, 256, 128, 64]
    @Option(help: "Grid step in cents.") var centsStep: Double = 0.25

    static let sampleRate = 16000.0

    func run() throws {
        Parallelism.threadCount = options.threads
        let out = options.out ?? "results/landscape"
        let bank = HarmonicOscillatorBank(sampleRate: Self.sampleRate, harmonicCount: 1)
        let f0Spec = bank.parameters[bank.f0Index]
        // Both sides of the target, 100 to 300 cents away.
        let side = Array(stride(from: 100.0, through: 300.0, by: centsStep))
        let cents = side.reversed().map { -$0 } + side
        var csv = CSVWriter(path: "\(out)/ripple.csv", header: ["target_f0", "fft_size", "duration_s", "padding", "points_toward_fraction",
                                                                "sign_changes_per_hz", "predicted_per_hz"])
        for target in targets {
            for duration in durations {
                let n = Int(duration * Self.sampleRate)
                func controls(_ f0s: [Double]) -> Controls<Double> {
                    var c = Controls<Double>(zerosFor: bank.layout(frameCount: 4), batchSize: f0s.count)
                    for (b, f) in f0s.enumerated() {
                        for fr in 0..<4 {
                            c.values[c.index(item: b, parameter: 0, frame: fr)] = bank.parameters[0].normalised(0.5)
                            c.values[c.index(item: b, parameter: 1, frame: fr)] = bank.parameters[1].normalised(1)
                            c.values[c.index(item: b, parameter: bank.f0Index, frame: fr)] = f0Spec.normalised(f)
                        }
                    }
                    return c
                }
                let f0s = cents.map { target * pow(2, $0 / 1200) }
                let request = RenderRequest(sampleCount: n)
                let targetAudio = bank.render(controls([target]), request)
                let targetBatch = AudioBatch(batchSize: f0s.count, sampleCount: n, samples: Array((0..<f0s.count).map { _ in targetAudio.samples }.joined()))
                let grid = controls(f0s)
                let (audio, pullback) = bank.valueWithPullback(grid, request)
                for size in fftSizes {
                    for padding in [STFTPadding.endZeros, .none] {
                        let loss = MultiScaleSpectralLoss(resolutions: [STFTConfiguration(fftSize: size, hopSize: size / 4, padding: padding)],
                                                          linearWeight: 1, logWeight: 0)
                        let (_, dAudio) = loss.valuesWithGradient(audio, targetBatch)
                        let dControls = pullback(dAudio)
                        let gradient: [Double] = f0s.enumerated().map { b, f in
                            let du = (0..<4).reduce(0.0) { $0 + dControls[item: b, parameter: bank.f0Index, frame: $1] }
                            return du / f0Spec.physicalWithDerivative(f0Spec.normalised(f)).derivative
                        }
                        let toward = zip(gradient, f0s).filter { g, f in g != 0 && (g < 0) == (f < target) }.count
                        // Sign changes within each side, per Hz of that side's span.
                        var changes = 0, hertz = 0.0
                        for range in [0..<side.count, side.count..<cents.count] {
                            for i in range.dropFirst() where (gradient[i] < 0) != (gradient[i - 1] < 0) { changes += 1 }
                            hertz += abs(f0s[range.upperBound - 1] - f0s[range.lowerBound])
                        }
                        let rate = Double(changes) / hertz
                        csv.row([target, size, duration, padding.rawValue, Double(toward) / Double(f0s.count), rate, 4 * duration])
                        print(String(format: "%4.0f Hz  %4d-point FFT  %.2f s  %-8@  toward %5.1f%%  sign changes %5.2f/Hz (4T = %.1f)",
                                     target, size, duration, padding.rawValue, 100 * Double(toward) / Double(f0s.count), rate, 4 * duration))
                    }
                }
            }
        }
        try csv.finish()
        try StudyPlots.ripple(out)
        print("wrote \(out)/ripple.csv and \(out)/ripple.svg")
    }
}
