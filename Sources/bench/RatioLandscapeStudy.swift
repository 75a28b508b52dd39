import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import Synths

/// Why DDX7 fixes its FM frequency ratios (Caspe et al. 2022 learn only operator levels):
/// the loss landscape over one operator's ratio. A two-operator patch of the `fm` module
/// (operator 2 modulating carrier 1 on DX7 algorithm 5, the other operators silent, no
/// feedback, sustained envelopes) with a target ratio per seed; the modulator's ratio swept
/// over the module's whole range (0.5..16, log grid), with each loss's value and its exact
/// derivative in the ratio from the module's pullback. Per seed and loss: the basin around
/// the target (the interval on which every gradient points to it), the share of the grid
/// whose gradient points to it, the number of local minima on the grid, and whether the
/// grid's lowest point is the target (within 10 cents).
struct RatioLandscapeStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ratio-landscape",
        abstract: "Loss landscapes over an FM operator's frequency ratio (why DDX7 fixes its ratios).")

    @OptionGroup var options: StudyOptions
    @Option(help: "Grid step in cents of ratio.") var centsStep: Double = 5
    @Option(help: "Seeds (each a random target patch).") var seeds: Int = 10
    @Option(help: "Seconds of audio.") var duration: Double = 0.5

    static let sampleRate = 16000.0

    func validate() throws {
        // Up to 1200 cents the grid keeps at least one point either side of any target (1...8).
        guard centsStep.isFinite, centsStep > 0, centsStep <= 1200 else { throw ValidationError("--cents-step must be in (0, 1200]") }
        guard (1...1000).contains(seeds) else { throw ValidationError("--seeds must be within 1...1000") }
        guard duration.isFinite, duration >= 0.2, duration <= 60 else { throw ValidationError("--duration must be within 0.2...60 seconds") }
    }

    func run() throws {
        Parallelism.threadCount = options.threads
        let out = options.out ?? "results/landscape"
        Provenance.record("seeds", "1...\(seeds)")
        let fm = FMSynth(sampleRate: Self.sampleRate, algorithm: 5)
        let specs = fm.parameters
        func index(_ name: String) -> Int { specs.firstIndex { $0.name == name }! }
        let ratioIndex = index("op2_ratio"), ratioSpec = specs[ratioIndex]
        let range = FMSynth.ratioRange
        let n = Int(duration * Self.sampleRate)
        let layout = ControlLayout(parameters: specs, frameCount: 4)
        let lossList = LossLandscapeStudy.losses()
        var csv = CSVWriter(path: "\(out)/ratio_landscape.csv", header: ["seed", "target_ratio", "ratio", "loss_name", "loss", "grad_ratio", "grad_points_to_target"])
        var perSeed = CSVWriter(path: "\(out)/ratio_basins.csv", header: [
            "seed", "f0", "modulator_level", "target_ratio", "loss_name", "basin_low_cents", "basin_high_cents", "points_toward_fraction",
            "local_minima", "global_minimum_at_target"])
        var collected: [String: [[Double]]] = [:]
        var panels: [String: [SVGPlot.Series]] = [:]
        for seed in 1...seeds {
            var rng = CounterRandom(seed: UInt64(seed), index: 0, stream: 31)
            let f0 = 110 * pow(4, rng.unit()), level = 0.1 + 0.4 * rng.unit(), target = pow(8, rng.unit())
            // The grid runs through the target in equal steps of cents, over the module's range.
            let first = Int((1200 * log2(range.lowerBound / target) / centsStep).rounded(.up))
            let last = Int((1200 * log2(range.upperBound / target) / centsStep).rounded(.down))
            let grid = (first...last).map { target * pow(2, Double($0) * centsStep / 1200) }
            let points = grid.count
            var base = Controls<Double>(defaultsFor: layout, batchSize: 1)
            func set(_ name: String, _ value: Double) { base.set(item: 0, parameter: index(name), to: specs[index(name)].normalised(value)) }
            set("f0", f0); set("feedback", 0); set("note_off", duration)
            for op in 1...6 {
                set("op\(op)_level", op == 1 ? 0.9 : (op == 2 ? level : 0))
                if op > 1 { set("op\(op)_ratio", 1) }
                set("op\(op)_detune", 0); set("op\(op)_attack", 0.001); set("op\(op)_sustain", 1)
            }
            func controls(_ ratios: [Double]) -> Controls<Double> {
                var c = Controls<Double>(zerosFor: layout, batchSize: ratios.count)
                for (b, r) in ratios.enumerated() {
                    for i in 0..<layout.stride { c.values[b * layout.stride + i] = base.values[i] }
                    c.set(item: b, parameter: ratioIndex, to: ratioSpec.normalised(r))
                }
                return c
            }
            let request = RenderRequest(sampleCount: n)
            let targetAudio = fm.render(controls([target]), request)
            let targets = AudioBatch(batchSize: points, sampleCount: n, samples: Array((0..<points).map { _ in targetAudio.samples }.joined()))
            let (audio, pullback) = fm.valueWithPullback(controls(grid), request)
            let nearest = -first
            for (name, loss) in lossList {
                let (values, dAudio) = loss.valuesWithGradient(audio, targets)
                let dControls = pullback(dAudio)
                let gradients = grid.indices.map { b in
                    Double(dControls[item: b, parameter: ratioIndex, frame: 0]) / ratioSpec.physicalWithDerivative(ratioSpec.normalised(grid[b])).derivative
                }
                let toward = grid.indices.map { b in b != nearest && gradients[b] != 0 && (gradients[b] < 0) == (grid[b] < target) }
                var low = nearest, high = nearest
                while low > 0 && toward[low - 1] { low -= 1 }
                while high < points - 1 && toward[high + 1] { high += 1 }
                let v = values.map { Double($0) }
                var minima = 0
                for b in 1..<(points - 1) where v[b] < v[b - 1] && v[b] <= v[b + 1] { minima += 1 }
                let lowest = v.indices.min { v[$0] < v[$1] }!
                let atTarget = abs(1200 * log2(grid[lowest] / target)) <= 10
                let lowCents = 1200 * log2(grid[low] / target), highCents = 1200 * log2(grid[high] / target)
                let share = Double(toward.filter { $0 }.count) / Double(points - 1)
                perSeed.row([seed, f0, level, target, name, lowCents, highCents, share, minima, atTarget ? 1 : 0])
                collected[name, default: []].append([highCents - lowCents, share, Double(minima), atTarget ? 1 : 0])
                if seed <= 3 {   // the full curves of the plotted seeds (all ten would be 5 MB)
                    for b in grid.indices { csv.row([seed, target, grid[b], name, v[b], gradients[b], toward[b] ? 1 : 0]) }
                    let peak = v.max() ?? 1
                    panels[name, default: []].append(SVGPlot.Series(name: String(format: "target %.2f", target),
                                                                    x: grid.map { log2($0) }, y: v.map { $0 / max(peak, 1e-30) }))
                }
                print(String(format: "seed %d target ratio %.3f %-16@ basin %+5.0f..%+5.0f cents, %2.0f%% toward, %d local minima%@",
                             seed, target, name, lowCents, highCents, 100 * share, minima, atTarget ? "" : ", lowest point elsewhere"))
            }
        }
        var summary = CSVWriter(path: "\(out)/ratio_summary.csv", header: [
            "loss_name", "basin_width_cents", "basin_ci_low", "basin_ci_high", "points_toward_fraction", "toward_ci_low", "toward_ci_high",
            "local_minima", "minima_ci_low", "minima_ci_high", "global_minimum_at_target_fraction", "seeds"])
        for (name, _) in lossList {
            let rows = collected[name] ?? []
            let basin = Bootstrap.meanInterval(rows.map { $0[0] }), toward = Bootstrap.meanInterval(rows.map { $0[1] })
            let minima = Bootstrap.meanInterval(rows.map { $0[2] })
            summary.row([name, basin.mean, basin.low, basin.high, toward.mean, toward.low, toward.high, minima.mean, minima.low, minima.high,
                         rows.map { $0[3] }.reduce(0, +) / Double(max(rows.count, 1)), rows.count])
        }
        try csv.finish()
        try perSeed.finish()
        try summary.finish()
        let plot = SVGPlot(title: "FM ratio landscapes (operator 2 -> 1): loss / its maximum vs log2 ratio, seeds 1-3", xLabel: "log2(modulator ratio)",
                           panels: lossList.map { SVGPlot.Panel(title: $0.name, series: panels[$0.name] ?? [], yLabel: "normalised loss", markers: []) })
        try plot.write("\(out)/ratio_landscape.svg")
        print("wrote \(out)/ratio_landscape.csv, ratio_basins.csv, ratio_summary.csv and ratio_landscape.svg")
    }
}
