import DSP
import Foundation
import RealModule

/// Multi-scale (multi-resolution) spectral loss with linear-magnitude, log-magnitude and
/// spectral-convergence terms, optionally on a mel scale. One type covers both reference
/// families; `ddsp()` and `auraloss()` reproduce their defaults (checked against the
/// libraries by `Experiments/reference/spectral_loss_vectors.py`).
///
/// For each resolution r, with magnitudes `S = sqrt(max(|STFT x|^2, powerFloor))` of the
/// prediction and `Y` of the target (after the mel projection `M S` if set), over all
/// frames and bins:
///
///     lin_r = mean |S - Y|            (or mean (S - Y)^2 with `.l2`)
///     log_r = mean |log S - log Y|
///     sc_r  = ||Y - S||_F / ||Y||_F
///     L     = reduce_r (w_lin lin_r + w_log log_r + w_sc sc_r),  reduce = sum or mean
///
/// Gradient: dL/dS per term (sign/|.|, 1/S for the log, (S - Y)/(||Y - S|| ||Y||) for
/// convergence), through `M^T`, then `dRe = dS re / S`, `dIm = dS im / S` (zero where the
/// power floor clamps), then the STFT adjoint. `sign(0) = 0`, as torch's L1 gradient.
public struct MultiScaleSpectralLoss: AudioLoss, Sendable, Hashable, Codable {
    public enum Distance: String, Sendable, Hashable, Codable { case l1, l2 }
    public enum ScaleReduction: String, Sendable, Hashable, Codable { case sum, mean }
    /// How the log of a magnitude is taken.
    public enum Logarithm: Sendable, Hashable, Codable {
        /// DDSP `safe_log`: `log(x)` for `x > 0`, `log(eps)` otherwise (not `log(x + eps)`).
        case safe(epsilon: Double)
        /// `log(x + eps)` (DDX7: 1e-7; diffsynth: 1e-4 on power).
        case offset(epsilon: Double)
    }
    public struct MelScale: Sendable, Hashable, Codable {
        public var sampleRate: Double
        public var bands: Int
        public init(sampleRate: Double, bands: Int) { self.sampleRate = sampleRate; self.bands = bands }
    }

    public var resolutions: [STFTConfiguration]
    public var linearWeight: Double
    public var logWeight: Double
    public var convergenceWeight: Double
    public var distance: Distance
    public var logarithm: Logarithm
    /// Floor on `re^2 + im^2` before the square root (auraloss: 1e-8; DDSP: 0).
    public var powerFloor: Double
    public var scaleReduction: ScaleReduction
    public var melScale: MelScale?

    public init(resolutions: [STFTConfiguration], linearWeight: Double = 1, logWeight: Double = 1,
                convergenceWeight: Double = 0, distance: Distance = .l1,
                logarithm: Logarithm = .safe(epsilon: 1e-5), powerFloor: Double = 0,
                scaleReduction: ScaleReduction = .sum, melScale: MelScale? = nil) {
        self.resolutions = resolutions
        self.linearWeight = linearWeight
        self.logWeight = logWeight
        self.convergenceWeight = convergenceWeight
        self.distance = distance
        self.logarithm = logarithm
        self.powerFloor = powerFloor
        self.scaleReduction = scaleReduction
        self.melScale = melScale
    }

    /// magenta/ddsp `losses.SpectralLoss`: FFT sizes 2048...64, 75% overlap, `tf.signal.stft`
    /// framing (no centring, zeros at the end), L1, terms summed over scales, `safe_log`.
    /// The library's default `logmag_weight` is 0; its training configs (ae.gin) use 1,
    /// which is this preset's default.
    public static func ddsp(fftSizes: [Int] = [2048, 1024, 512, 256, 128, 64],
                            magnitudeWeight: Double = 1, logMagnitudeWeight: Double = 1) -> Self {
        Self(resolutions: fftSizes.map { STFTConfiguration(fftSize: $0, hopSize: $0 / 4, padding: .endZeros) },
             linearWeight: magnitudeWeight, logWeight: logMagnitudeWeight, convergenceWeight: 0,
             logarithm: .safe(epsilon: 1e-5), powerFloor: 0, scaleReduction: .sum)
    }

    /// The same loss with every resolution framed by `padding`; `.none` keeps every frame inside
    /// the signal, which removes the f0-gradient ripple that frames running past the end cause
    /// (README, "Where the ripple comes from").
    public func framed(_ padding: STFTPadding) -> Self {
        var copy = self
        copy.resolutions = resolutions.map { var r = $0; r.padding = padding; return r }
        return copy
    }

