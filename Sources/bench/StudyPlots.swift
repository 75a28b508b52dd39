import ArgumentParser
import Foundation

/// The SVG of each CSV study, drawn from the CSV files themselves so that `bench plot` can
/// redraw committed results without re-running a study (the studies call these at the end).
enum StudyPlots {
    /// Rows of a CSV written by `CSVWriter` (plain fields, no quoting), keyed by header.
    static func rows(_ path: String) throws -> [[String: String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("\(path): cannot read it (run the study first, or pass --dir)")
        }
        var lines = text.split(separator: "\n").map(String.init)
        guard !lines.isEmpty else { throw ValidationError("\(path): empty CSV") }
        let header = lines.removeFirst().split(separator: ",").map(String.init)
        return lines.map { line in
            Dictionary(uniqueKeysWithValues: zip(header, line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)))
        }
    }

    static func number(_ row: [String: String], _ key: String) -> Double { Double(row[key] ?? "") ?? .nan }

    static func unique(_ rows: [[String: String]], _ key: String) -> [String] {
        var seen = Set<String>(), out: [String] = []
        for r in rows { if let v = r[key], seen.insert(v).inserted { out.append(v) } }
        return out
    }

    /// Frequency estimation: success rate and median frequency error against the number of sinusoids.
    static func frequency(_ dir: String) throws {
        let rows = try rows("\(dir)/summary.csv")
        var success: [SVGPlot.Series] = [], error: [SVGPlot.Series] = []
        for model in unique(rows, "model") {
            for loss in unique(rows, "loss") {
                let r = rows.filter { $0["model"] == model && $0["loss"] == loss }
                let k = r.map { number($0, "sinusoids") }
                success.append(SVGPlot.Series(name: "\(model), \(loss)", x: k, y: r.map { 100 * number($0, "success_rate") }))
                error.append(SVGPlot.Series(name: "\(model), \(loss)", x: k, y: r.map { number($0, "median_frequency_mse_db") }))
            }
        }
        try SVGPlot(title: "Frequency estimation by gradient descent: real oscillator vs complex surrogate", xLabel: "sinusoids",
                    panels: [SVGPlot.Panel(title: "success (every frequency within one DFT bin)", series: success, yLabel: "% of trials"),
                             SVGPlot.Panel(title: "median frequency error", series: error, yLabel: "MSE (dB, cycles/sample squared)")])
            .write("\(dir)/summary.svg")
    }

    /// Gradient estimators: accuracy against cost per loss (one point per module), and the
    /// equal-time matching runs' best loss relative to the start, per module.
    static func gradients(_ dir: String) throws {
        let summary = try rows("\(dir)/accuracy_summary.csv"), matching = try rows("\(dir)/matching.csv")
        let modules = unique(summary, "module"), estimators = unique(summary, "estimator")
        var panels: [SVGPlot.Panel] = []
        for loss in unique(summary, "loss") {
            let series = estimators.map { e -> SVGPlot.Series in
                let r = summary.filter { $0["loss"] == loss && $0["estimator"] == e }
                return SVGPlot.Series(name: e, x: r.map { log10(1 / number($0, "speed_vs_adjoint")) }, y: r.map { number($0, "mean_cosine_similarity") }, points: true)
            }
            panels.append(SVGPlot.Panel(title: "\(loss): accuracy vs cost, a point per module", series: series, yLabel: "mean cosine to the float64 adjoint"))
            let runs = estimators.map { e -> SVGPlot.Series in
                let ratios = modules.map { m -> Double in
                    let r = matching.filter { $0["loss"] == loss && $0["estimator"] == e && $0["module"] == m }
                    return r.isEmpty ? .nan : r.map { number($0, "best_loss") / number($0, "start_loss") }.reduce(0, +) / Double(r.count)
                }
                return SVGPlot.Series(name: e, x: modules.indices.map(Double.init), y: ratios, points: true)
            }
            panels.append(SVGPlot.Panel(title: "\(loss): matching at equal time", series: runs, yLabel: "best / start loss (mean of runs)"))
        }
        try SVGPlot(title: "Gradient estimators. Modules: " + modules.enumerated().map { "\($0) \($1)" }.joined(separator: ", "),
                    xLabel: "left: log10(time / the float32 adjoint's); right: module", panels: panels, panelWidth: 560, panelHeight: 320)
            .write("\(dir)/gradients.svg")
    }

    /// The ripple study: gradient sign changes per Hz against FFT size, per duration and framing.
    static func ripple(_ dir: String) throws {
        let rows = try rows("\(dir)/ripple.csv")
        var panels: [SVGPlot.Panel] = []
        for target in unique(rows, "target_f0") {
            var series: [SVGPlot.Series] = []
            for duration in unique(rows, "duration_s") {
                for padding in unique(rows, "padding") {
                    let r = rows.filter { $0["target_f0"] == target && $0["duration_s"] == duration && $0["padding"] == padding }
                    series.append(SVGPlot.Series(name: "\(duration) s, \(padding)", x: r.map { log2(number($0, "fft_size")) }, y: r.map { number($0, "sign_changes_per_hz") }, points: true))
                }
            }
            panels.append(SVGPlot.Panel(title: "sine at \(target) Hz, 100-300 cents off", series: series, yLabel: "gradient sign changes per Hz"))
        }
        try SVGPlot(title: "Where the spectral loss's f0 gradient ripples: DDSP framing (endZeros) vs frames inside the signal (none)",
                    xLabel: "log2 FFT size", panels: panels).write("\(dir)/ripple.svg")
    }
}

/// Redraws a study's SVG from its committed CSV.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plot", abstract: "Redraw a study's SVG from its CSV (frequency, gradients, ripple).")

    @Argument(help: "frequency, gradients or ripple") var study: String
    @Option(help: "Folder holding the study's CSV (default: the study's results folder).") var dir: String?

    func run() throws {
        switch study {
        case "frequency": try StudyPlots.frequency(dir ?? "results/frequency")
        case "gradients": try StudyPlots.gradients(dir ?? "results/gradients")
        case "ripple": try StudyPlots.ripple(dir ?? "results/landscape")
        default: throw ValidationError("unknown study '\(study)': frequency, gradients or ripple")
        }
    }
}
