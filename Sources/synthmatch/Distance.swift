import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching

/// `synthmatch distance A.wav B.wav`: how far apart two sounds are, by the same losses
/// the matcher optimises, so our numbers can be compared with the reference libraries.
struct Distance: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the spectral distance between two audio files.",
        discussion: """
        Both files are downmixed to mono and resampled to --sample-rate; the longer one is \
        trimmed to the shorter one's length, and at most the first --max-duration seconds of each are \
        read (a long recording costs what is compared, not its whole length). A is the prediction, B the target (this matters \
        for spectral convergence, which is normalised by the target).
        """)

    enum LossName: String, ExpressibleByArgument, CaseIterable {
        case ddsp, auraloss, mel
    }

    @Argument(help: "The prediction (any format libsndfile reads).") var a: String
    @Argument(help: "The target.") var b: String

    @Option(help: "ddsp: magenta/ddsp SpectralLoss (mag + log mag, 2048..64); auraloss: MultiResolutionSTFTLoss defaults; mel: auraloss with a 128-band mel scale.")
    var loss: LossName = .ddsp

    @Option(help: "Common sample rate both files are resampled to.")
    var sampleRate: Double = 16000

    @Option(help: "Longest stretch compared, in seconds from the start (0.01...600).")
    var maxDuration: Double = 60

    @Flag(help: "Also print each resolution's linear, log and convergence terms.")
    var terms = false

    func validate() throws {
        guard sampleRate.isFinite, sampleRate >= 1000, sampleRate <= 384_000 else { throw ValidationError("--sample-rate must be within 1000...384000 Hz") }
        guard maxDuration.isFinite, maxDuration >= 0.01, maxDuration <= 600 else { throw ValidationError("--max-duration must be within 0.01...600 seconds") }
    }

    func run() throws {
        let x = try AudioFile.read(a, sampleRate: sampleRate, maxSeconds: maxDuration)
        let y = try AudioFile.read(b, sampleRate: sampleRate, maxSeconds: maxDuration)
        let n = min(x.samples.count, y.samples.count)
        if x.samples.count != y.samples.count {
            FileHandleStandardError.print("note: lengths differ (\(x.samples.count) vs \(y.samples.count) samples at \(Int(sampleRate)) Hz); comparing the first \(n)")
        }
        let measure: MultiScaleSpectralLoss
        switch loss {
        case .ddsp: measure = .ddsp()
        case .auraloss: measure = .auraloss()
        case .mel: measure = .mel(sampleRate: sampleRate)
        }
        do { try measure.validate(sampleCount: n) } catch { throw ValidationError("\(error)") }
        let p = x.samples[..<n].map(Double.init), t = y.samples[..<n].map(Double.init)
        let value = measure.values(AudioBatch(rows: [p]), AudioBatch(rows: [t]))[0]
        print(String(format: "%.9g", value))
        if terms {
            for (r, term) in zip(measure.resolutions, measure.terms(p, t)) {
                print(String(format: "  fft %5d hop %4d window %5d: linear %.6g  log %.6g  convergence %.6g",
                             r.fftSize, r.hopSize, r.windowLength, term.linear, term.log, term.convergence))
            }
        }
    }
}

enum FileHandleStandardError {
    static func print(_ line: String) { FileHandle.standardError.write((line + "\n").data(using: .utf8)!) }
}