    /// auraloss `MultiResolutionSTFTLoss()` defaults: FFT (1024, 2048, 512), hops (120, 240,
    /// 50), windows (600, 1200, 240), centred reflect-padded STFT, spectral convergence +
    /// log magnitude (weights 1), no linear term, power floor 1e-8, mean over resolutions.
    /// `melBands` adds auraloss's `scale='mel'` (librosa Slaney filterbank).
    public static func auraloss(sampleRate: Double? = nil, melBands: Int? = nil) -> Self {
        let r = [(1024, 120, 600), (2048, 240, 1200), (512, 50, 240)].map {
            STFTConfiguration(fftSize: $0.0, hopSize: $0.1, windowLength: $0.2, padding: .centerReflect)
        }
        var mel: MelScale?
        if let melBands { mel = MelScale(sampleRate: sampleRate ?? 16000, bands: melBands) }
        return Self(resolutions: r, linearWeight: 0, logWeight: 1, convergenceWeight: 1,
                    logarithm: .offset(epsilon: 0), powerFloor: 1e-8, scaleReduction: .mean, melScale: mel)
    }

    /// The mel variant used by `synthmatch distance --loss mel`: auraloss's resolutions
    /// with a 128-band mel scale (auraloss requires bands <= FFT size; 128 fits all three).
    public static func mel(sampleRate: Double, bands: Int = 128) -> Self {
        auraloss(sampleRate: sampleRate, melBands: bands)
    }

    /// The shortest signal every resolution can frame.
    public func validate(sampleCount n: Int) throws {
        for r in resolutions where r.frameCount(samples: n) == nil {
            throw LossError.signalTooShort(samples: n, resolution: r)
        }
    }

    public func values<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>) -> [T] {
        evaluate(prediction, target, wantGradient: false).values
    }

    public func valuesWithGradient<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>)
        -> (values: [T], gradient: AudioBatch<T>) {
        evaluate(prediction, target, wantGradient: true)
    }

    /// Per-resolution, per-term values for one pair of signals (for reports and fixtures).
    public func terms(_ prediction: [Double], _ target: [Double]) -> [(linear: Double, log: Double, convergence: Double)] {
        resolutions.map { r in
            var scratch = [Double](repeating: 0, count: prediction.count)
            let t = SingleResolution<Double>(loss: self, configuration: r, sampleCount: prediction.count)!
            return prediction.withUnsafeBufferPointer { p in target.withUnsafeBufferPointer { y in
                scratch.withUnsafeMutableBufferPointer { g in t.evaluate(p.baseAddress!, y.baseAddress!, gradient: nil, scale: 1) }
            } }.terms
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func evaluate<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>, wantGradient: Bool)
        -> (values: [T], gradient: AudioBatch<T>) {
        precondition(prediction.batchSize == target.batchSize && prediction.sampleCount == target.sampleCount,
                     LossError.shapeMismatch(prediction: (prediction.batchSize, prediction.sampleCount),
                                             target: (target.batchSize, target.sampleCount)).description)
        let n = prediction.sampleCount, batch = prediction.batchSize
        precondition((try? validate(sampleCount: n)) != nil, "spectral loss: \(n) samples is too short for these resolutions")
        // Work items are (batch item, resolution) pairs, so a single target still uses every
        // core; each pair writes its own gradient row, summed per item afterwards in a fixed
        // order (results do not depend on the thread count).
        let r = resolutions.count
        var partial = [T](repeating: 0, count: batch * r)
        var partialGradient = [T](repeating: 0, count: wantGradient ? batch * r * n : 0)
        let scale: T = scaleReduction == .mean ? 1 / T(r) : 1
        // One target for every item (the matcher's restarts, an evaluation's batch of points, a
        // single item): its spectra are computed once per resolution instead of once per item,
        // and kept across calls (`TargetFeatureCache`: refinement scores one target hundreds
        // of times).
        let sharedTarget: [SingleResolution<T>.TargetFeatures]? = target.samples.withUnsafeBufferPointer { y in
            guard batch >= 1, (1..<batch).allSatisfy({ memcmp(y.baseAddress! + $0 * n, y.baseAddress!, n * MemoryLayout<T>.stride) == 0 }) else { return nil }
            return TargetFeatureCache.features(loss: self, target: y.baseAddress!, count: n) {
                let features = WorkerSlots<SingleResolution<T>.TargetFeatures>(count: r)
                let yp = UncheckedPointer(UnsafeMutablePointer(mutating: y.baseAddress!))
                Parallelism.forEach(r) { j in
                    features.items[j] = SingleResolution<T>(loss: self, configuration: resolutions[j], sampleCount: n)!.features(yp.pointer)
                }
                return (0..<r).map { features.items[$0]! }
            }
        }
        partial.withUnsafeMutableBufferPointer { v in
            partialGradient.withUnsafeMutableBufferPointer { g in
                prediction.samples.withUnsafeBufferPointer { p in
                    target.samples.withUnsafeBufferPointer { y in
                        let v = UncheckedPointer(v.baseAddress!)
                        let g = UncheckedPointer(g.baseAddress ?? v.pointer)
                        let p = UncheckedPointer(UnsafeMutablePointer(mutating: p.baseAddress!))
                        let y = UncheckedPointer(UnsafeMutablePointer(mutating: y.baseAddress!))
                        Parallelism.forEach(batch * r) { job in
                            let b = job / r, resolution = resolutions[job % r]
                            let single = SingleResolution<T>(loss: self, configuration: resolution, sampleCount: n)!
                            let features = sharedTarget?[job % r] ?? single.features(y.pointer + b * n)
                            v.pointer[job] = single.evaluate(p.pointer + b * n, features,
                                                             gradient: wantGradient ? g.pointer + job * n : nil, scale: scale).value
                        }
                    }
                }
            }
        }
        var values = [T](repeating: 0, count: batch)
        var gradient = AudioBatch<T>(zeros: wantGradient ? batch : 0, sampleCount: n)
        for b in 0..<batch {
            values[b] = (0..<r).reduce(T(0)) { $0 + partial[b * r + $1] } * scale
            if wantGradient {
                for j in 0..<r {
                    let base = (b * r + j) * n
                    for i in 0..<n { gradient.samples[b * n + i] += partialGradient[base + i] }
                }
            }
        }
        return (values, gradient)
    }
}

