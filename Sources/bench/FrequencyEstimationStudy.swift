import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching

/// Frequency estimation by gradient descent (Hayes, Saitis & Fazekas, ICASSP 2023): fit K
/// sinusoids to a sum of K sinusoids with Adam, parameterised two ways:
///
/// - real oscillator: `y[n] = sum_k a_k cos(w_k n)`, parameters (w_k, a_k);
/// - complex surrogate: `y[n] = sum_k a_k Re(z_k^n)`, parameters (Re z_k, Im z_k, a_k),
///   frequency read as `|arg z_k|`. Off the unit circle `z^n` decays or grows, which gives
///   the loss a gradient toward the target frequency from far away.
///
/// Targets: zero-phase sinusoids, frequencies uniform in [0.05, 0.45] cycles/sample,
/// amplitudes in [0.1, 1]; starts drawn from the same ranges (and `|z|` in [0.1, 0.99]); losses: time-domain
/// MSE and the L1 distance of linear magnitude spectra (rfft). A trial succeeds when every
/// frequency (paired in sorted order, the optimal pairing in one dimension) is within one
/// DFT bin (1/N cycles/sample) of its target. Gradients are hand-written (Wirtinger
/// derivatives for z) and checked against finite differences before the study runs.
struct FrequencyEstimationStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frequency",
        abstract: "Sinusoidal frequency estimation by gradient descent: real oscillator vs complex surrogate.")

    @OptionGroup var options: StudyOptions
    @Option(parsing: .upToNextOption, help: "Numbers of sinusoids.") var counts: [Int] = [1, 2, 4, 8]
    @Option(help: "Trials per configuration.") var trials: Int = 48
    @Option(help: "Samples per signal.") var length: Int = 1024
    @Option(help: "Adam steps per trial.") var steps: Int = 5000
    @Option(help: "Adam learning rate.") var learningRate: Double = 1e-3
    @Option(help: "Seed.") var seed: UInt64 = 1

    enum Model: String, CaseIterable { case real, surrogate }
    enum Loss: String, CaseIterable { case mse, fft_l1 }

    /// Parameters per sinusoid: (w, a) or (Re z, Im z, a).
    static func width(_ m: Model) -> Int { m == .real ? 2 : 3 }

    static func render(_ m: Model, _ p: [Double], k: Int, n: Int) -> [Double] {
        var y = [Double](repeating: 0, count: n)
        for j in 0..<k {
            switch m {
            case .real:
                let (w, a) = (p[2 * j], p[2 * j + 1])
                for t in 0..<n { y[t] += a * cos(w * Double(t)) }
            case .surrogate:
                let (re, im, a) = (p[3 * j], p[3 * j + 1], p[3 * j + 2])
                var (zr, zi) = (1.0, 0.0)   // z^0
                for t in 0..<n {
                    y[t] += a * zr
                    (zr, zi) = (zr * re - zi * im, zr * im + zi * re)
                }
            }
        }
        return y
    }

    /// dL/dp from dL/dy.
    static func pullback(_ m: Model, _ p: [Double], k: Int, dy: [Double]) -> [Double] {
        let n = dy.count
        var g = [Double](repeating: 0, count: p.count)
        for j in 0..<k {
            switch m {
            case .real:
                let (w, a) = (p[2 * j], p[2 * j + 1])
                for t in 0..<n {
                    let phase = w * Double(t)
                    g[2 * j] -= dy[t] * a * Double(t) * sin(phase)
                    g[2 * j + 1] += dy[t] * cos(phase)
                }
            case .surrogate:
                // d Re(z^t)/d Re z = Re(t z^(t-1)),  d Re(z^t)/d Im z = Re(i t z^(t-1)) = -Im(t z^(t-1)).
                let (re, im, a) = (p[3 * j], p[3 * j + 1], p[3 * j + 2])
                var (zr, zi) = (1.0, 0.0)       // z^t
                var (pr, pi) = (0.0, 0.0)       // z^(t-1), with z^-1 taken as 0 at t = 0
                for t in 0..<n {
                    let tt = Double(t)
                    g[3 * j] += dy[t] * a * tt * pr
                    g[3 * j + 1] -= dy[t] * a * tt * pi
                    g[3 * j + 2] += dy[t] * zr
                    (pr, pi) = (zr, zi)
                    (zr, zi) = (zr * re - zi * im, zr * im + zi * re)
                }
            }
        }
        return g
    }

    /// Loss and dL/dy.
    static func loss(_ l: Loss, _ y: [Double], _ target: [Double], fft: RealFFT<Double>, targetMagnitude: [Double]) -> (Double, [Double]) {
        let n = y.count
        switch l {
        case .mse:
            var value = 0.0, dy = [Double](repeating: 0, count: n)
            for t in 0..<n { let e = y[t] - target[t]; value += e * e; dy[t] = 2 * e / Double(n) }
            return (value / Double(n), dy)
        case .fft_l1:
            let bins = n / 2 + 1
            var spectrum = [Double](repeating: 0, count: 2 * bins)
            y.withUnsafeBufferPointer { yp in spectrum.withUnsafeMutableBufferPointer { fft.forward(yp.baseAddress!, $0.baseAddress!) } }
            var value = 0.0, g = [Double](repeating: 0, count: 2 * bins)
            for k in 0..<bins {
                let (re, im) = (spectrum[2 * k], spectrum[2 * k + 1]), m = (re * re + im * im).squareRoot()
                let d = m - targetMagnitude[k]
                value += abs(d)
                if m > 0 && d != 0 {
                    let s = (d > 0 ? 1.0 : -1.0) / Double(bins)
                    // Adjoint of the r2c transform through the unnormalised c2r: interior bins halved.
                    let half = (k == 0 || k == bins - 1) ? 1.0 : 0.5
                    g[2 * k] = half * s * re / m
                    g[2 * k + 1] = half * s * im / m
                }
            }
            var dy = [Double](repeating: 0, count: n)
            g.withUnsafeMutableBufferPointer { gp in dy.withUnsafeMutableBufferPointer { fft.inverse(gp.baseAddress!, $0.baseAddress!) } }
            return (value / Double(bins), dy)
        }
    }

    static func magnitude(_ x: [Double], fft: RealFFT<Double>) -> [Double] {
        var spectrum = [Double](repeating: 0, count: x.count + 2)
        x.withUnsafeBufferPointer { xp in spectrum.withUnsafeMutableBufferPointer { fft.forward(xp.baseAddress!, $0.baseAddress!) } }
        return (0..<(x.count / 2 + 1)).map { k -> Double in
            let re = spectrum[2 * k], im = spectrum[2 * k + 1]
            return (re * re + im * im).squareRoot()
        }
    }

    /// Frequencies in cycles/sample from parameters.
    static func frequencies(_ m: Model, _ p: [Double], k: Int) -> [Double] {
        (0..<k).map { j in
            let w = m == .real ? p[2 * j] : atan2(p[3 * j + 1], p[3 * j])
            let f = (abs(w) / (2 * Double.pi)).truncatingRemainder(dividingBy: 1)   // aliases fold into [0, 0.5]
            return f > 0.5 ? 1 - f : f
        }.sorted()
    }

    /// Finite-difference check of every model x loss gradient on a short signal.
    func selfCheck() throws {
        let n = 64, fft = RealFFT<Double>(size: n)
        var random = CounterRandom(seed: 99, index: 0)
        let target = (0..<n).map { _ in random.normal() }
        let magnitude = Self.magnitude(target, fft: fft)
        for m in Model.allCases {
            for l in Loss.allCases {
                let p = (0..<(2 * Self.width(m))).map { i -> Double in
                    m == .surrogate && i % 3 == 0 ? 0.9 + 0.05 * random.unit() : 0.3 + 0.5 * random.unit()
                }
                func value(_ q: [Double]) -> Double { Self.loss(l, Self.render(m, q, k: 2, n: n), target, fft: fft, targetMagnitude: magnitude).0 }
                let (_, dy) = Self.loss(l, Self.render(m, p, k: 2, n: n), target, fft: fft, targetMagnitude: magnitude)
                let g = Self.pullback(m, p, k: 2, dy: dy)
                for i in p.indices {
                    var plus = p, minus = p
                    plus[i] += 1e-6
                    minus[i] -= 1e-6
                    let numeric = (value(plus) - value(minus)) / 2e-6
                    guard abs(numeric - g[i]) <= 1e-4 * max(1, abs(numeric)) else {
                        throw ValidationError("gradient check failed: \(m) \(l) parameter \(i): analytic \(g[i]), numeric \(numeric)")
                    }
                }
            }
        }
    }

    func run() throws {
        try selfCheck()
        Parallelism.threadCount = options.threads
        let out = options.out ?? "results/frequency"
        var csv = CSVWriter(path: "\(out)/trials.csv", header: ["sinusoids", "model", "loss", "trial", "success", "max_frequency_error", "frequency_mse_db", "final_loss"])
        var summary = CSVWriter(path: "\(out)/summary.csv", header: ["sinusoids", "model", "loss", "trials", "success_rate", "median_frequency_mse_db", "median_max_frequency_error"])
        let n = length, fft = RealFFT<Double>(size: n)
        print(String(format: "%3@ %-9@ %-6@ %8@ %16@", "K", "model", "loss", "success", "median MSE (dB)"))
        for k in counts {
            for m in Model.allCases {
                for l in Loss.allCases {
                    var results = [(success: Bool, maxError: Double, mseDB: Double, loss: Double)](repeating: (false, 0, 0, 0), count: trials)
                    results.withUnsafeMutableBufferPointer { rp in
                        let r = SendablePointer(rp.baseAddress!)
                        Parallelism.forEach(trials) { trial in
                            var random = CounterRandom(seed: seed, index: UInt64(k * 1_000_000 + trial))
                            let targetF = (0..<k).map { _ in 0.05 + 0.4 * random.unit() }
                            let targetA = (0..<k).map { _ in 0.1 + 0.9 * random.unit() }
                            var target = [Double](repeating: 0, count: n)
                            for j in 0..<k { for t in 0..<n { target[t] += targetA[j] * cos(2 * Double.pi * targetF[j] * Double(t)) } }
                            let magnitude = Self.magnitude(target, fft: fft)
                            var p: [Double] = []
                            for _ in 0..<k {
                                let w = 2 * Double.pi * (0.05 + 0.4 * random.unit()), a = 0.1 + 0.9 * random.unit()
                                // The surrogate starts inside the unit circle (|z| in [0.1, 0.99], as
                                // the paper's starts): a decaying z^n sees a smoothed landscape.
                                let r = 0.1 + 0.89 * random.unit()
                                p += m == .real ? [w, a] : [r * cos(w), r * sin(w), a]
                            }
                            var adam = Adam(learningRate: learningRate)
                            var last = 0.0
                            for _ in 0..<steps {
                                let (value, dy) = Self.loss(l, Self.render(m, p, k: k, n: n), target, fft: fft, targetMagnitude: magnitude)
                                last = value
                                guard value.isFinite else { break }
                                adam.update(&p, gradient: Self.pullback(m, p, k: k, dy: dy))
                            }
                            let found = Self.frequencies(m, p, k: k), truth = targetF.sorted()
                            let errors = zip(found, truth).map { abs($0 - $1) }
                            let maxError = errors.max() ?? 0
                            let mse = errors.reduce(0) { $0 + $1 * $1 } / Double(k)
                            r.pointer[trial] = (maxError.isFinite && maxError < 1 / Double(n), maxError, 10 * log10(max(mse, 1e-30)), last)
                        }
                    }
                    for (t, r) in results.enumerated() {
                        csv.row([k, m.rawValue, l.rawValue, t, r.success ? 1 : 0, r.maxError, r.mseDB, r.loss])
                    }
                    let rate = Double(results.filter(\.success).count) / Double(trials)
                    let medianDB = results.map(\.mseDB).sorted()[trials / 2], medianMax = results.map(\.maxError).sorted()[trials / 2]
                    summary.row([k, m.rawValue, l.rawValue, trials, rate, medianDB, medianMax])
                    print(String(format: "%3d %-9@ %-6@ %7.0f%% %16.1f", k, m.rawValue, l.rawValue, 100 * rate, medianDB))
                }
            }
        }
        try csv.finish()
        try summary.finish()
        try StudyPlots.frequency(out)
        print("wrote \(out)/trials.csv, \(out)/summary.csv and \(out)/summary.svg")
    }
}
