import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import Synths

/// The f0 loss landscapes (Turian & Henry 2020; the DDSP reading group's non-convexity
/// finding): every distance between a target tone and the same tone at another f0, over a
/// fine grid two octaves wide, with the analytic d(loss)/d(f0) from the synth's pullback.
///
/// Basin of attraction: the grid interval around the target on which the gradient points
/// toward the target at every point. In one dimension gradient flow started anywhere in it
/// reaches the target (nothing stops it on the way) and started outside it meets a point
/// where the gradient points away or vanishes, so `converges_fraction` (grid points in the
/// basin / grid points) is the fraction of starts from which gradient descent with small
/// steps converges to the target.
struct LossLandscapeStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "landscape",
        abstract: "f0 loss landscapes: distances and their f0 gradients over a two-octave grid (CSV + SVG).")

    @OptionGroup var options: StudyOptions
    @Option(help: "Grid step in cents.") var centsStep: Double = 5
    @Option(help: "Grid half-width in cents (1200: one octave each side).") var halfWidth: Double = 1200
    @Option(parsing: .upToNextOption, help: "Target f0s (Hz).") var targets: [Double] = [110, 220, 440]
    @Option(help: "Seconds of audio per tone.") var duration: Double = 0.5
    @Flag(help: "Render and differentiate in float32 instead of float64.")
    var float32 = false

    static let sampleRate = 16000.0

    /// A tone family: its synth, and controls with f0 set (normalised) for a batch.
    struct Signal {
        let name: String
        let synth: any Synth
        let f0Parameter: Int
        let base: Controls<Double>
    }

    func signals(frameCount: Int) throws -> [Signal] {
        let bank = HarmonicOscillatorBank(sampleRate: Self.sampleRate, harmonicCount: 64)
        let layout = bank.layout(frameCount: frameCount)
        func tone(_ name: String, _ weights: (Int) -> Double) -> Signal {
            var c = Controls<Double>(zerosFor: layout, batchSize: 1)
            for f in 0..<frameCount {
                c.values[c.index(item: 0, parameter: 0, frame: f)] = bank.parameters[0].normalised(0.5)
                for k in 1...64 {
                    let w = weights(k)
                    c.values[c.index(item: 0, parameter: k, frame: f)] = w > 0 ? bank.parameters[k].normalised(w) : 0
                }
            }
            return Signal(name: name, synth: bank, f0Parameter: bank.f0Index, base: c)
        }
        let fm = FMSynth(sampleRate: Self.sampleRate)
        let epiano = try PresetLibrary.find(synth: "fm", preset: "epiano")
        let fmControls: Controls<Double> = try epiano.controls(ControlLayout(parameters: fm.parameters, frameCount: frameCount))
        return [
            tone("sine") { $0 == 1 ? 1 : 0 },
            tone("harmonic") { $0 <= 12 ? pow(0.6, Double($0 - 1)) : 0 },
            tone("saw") { 1 / Double($0) },
            Signal(name: "fm_epiano", synth: fm, f0Parameter: fm.parameters.firstIndex { $0.name == "f0" }!, base: fmControls),
        ]
    }

    static func losses() -> [(name: String, loss: any AudioLoss)] {
        let ddsp = MultiScaleSpectralLoss.ddsp()
        return [
            ("l1_waveform", WaveformLoss(.l1)),
            ("l2_waveform", WaveformLoss(.l2)),
            ("mss_linear", MultiScaleSpectralLoss.ddsp(magnitudeWeight: 1, logMagnitudeWeight: 0)),
            ("mss_log", MultiScaleSpectralLoss.ddsp(magnitudeWeight: 0, logMagnitudeWeight: 1)),
            ("mss_convergence", MultiScaleSpectralLoss(resolutions: ddsp.resolutions, linearWeight: 0, logWeight: 0, convergenceWeight: 1)),
            ("mel", MultiScaleSpectralLoss.mel(sampleRate: Self.sampleRate)),
            ("wasserstein", SpectralWasserstein(sampleRate: Self.sampleRate)),
        ]
    }

    func run() throws {
        if float32 { try study(Float.self) } else { try study(Double.self) }
    }

    /// float64 by default (the study is about the losses, not rounding); `--float32` repeats
    /// it at the product's precision (the committed runs agree on all but a few basin edges).
    func study<T: SynthScalar>(_: T.Type) throws {
        Parallelism.threadCount = options.threads
        let out = options.out ?? "results/landscape"
        let suffix = float32 ? "_float32" : ""
        let n = Int(duration * Self.sampleRate), frameCount = 4
        let steps = Int((halfWidth / centsStep).rounded())
        let cents = (-steps...steps).map { Double($0) * centsStep }
        var csv = CSVWriter(path: "\(out)/landscape\(suffix).csv", header: ["study", "signal", "target_f0", "predicted_f0", "cents_off", "loss_name",
                                                                    "loss", "grad_f0", "grad_points_to_target"])
        var summary = CSVWriter(path: "\(out)/basins\(suffix).csv", header: ["signal", "target_f0", "loss_name", "basin_low_cents", "basin_high_cents",
                                                                     "basin_width_cents", "converges_fraction", "points_toward_fraction"])
        let lossList = Self.losses()
        for signal in try signals(frameCount: frameCount) {
            var panels: [String: [SVGPlot.Series]] = [:]
            let spec = signal.synth.parameters[signal.f0Parameter]
            for target in targets {
                let f0s = cents.map { target * pow(2, $0 / 1200) }
                func controls(_ frequencies: [Double]) -> Controls<T> {
                    var c = Controls<T>(zerosFor: signal.base.layout, batchSize: frequencies.count)
                    let stride = c.layout.stride
                    for (b, f) in frequencies.enumerated() {
                        for i in 0..<stride { c.values[b * stride + i] = T(signal.base.values[i]) }
                        for fr in 0..<c.layout.count(signal.f0Parameter) {
                            c.values[c.index(item: b, parameter: signal.f0Parameter, frame: fr)] = T(spec.normalised(f))
                        }
                    }
                    return c
                }
                let request = RenderRequest(sampleCount: n)
                let targetAudio = signal.synth.render(controls([target]), request)
                let targets = AudioBatch(batchSize: f0s.count, sampleCount: n, samples: Array((0..<f0s.count).map { _ in targetAudio.samples }.joined()))
                let grid = controls(f0s)
                let (audio, pullback) = signal.synth.valueWithPullback(grid, request)
                for (name, loss) in lossList {
                    let (values, dAudio) = loss.valuesWithGradient(audio, targets)
                    let dControls = pullback(dAudio)
                    var gradients: [Double] = []
                    for (b, f) in f0s.enumerated() {
                        var du = 0.0
                        for fr in 0..<grid.layout.count(signal.f0Parameter) { du += Double(dControls[item: b, parameter: signal.f0Parameter, frame: fr]) }
                        let slope = spec.physicalWithDerivative(spec.normalised(f)).derivative   // d f0 / du
                        gradients.append(du / slope)
                    }
                    var toward = [Bool]()
                    for (b, f) in f0s.enumerated() {
                        let points = cents[b] != 0 && (gradients[b] < 0) == (f < target) && gradients[b] != 0
                        toward.append(points)
                        csv.row(["f0_landscape", signal.name, target, f, cents[b], name, Double(values[b]), gradients[b], points ? 1 : 0])
                    }
                    let centre = steps
                    var low = centre, high = centre
                    while low > 0 && toward[low - 1] { low -= 1 }
                    while high < cents.count - 1 && toward[high + 1] { high += 1 }
                    let inBasin = high - low + 1
                    summary.row([signal.name, target, name, cents[low], cents[high], cents[high] - cents[low],
                                 Double(inBasin) / Double(cents.count), Double(toward.filter { $0 }.count) / Double(cents.count - 1)])
                    let peak = values.map { Double($0) }.max() ?? 1
                    panels[name, default: []].append(SVGPlot.Series(name: "\(Int(target)) Hz", x: cents, y: values.map { Double($0) / max(peak, 1e-30) }))
                    print(String(format: "%@ %4.0f Hz %-16@ basin %+5.0f..%+5.0f cents (%.0f%% of the grid)",
                                 signal.name, target, name, cents[low], cents[high], 100 * Double(inBasin) / Double(cents.count)))
                }
            }
            let plot = SVGPlot(title: "f0 loss landscapes: \(signal.name) (loss / its maximum vs cents off the target)\(float32 ? ", float32" : "")", xLabel: "cents off target",
                               panels: lossList.map { SVGPlot.Panel(title: $0.name, series: panels[$0.name] ?? [], yLabel: "normalised loss", markers: [0]) })
            try plot.write("\(out)/landscape_\(signal.name)\(suffix).svg")
        }
        try csv.finish()
        try summary.finish()
        print("wrote \(out)/landscape\(suffix).csv, \(out)/basins\(suffix).csv and \(out)/landscape_*\(suffix).svg")
    }
}