/// A pointer handed to worker threads, each of which touches only its own rows.
struct UncheckedPointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

/// One resolution's loss for one signal pair: a workspace, built per item and resolution.
struct SingleResolution<T: SynthScalar> {
    let loss: MultiScaleSpectralLoss
    let stft: ShortTimeFourierTransform<T>
    let mel: MelFilterbank<T>?

    init?(loss: MultiScaleSpectralLoss, configuration: STFTConfiguration, sampleCount: Int) {
        guard let stft = ShortTimeFourierTransform<T>(configuration, sampleCount: sampleCount) else { return nil }
        self.loss = loss
        self.stft = stft
        mel = loss.melScale.map { MelFilterbank(sampleRate: $0.sampleRate, fftSize: configuration.fftSize, melCount: $0.bands) }
    }

    /// The target's side of the loss: its (mel) magnitudes and their logarithms.
    struct TargetFeatures: @unchecked Sendable {
        let magnitudes: [T]
        let logarithms: [T]
        /// sum of magnitudes^2 (spectral convergence's denominator).
        let squaredNorm: T
    }

    /// Number of compared values per signal: frames x bins, or frames x mel bands.
    var featureCount: Int { stft.frameCount * (mel?.melCount ?? stft.binCount) }

    /// `out[i] = sqrt(max(re_i^2 + im_i^2, powerFloor))` over a packed spectrum (vectorises).
    func magnitudes(_ spectrum: UnsafePointer<T>, into out: UnsafeMutablePointer<T>) {
        let floor = T(loss.powerFloor)
        // Interleaved loops vectorise only in this form (checked in the assembly): a `while`
        // with wrapping index arithmetic, and a select instead of Swift.max (which branches
        // on NaN). `for i in 0..<m` over `2 * i` stays scalar.
        let m = stft.frameCount * stft.binCount
        var i = 0
        while i < m {
            let re = spectrum[2 &* i], im = spectrum[2 &* i &+ 1]
            let p = re * re + im * im
            out[i] = (p > floor ? p : floor).squareRoot()
            i &+= 1
        }
    }

    /// Frames x bands through the mel filterbank into `out`; false (nothing written) without one.
    func project(_ magnitudes: UnsafePointer<T>, into out: UnsafeMutablePointer<T>) -> Bool {
        guard let mel else { return false }
        let bins = stft.binCount, width = mel.melCount
        for f in 0..<stft.frameCount { mel.apply(magnitudes + f * bins, into: out + f * width) }
        return true
    }

