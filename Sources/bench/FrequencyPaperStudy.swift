import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import Synchronization

/// Hayes, Saitis & Fazekas (ICASSP 2023), multi-sinusoid experiment, with the settings of their
/// own configuration files (`estimator_config/multi_fft_{2,8,32}[_baseline].yaml` in
/// ben-hayes/sinusoidal-gradient-descent), issue 16's like-for-like reproduction:
///
/// - targets: N = 4096 samples, K zero-phase sinusoids, frequencies uniform in [0.05, 0.45]
///   cycles/sample, amplitudes uniform in [0.1, 1] then divided by their sum; no noise;
/// - starts: angle 2 pi U[0.05, 0.45], magnitude U[0.01, 0.5]; the surrogate also has a gain
///   per sinusoid through a sigmoid, starting at 1/K (their `use_global_amp`, saturated);
/// - models: the surrogate `sum_k sigmoid(g_k) Re(z_k^n)` (z unconstrained, so |z| may pass 1)
///   against the real oscillator `sum_k a_k cos(w_k n)`;
/// - loss: squared error between the magnitudes of the orthonormal rfft (their `fft_loss` with
///   `lin_l2: 1`), averaged over bins and, as their batch of 2,000 targets averages it, divided
///   by 2,000 (`--batch-scale`: it matters to Adam only through epsilon);
/// - Adam, learning rate 1e-4, 250,000 steps;
/// - read-out: the surrogate's frequencies `|arg z| / 2 pi`, each amplitude by least squares of
///   its cosine's FFT magnitudes onto its own `Re z^n`'s, times its gain (their
///   `estimate_amplitude`); the real oscillator's raw `w / 2 pi` and `a`;
/// - metrics (their `multi_sinusoid_metrics`): the frequency error after the optimal assignment
///   (mean squared, in dB: `freq_lac_db`), the spectral MSE of forward-normalised rfft
///   magnitudes of the resynthesised signal in dB (`spectral_mse`), the signal MSE in dB.
///
/// Differences, stated in the README: float64 here (theirs float32 on a GPU), and
/// `--targets` x `--seeds` targets instead of their 2,000 (250,000 steps of 2,000 targets do not
/// fit this machine); each seed draws its own targets and starts.
struct FrequencyPaperStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frequency-paper",
        abstract: "Hayes et al. 2023's multi-sinusoid experiment with their settings: surrogate vs real oscillator.")

    @OptionGroup var options: StudyOptions
    @Option(parsing: .upToNextOption, help: "Numbers of sinusoids (theirs: 2, 8, 32).") var counts: [Int] = [2, 8, 32]
    @Option(help: "Targets per seed.") var targets: Int = 8
    @Option(help: "Seeds (1...N): each draws its own targets and starts.") var seeds: Int = 5
    @Option(help: "Samples per signal (theirs: 4096).") var length: Int = 4096
    @Option(help: "Adam steps per target (theirs: 250,000).") var steps: Int = 250_000
    @Option(help: "Adam learning rate (theirs: 1e-4).") var learningRate: Double = 1e-4
    @Option(help: "The loss is divided by this, as their mean over a batch of 2,000 targets divides it.") var batchScale: Double = 2000

    func validate() throws {
        guard !counts.isEmpty, counts.allSatisfy({ (1...64).contains($0) }) else { throw ValidationError("--counts must be within 1...64") }
        guard (1...10_000).contains(targets) else { throw ValidationError("--targets must be within 1...10000") }
        guard (1...1000).contains(seeds) else { throw ValidationError("--seeds must be within 1...1000") }
        guard (64...65_536).contains(length), length % Self.block == 0 else { throw ValidationError("--length must be a multiple of 64 within 64...65536") }
        guard (1...10_000_000).contains(steps) else { throw ValidationError("--steps must be within 1...10000000") }
        guard learningRate.isFinite, learningRate > 0, learningRate <= 1 else { throw ValidationError("--learning-rate must be in (0, 1]") }
        guard batchScale.isFinite, batchScale >= 1, batchScale <= 1e9 else { throw ValidationError("--batch-scale must be within 1...1e9") }
    }

    enum Model: String, CaseIterable { case surrogate, real }

    /// One sinusoid's parameters: the surrogate's (Re z, Im z, gain logit) or the real
    /// oscillator's (w, a, unused).
    struct Sinusoid { var p0: Double, p1: Double, p2: Double }

    /// Samples per block of the power tables: `w^n = w^(B m) w^j` with n = B m + j, so every
    /// power is one complex product of two short recurrences' values (64 steps each, so
    /// rounding stays ~64 ulp) and the per-sample loops have no dependence between samples.
    static let block = 64

    /// `w^j` for j < block (`tr`, `ti`) and `w^(block m)` for the signal's blocks (`br`, `bi`).
    static func tables(_ wr: Double, _ wi: Double, blocks: Int, _ tr: UnsafeMutablePointer<Double>, _ ti: UnsafeMutablePointer<Double>,
                       _ br: UnsafeMutablePointer<Double>, _ bi: UnsafeMutablePointer<Double>) {
        tr[0] = 1; ti[0] = 0
        for j in 1..<block { (tr[j], ti[j]) = (tr[j - 1] * wr - ti[j - 1] * wi, tr[j - 1] * wi + ti[j - 1] * wr) }
        let (sr, si) = (tr[block - 1] * wr - ti[block - 1] * wi, tr[block - 1] * wi + ti[block - 1] * wr)   // w^block
        br[0] = 1; bi[0] = 0
        for m in 1..<max(blocks, 1) { (br[m], bi[m]) = (br[m - 1] * sr - bi[m - 1] * si, br[m - 1] * si + bi[m - 1] * sr) }
    }

    /// Scratch for the tables, per worker.
    final class Scratch {
        /// `w^j`, `j w^j` (32-byte aligned, for four-lane loads) and `w^(block m)`.
        let tr, ti, jr, ji, br, bi: UnsafeMutablePointer<Double>
        init(blocks: Int) {
            func aligned(_ count: Int) -> UnsafeMutablePointer<Double> {
                UnsafeMutableRawPointer.allocate(byteCount: 8 * count, alignment: 32).bindMemory(to: Double.self, capacity: count)
            }
            (tr, ti, jr, ji) = (aligned(FrequencyPaperStudy.block), aligned(FrequencyPaperStudy.block), aligned(FrequencyPaperStudy.block), aligned(FrequencyPaperStudy.block))
            (br, bi) = (aligned(max(blocks, 1)), aligned(max(blocks, 1)))
        }
        deinit { for p in [tr, ti, jr, ji, br, bi] { UnsafeMutableRawPointer(p).deallocate() } }
    }

    /// `y[n] += scale Re(w^n)`.
    static func addPowers(_ wr: Double, _ wi: Double, scale: Double, into y: UnsafeMutablePointer<Double>, _ n: Int, _ s: Scratch) {
        let blocks = n / block
        tables(wr, wi, blocks: blocks, s.tr, s.ti, s.br, s.bi)
        for m in 0..<blocks {
            let (cr, ci) = (scale * s.br[m], scale * s.bi[m]), out = y + m * block
            for j in 0..<block { out[j] += cr * s.tr[j] - ci * s.ti[j] }
        }
    }

    /// `sum_n dy[n] w^n` and `sum_n dy[n] n w^(n-1)` (complex: re, im, re, im); the second as
    /// `(sum_n dy[n] n w^n) / w` (|w| stays far from 0 here: starts have |z| >= 0.01).
    static func powerSums(_ wr: Double, _ wi: Double, _ dy: UnsafePointer<Double>, _ n: Int, _ s: Scratch) -> (Double, Double, Double, Double) {
        let blocks = n / block
        tables(wr, wi, blocks: blocks, s.tr, s.ti, s.br, s.bi)
        for j in 0..<block { s.jr[j] = Double(j) * s.tr[j]; s.ji[j] = Double(j) * s.ti[j] }
        var (s0r, s0i, s1r, s1i) = (0.0, 0.0, 0.0, 0.0)
        for m in 0..<blocks {
            // c = sum_j d_j w^j, e = sum_j d_j j w^j over the block; then n = block m + j.
            var (cr4, ci4, er4, ei4) = (SIMD4<Double>(), SIMD4<Double>(), SIMD4<Double>(), SIMD4<Double>())
            let d = UnsafeRawPointer(dy + m * block)
            let (tr, ti, jr, ji) = (UnsafeRawPointer(s.tr), UnsafeRawPointer(s.ti), UnsafeRawPointer(s.jr), UnsafeRawPointer(s.ji))
            for offset in stride(from: 0, to: 8 * block, by: 32) {
                let dj = d.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
                cr4 += dj * tr.load(fromByteOffset: offset, as: SIMD4<Double>.self)
                ci4 += dj * ti.load(fromByteOffset: offset, as: SIMD4<Double>.self)
                er4 += dj * jr.load(fromByteOffset: offset, as: SIMD4<Double>.self)
                ei4 += dj * ji.load(fromByteOffset: offset, as: SIMD4<Double>.self)
            }
            let (cr, ci, er, ei) = (cr4.sum(), ci4.sum(), er4.sum(), ei4.sum())
            let offset = Double(m * block)
            let (nr, ni) = (er + offset * cr, ei + offset * ci)   // sum_j d_j n w^j
            let (br, bi) = (s.br[m], s.bi[m])
            s0r += br * cr - bi * ci; s0i += br * ci + bi * cr
            s1r += br * nr - bi * ni; s1i += br * ni + bi * nr
        }
        // Divide the second sum by w.
        let norm = wr * wr + wi * wi
        guard norm > 0 else { return (s0r, s0i, 0, 0) }
        let (qr, qi) = ((s1r * wr + s1i * wi) / norm, (s1i * wr - s1r * wi) / norm)
        return (s0r, s0i, qr, qi)
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + Double.exp(-x)) }

    static func render(_ m: Model, _ s: [Sinusoid], n: Int, into y: UnsafeMutablePointer<Double>, _ scratch: Scratch) {
        y.update(repeating: 0, count: n)
        for q in s {
            switch m {
            case .surrogate: addPowers(q.p0, q.p1, scale: sigmoid(q.p2), into: y, n, scratch)
            case .real: addPowers(Double.cos(q.p0), Double.sin(q.p0), scale: q.p1, into: y, n, scratch)
            }
        }
    }

    static func pullback(_ m: Model, _ s: [Sinusoid], dy: UnsafePointer<Double>, n: Int, _ scratch: Scratch) -> [Sinusoid] {
        s.map { q in
            switch m {
            case .surrogate:
                // y = g Re(z^n): dy/dRe z = g n Re(z^(n-1)), dy/dIm z = -g n Im(z^(n-1)), dy/dlogit = g (1 - g) Re(z^n).
                let (s0r, _, s1r, s1i) = powerSums(q.p0, q.p1, dy, n, scratch)
                let g = sigmoid(q.p2)
                return Sinusoid(p0: g * s1r, p1: -g * s1i, p2: g * (1 - g) * s0r)
            case .real:
                // y = a cos(w n) = a Re(e^(i w n)): dy/dw = -a n Im(e^(i w n)), dy/da = Re(e^(i w n)).
                let (wr, wi) = (Double.cos(q.p0), Double.sin(q.p0))
                let (s0r, _, s1r, s1i) = powerSums(wr, wi, dy, n, scratch)
                // sum dy n e^(iwn) = e^(iw) x sum dy n e^(iw(n-1)).
                let im = wr * s1i + wi * s1r
                return Sinusoid(p0: -q.p1 * im, p1: s0r, p2: 0)
            }
        }
    }

    /// The loss (mean over bins of squared orthonormal-rfft magnitude differences, over
    /// `batchScale`) and dL/dy into `dy`.
    static func loss(_ y: UnsafePointer<Double>, target magnitude: [Double], fft: RealFFT<Double>, batchScale: Double,
                     spectrum: UnsafeMutablePointer<Double>, dy: UnsafeMutablePointer<Double>, n: Int) -> Double {
        fft.forward(y, spectrum)
        let bins = n / 2 + 1, ortho = 1 / Double(n).squareRoot()
        var value = 0.0
        let scale = 1 / (Double(bins) * batchScale)
        for k in 0..<bins {
            let (re, im) = (spectrum[2 * k] * ortho, spectrum[2 * k + 1] * ortho)
            let m = (re * re + im * im).squareRoot()
            let d = m - magnitude[k]
            value += d * d
            // dL/dX_k (through the ortho scale), halved for interior bins: the unnormalised c2r
            // below counts each interior bin twice (see `FrequencyEstimationStudy.loss`).
            let g = m > 0 ? 2 * d * scale / m * ortho * ((k == 0 || k == bins - 1) ? 1 : 0.5) : 0
            spectrum[2 * k] = g * re
            spectrum[2 * k + 1] = g * im
        }
        fft.inverse(spectrum, dy)
        return value * scale
    }

    /// rfft magnitudes times `norm` (1/sqrt(N): orthonormal; 1/N: "forward").
    static func magnitudes(_ x: [Double], fft: RealFFT<Double>, norm: Double) -> [Double] {
        FrequencyEstimationStudy.magnitude(x, fft: fft).map { $0 * norm }
    }

    static func cosines(_ frequencies: [Double], _ amplitudes: [Double], n: Int) -> [Double] {
        var y = [Double](repeating: 0, count: n)
        for (f, a) in zip(frequencies, amplitudes) { for t in 0..<n { y[t] += a * Double.cos(2 * Double.pi * f * Double(t)) } }
        return y
    }

    struct Trial { var k: Int, seed: Int, target: Int; var model: Model
        var frequencyLacDB = Double.nan, spectralMSEDB = Double.nan, signalMSEDB = Double.nan, finalLoss = Double.nan, finite = true
        /// Final parameters, three per sinusoid (as `Sinusoid`), space-separated: read-outs can be redone without the run.
        var parameters = "" }

    func runTrial(_ model: Model, k: Int, seed: Int, index: Int, fft: RealFFT<Double>) -> Trial {
        let n = length
        var trial = Trial(k: k, seed: seed, target: index, model: model)
        // Targets and starts from (seed, K, target): the two models start from the same draws.
        var random = CounterRandom(seed: UInt64(seed), index: UInt64(k * 100_000 + index), stream: 41)
        let targetF = (0..<k).map { _ in 0.05 + 0.4 * random.unit() }
        let rawA = (0..<k).map { _ in 0.1 + 0.9 * random.unit() }
        let total = rawA.reduce(0, +)
        let targetA = rawA.map { $0 / total }
        let target = Self.cosines(targetF, targetA, n: n)
        let targetMagnitude = Self.magnitudes(target, fft: fft, norm: 1 / Double(n).squareRoot())
        var params: [Sinusoid] = (0..<k).map { _ in
            let angle = 2 * Double.pi * (0.05 + 0.4 * random.unit()), magnitude = 0.01 + 0.49 * random.unit()
            let logit = Double.log((1 / Double(k)) / (1 - 1 / Double(k)))
            return model == .surrogate ? Sinusoid(p0: magnitude * Double.cos(angle), p1: magnitude * Double.sin(angle), p2: logit)
                                       : Sinusoid(p0: angle, p1: magnitude, p2: 0)
        }
        var adam = Adam(learningRate: learningRate)
        let y = UnsafeMutablePointer<Double>.allocate(capacity: n), dy = UnsafeMutablePointer<Double>.allocate(capacity: n)
        let spectrum = UnsafeMutablePointer<Double>.allocate(capacity: n + 2)
        defer { y.deallocate(); dy.deallocate(); spectrum.deallocate() }
        let scratch = Scratch(blocks: n / Self.block)
        var flat = [Double](repeating: 0, count: 3 * k)
        for _ in 0..<steps {
            Self.render(model, params, n: n, into: y, scratch)
            let value = Self.loss(y, target: targetMagnitude, fft: fft, batchScale: batchScale, spectrum: spectrum, dy: dy, n: n)
            trial.finalLoss = value
            guard value.isFinite else { trial.finite = false; break }
            let g = Self.pullback(model, params, dy: dy, n: n, scratch)
            for (j, q) in g.enumerated() { flat[3 * j] = q.p0; flat[3 * j + 1] = q.p1; flat[3 * j + 2] = q.p2 }
            var p = params.flatMap { [$0.p0, $0.p1, $0.p2] }
            adam.update(&p, gradient: flat)
            params = (0..<k).map { Sinusoid(p0: p[3 * $0], p1: p[3 * $0 + 1], p2: p[3 * $0 + 2]) }
        }
        trial.parameters = params.map { "\($0.p0) \($0.p1) \($0.p2)" }.joined(separator: " ")
        guard trial.finite else { return trial }
        // Read-out as theirs.
        let frequencies: [Double], amplitudes: [Double]
        switch model {
        case .surrogate:
            let angles = params.map { Double.atan2(y: $0.p1, x: $0.p0) }
            frequencies = angles.map { abs($0) / (2 * Double.pi) }
            // Amplitudes as their `estimate_amplitude(z[..., None], N)`: for each sinusoid alone,
            // the least-squares scale of |rfft(cos(angle n))| onto |rfft(Re z^n)| (checked in
            // torch: the extra axis makes it one problem per sinusoid), times its gain.
            amplitudes = zip(angles, params).map { angle, q in
                var alone = [Double](repeating: 0, count: n)
                alone.withUnsafeMutableBufferPointer { Self.addPowers(q.p0, q.p1, scale: 1, into: $0.baseAddress!, n, scratch) }
                let v = Self.magnitudes(alone, fft: fft, norm: 1)
                let u = Self.magnitudes(Self.cosines([angle / (2 * Double.pi)], [1], n: n), fft: fft, norm: 1)
                let uu = u.reduce(0) { $0 + $1 * $1 }
                return (uu > 0 ? zip(u, v).reduce(0) { $0 + $1.0 * $1.1 } / uu : 0) * Self.sigmoid(q.p2)
            }
        case .real:
            frequencies = params.map { $0.p0 / (2 * Double.pi) }
            amplitudes = params.map(\.p1)
        }
        // Optimal assignment of squared frequency errors: in one dimension, sorted order.
        let errors = zip(frequencies.sorted(), targetF.sorted()).map { ($0 - $1) * ($0 - $1) }
        trial.frequencyLacDB = 10 * Double.log10(errors.reduce(0, +) / Double(k))
        let prediction = Self.cosines(frequencies, amplitudes, n: n)
        let forward = 1 / Double(n)
        let a = Self.magnitudes(target, fft: fft, norm: forward), b = Self.magnitudes(prediction, fft: fft, norm: forward)
        trial.spectralMSEDB = 10 * Double.log10(zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(a.count))
        trial.signalMSEDB = 10 * Double.log10(zip(target, prediction).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(n))
        return trial
    }

    /// Finite-difference check of both models' gradients through the loss on a short signal.
    func selfCheck() throws {
        let n = 256, fft = RealFFT<Double>(size: n)
        var random = CounterRandom(seed: 98, index: 0)
        let target = (0..<n).map { _ in random.normal() }
        let magnitude = Self.magnitudes(target, fft: fft, norm: 1 / Double(n).squareRoot())
        for m in Model.allCases {
            let params = (0..<3).map { _ in
                m == .surrogate ? Sinusoid(p0: 0.6 + 0.3 * random.unit(), p1: 0.2 + 0.5 * random.unit(), p2: random.normal())
                                : Sinusoid(p0: 0.3 + 2 * random.unit(), p1: 0.2 + random.unit(), p2: 0)
            }
            var y = [Double](repeating: 0, count: n), dy = y, spectrum = [Double](repeating: 0, count: n + 2)
            let scratch = Scratch(blocks: n / Self.block)
            func value(_ s: [Sinusoid]) -> Double {
                Self.render(m, s, n: n, into: &y, scratch)
                return Self.loss(y, target: magnitude, fft: fft, batchScale: 3, spectrum: &spectrum, dy: &dy, n: n)
            }
            _ = value(params)
            let analytic = Self.pullback(m, params, dy: dy, n: n, scratch)
            for j in params.indices {
                for c in 0..<(m == .surrogate ? 3 : 2) {
                    func moved(_ h: Double) -> [Sinusoid] {
                        var s = params
                        if c == 0 { s[j].p0 += h } else if c == 1 { s[j].p1 += h } else { s[j].p2 += h }
                        return s
                    }
                    let numeric = (value(moved(1e-6)) - value(moved(-1e-6))) / 2e-6
                    let exact = c == 0 ? analytic[j].p0 : c == 1 ? analytic[j].p1 : analytic[j].p2
                    guard abs(numeric - exact) <= 1e-5 * max(abs(numeric), 1e-3) else {
                        throw ValidationError("gradient check failed: \(m) sinusoid \(j) parameter \(c): analytic \(exact), numeric \(numeric)")
                    }
                }
            }
        }
    }

    func run() throws {
        try selfCheck()
        Parallelism.threadCount = options.threads
        let out = options.out ?? "results/frequency_paper"
        Provenance.record("seeds", "1...\(seeds)")
        let fft = RealFFT<Double>(size: length)
        var jobs: [(Model, Int, Int, Int)] = []
        for k in counts { for seed in 1...seeds { for t in 0..<targets { for m in Model.allCases { jobs.append((m, k, seed, t)) } } } }
        // Longest first (cost grows with K), so the two workers finish together.
        jobs.sort { $0.1 > $1.1 }
        let results = WorkerSlots<Trial>(count: jobs.count)
        let done = Atomic<Int>(0)
        let start = Date()
        Parallelism.forEach(jobs.count) { i in
            let (m, k, seed, t) = jobs[i]
            results.items[i] = runTrial(m, k: k, seed: seed, index: t, fft: fft)
            let finished = done.wrappingAdd(1, ordering: .relaxed).newValue
            let r = results.items[i]!
            // Progress on standard error, which is unbuffered (stdout into a file shows nothing until the end).
            let line = String(format: "[%d/%d, %.0f s] K=%d seed %d target %d %@: frequency %.1f dB, spectral %.1f dB\n",
                              finished, jobs.count, Date().timeIntervalSince(start), k, seed, t, m.rawValue, r.frequencyLacDB, r.spectralMSEDB)
            FileHandle.standardError.write(Data(line.utf8))
        }
        let trials = (0..<jobs.count).map { results.items[$0]! }.sorted { ($0.k, $0.seed, $0.target, $0.model.rawValue) < ($1.k, $1.seed, $1.target, $1.model.rawValue) }
        var csv = CSVWriter(path: "\(out)/trials.csv", header: ["sinusoids", "seed", "target", "model", "finite", "freq_lac_db", "spectral_mse_db", "signal_mse_db", "final_loss", "final_parameters"])
        for t in trials { csv.row([t.k, t.seed, t.target, t.model.rawValue, t.finite ? 1 : 0, t.frequencyLacDB, t.spectralMSEDB, t.signalMSEDB, t.finalLoss, t.parameters]) }
        try csv.finish()
        var summary = CSVWriter(path: "\(out)/summary.csv", header: ["sinusoids", "model", "trials", "diverged", "metric", "median", "mean", "mean_low", "mean_high", "median_of_seed_medians_low", "median_of_seed_medians_high"])
        var paired = CSVWriter(path: "\(out)/paired.csv", header: ["sinusoids", "metric", "pairs", "mean_difference_surrogate_minus_real", "low", "high", "surrogate_lower"])
        func median(_ x: [Double]) -> Double { let s = x.sorted(); return s.isEmpty ? .nan : s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2 }
        let metrics: [(String, (Trial) -> Double)] = [("freq_lac_db", { $0.frequencyLacDB }), ("spectral_mse_db", { $0.spectralMSEDB }), ("signal_mse_db", { $0.signalMSEDB })]
        for k in counts {
            for (name, metric) in metrics {
                for m in Model.allCases {
                    let rows = trials.filter { $0.k == k && $0.model == m }
                    let values = rows.filter(\.finite).map(metric)
                    let interval = Bootstrap.meanInterval(values)
                    let seedMedians = (1...seeds).map { s in median(rows.filter { $0.seed == s && $0.finite }.map(metric)) }
                    summary.row([k, m.rawValue, rows.count, rows.filter { !$0.finite }.count, name, median(values), interval.mean, interval.low, interval.high,
                                 seedMedians.min() ?? .nan, seedMedians.max() ?? .nan])
                }
                let pairs = trials.filter { $0.k == k && $0.model == .surrogate && $0.finite }.compactMap { s -> Double? in
                    guard let r = trials.first(where: { $0.k == k && $0.model == .real && $0.seed == s.seed && $0.target == s.target && $0.finite }) else { return nil }
                    return metric(s) - metric(r)
                }
                let d = Bootstrap.meanInterval(pairs)
                paired.row([k, name, pairs.count, d.mean, d.low, d.high, pairs.filter { $0 < 0 }.count])
                print(String(format: "K=%d %@: surrogate - real %.1f dB [%.1f, %.1f], surrogate lower on %d of %d", k, name, d.mean, d.low, d.high, pairs.filter { $0 < 0 }.count, pairs.count))
            }
        }
        try summary.finish()
        try paired.finish()
        print("wrote \(out)/trials.csv, summary.csv and paired.csv")
    }
}