    /// `logs[i]` and, if wanted, `slopes[i] = d logs[i] / d v[i]` by `loss.logarithm`. With
    /// `.offset`, `slopes` must be given (it holds `v + eps` on the way).
    func logarithms(_ v: UnsafePointer<T>, into logs: UnsafeMutablePointer<T>, slopes: UnsafeMutablePointer<T>?, count: Int) {
        switch loss.logarithm {
        // Subnormal magnitudes count as zero, as in TensorFlow (which flushes them on CPU):
        // 1 / v would overflow float32.
        // One pass each (the log computed in every lane, then selected: no branch).
        case .safe(let eps):
            let logEps = T.log(T(eps)), tiny = T.leastNormalMagnitude
            if let slopes {
                for i in 0..<count {
                    let x = v[i], l = VectorMath.logarithm(x), ok = x >= tiny
                    logs[i] = ok ? l : logEps
                    slopes[i] = ok ? 1 / x : 0
                }
            } else {
                for i in 0..<count { let x = v[i], l = VectorMath.logarithm(x); logs[i] = x >= tiny ? l : logEps }
            }
        case .offset(let eps):
            let slopes = slopes!, e = T(eps)
            for i in 0..<count {
                let w = v[i] + e
                logs[i] = VectorMath.logarithm(w)
                slopes[i] = 1 / w
            }
        }
    }

    func features(_ target: UnsafePointer<T>) -> TargetFeatures {
        let m = stft.frameCount * stft.binCount, k = featureCount
        let work = UnsafeMutablePointer<T>.allocate(capacity: 3 * m + k)
        defer { work.deallocate() }
        let spectrum = work, magnitude = work + 2 * m, projected = work + 3 * m
        stft.transform(target, into: spectrum)
        magnitudes(spectrum, into: magnitude)
        let y = project(magnitude, into: projected) ? projected : magnitude
        var logs = [T](repeating: 0, count: k)
        // The spectrum's slot is free again: scratch for the slopes (k <= 2m).
        logs.withUnsafeMutableBufferPointer { l in logarithms(y, into: l.baseAddress!, slopes: spectrum, count: k) }
        for i in 0..<k { spectrum[i] = y[i] * y[i] }
        return TargetFeatures(magnitudes: Array(UnsafeBufferPointer(start: y, count: k)), logarithms: logs,
                              squaredNorm: VectorMath.sum(spectrum, count: k))
    }

    /// Returns this resolution's weighted loss (before the scale reduction) and, if
    /// `gradient` is given, accumulates `scale * dLoss/dPrediction` into it.
    func evaluate(_ prediction: UnsafePointer<T>, _ target: UnsafePointer<T>,
                  gradient: UnsafeMutablePointer<T>?, scale: T) -> (value: T, terms: (linear: Double, log: Double, convergence: Double)) {
        evaluate(prediction, features(target), gradient: gradient, scale: scale)
    }

    /// The hot path of matching and training: one workspace allocation, element-wise passes
    /// that vectorise (magnitudes, the polynomial log, selects for `sign` and the power
    /// floor), sums in eight lanes (then added in a fixed order: results do not depend on
    /// the thread count), and the spectrum's gradient written over the spectrum itself.
    func evaluate(_ prediction: UnsafePointer<T>, _ target: TargetFeatures,
                  gradient: UnsafeMutablePointer<T>?, scale: T) -> (value: T, terms: (linear: Double, log: Double, convergence: Double)) {
        let m = stft.frameCount * stft.binCount, k = featureCount
        let projectedCount = mel == nil ? 0 : k
        // spectrum (2m) | magnitudes (m) | projected (k, mel only) | logs | slopes | dS (k);
        // logs and slopes hold max(k, m) values: the gradient reuses them per bin.
        let row = Swift.max(k, m)
        let work = UnsafeMutablePointer<T>.allocate(capacity: 3 * m + projectedCount + 2 * row + k)
        defer { work.deallocate() }
        let spectrum = work, magnitude = work + 2 * m
        let projected = magnitude + m, logS = projected + projectedCount, slope = logS + row, dS = slope + row
        stft.transform(prediction, into: spectrum)
        magnitudes(spectrum, into: magnitude)
        let s = project(magnitude, into: projected) ? projected : magnitude
        logarithms(s, into: logS, slopes: slope, count: k)

        let count = T(k)
        let wLin = T(loss.linearWeight), wLog = T(loss.logWeight), wSC = T(loss.convergenceWeight)
        let l1 = loss.distance == .l1, wantGradient = gradient != nil
        let (lin, logTerm, diff2) = target.magnitudes.withUnsafeBufferPointer { yb in
            target.logarithms.withUnsafeBufferPointer { lyb in
                Self.reduce(s, yb.baseAddress!, logS, lyb.baseAddress!, slope, dS: wantGradient ? dS : nil, count: k, l1: l1,
                            linearScale: wLin / count, logScale: wLog / count)
            }
        }
        let diffNorm = diff2.squareRoot(), yNorm = target.squaredNorm.squareRoot()
        let sc = yNorm > 0 ? diffNorm / yNorm : 0
        let linMean = lin / count, logMean = logTerm / count
        let value = wLin * linMean + wLog * logMean + wSC * sc
        if let gradient {
            if wSC != 0, diffNorm > 0, yNorm > 0 {
                let c = wSC / (diffNorm * yNorm)
                target.magnitudes.withUnsafeBufferPointer { y in
                    for i in 0..<k { dS[i] += c * (s[i] - y[i]) }
                }
            }
            var dMagnitude = dS
            if let mel {
                // The magnitudes are not needed again: the mel adjoint lands in their slot.
                dMagnitude = magnitude
                for i in 0..<m { dMagnitude[i] = 0 }
                let bins = stft.binCount, width = mel.melCount
                for f in 0..<stft.frameCount { mel.accumulateAdjoint(dS + f * width, into: dMagnitude + f * bins) }
            }
            // |X| = sqrt(max(re^2 + im^2, floor)): d|X|/dre = re / |X| where unclamped, as
            // dMag * (re * (1 / |X|)): the unit direction first, since dMag / |X| alone can
            // overflow float32 for tiny |X| (1 / |X| cannot: |X| >= sqrt(least subnormal)).
            // Each bin's gradient overwrites its own (re, im). Two loops that vectorise: the
            // gate and reciprocal per bin (contiguous), then the interleaved pairs.
            let floor = T(loss.powerFloor)
            let gate = slope, reciprocal = logS     // free again
            var i = 0
            while i < m {   // `while` form: see `magnitudes`
                let re = spectrum[2 &* i], im = spectrum[2 &* i &+ 1]
                let p = re * re + im * im
                let open = p > floor && p > 0
                gate[i] = open ? scale * dMagnitude[i] : 0
                reciprocal[i] = open ? 1 / p.squareRoot() : 0
                i &+= 1
            }
            i = 0
            while i < m {
                let g = gate[i], r = reciprocal[i]
                let re = spectrum[2 &* i], im = spectrum[2 &* i &+ 1]
                spectrum[2 &* i] = g * (re * r)
                spectrum[2 &* i &+ 1] = g * (im * r)
                i &+= 1
            }
            stft.accumulateAdjoint(spectrum, into: gradient)
        }
        return (value, (Double(linMean), Double(logMean), Double(sc)))
    }

    /// Sums of the distance terms over `count` values, and `dS` (if given):
    /// `linearScale * d' + logScale * dl' * slope` with `d = s - y`, `dl = log s - log y`,
    /// `d'` = sign (L1) or 2d (L2). Returns (sum dist(d), sum dist(dl), sum d^2).
    /// An element-wise pass (vectorised: `abs` and `sign` become selects) into three scratch
    /// rows, then eight-lane sums.
    static func reduce(_ s: UnsafePointer<T>, _ y: UnsafePointer<T>, _ logS: UnsafePointer<T>, _ logY: UnsafePointer<T>,
                       _ slope: UnsafePointer<T>, dS: UnsafeMutablePointer<T>?, count: Int, l1: Bool,
                       linearScale: T, logScale: T) -> (T, T, T) {
        let rows = UnsafeMutablePointer<T>.allocate(capacity: 3 * count)
        defer { rows.deallocate() }
        let linRow = rows, logRow = rows + count, squareRow = rows + 2 * count
        if l1 {
            if let dS {
                for i in 0..<count {
                    let d = s[i] - y[i], dl = logS[i] - logY[i]
                    linRow[i] = abs(d); logRow[i] = abs(dl); squareRow[i] = d * d
                    dS[i] = linearScale * sign(d) + logScale * sign(dl) * slope[i]
                }
            } else {
                for i in 0..<count {
                    let d = s[i] - y[i], dl = logS[i] - logY[i]
                    linRow[i] = abs(d); logRow[i] = abs(dl); squareRow[i] = d * d
                }
            }
        } else {
            for i in 0..<count {
                let d = s[i] - y[i], dl = logS[i] - logY[i]
                linRow[i] = d * d; logRow[i] = dl * dl; squareRow[i] = d * d
                dS?[i] = linearScale * (2 * d) + logScale * (2 * dl) * slope[i]
            }
        }
        return (VectorMath.sum(linRow, count: count), VectorMath.sum(logRow, count: count), VectorMath.sum(squareRow, count: count))
    }

    @inlinable static func sign(_ x: T) -> T { x > 0 ? 1 : (x < 0 ? -1 : 0) }
}
