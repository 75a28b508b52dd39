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
        // One target for every item (the matcher's restarts, an evaluation's batch of points):
        // its spectra are computed once per resolution instead of once per item.
        let sharedTarget: [SingleResolution<T>.TargetFeatures]? = target.samples.withUnsafeBufferPointer { y in
            guard batch > 1, (1..<batch).allSatisfy({ memcmp(y.baseAddress! + $0 * n, y.baseAddress!, n * MemoryLayout<T>.stride) == 0 }) else { return nil }
            let features = WorkerSlots<SingleResolution<T>.TargetFeatures>(count: r)
            let yp = UncheckedPointer(UnsafeMutablePointer(mutating: y.baseAddress!))
            Parallelism.forEach(r) { j in
                features.items[j] = SingleResolution<T>(loss: self, configuration: resolutions[j], sampleCount: n)!.features(yp.pointer)
            }
            return (0..<r).map { features.items[$0]! }
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
    }

    func magnitudes(_ spec: [T]) -> [T] {
        let floor = T(loss.powerFloor)
        return (0..<(stft.frameCount * stft.binCount)).map { i in
            let p = spec[2 * i] * spec[2 * i] + spec[2 * i + 1] * spec[2 * i + 1]
            return Swift.max(p, floor).squareRoot()
        }
    }

    /// Frames x bands through the mel filterbank, or the magnitudes themselves.
    func projected(_ magnitudes: [T]) -> [T] {
        guard let mel else { return magnitudes }
        let frames = stft.frameCount, bins = stft.binCount, width = mel.melCount
        var out = [T](repeating: 0, count: frames * width)
        for f in 0..<frames {
            magnitudes.withUnsafeBufferPointer { m in out.withUnsafeMutableBufferPointer { o in mel.apply(m.baseAddress! + f * bins, into: o.baseAddress! + f * width) } }
        }
        return out
    }

    func logOf(_ v: T) -> (value: T, slope: T) {
        switch loss.logarithm {
        // Subnormal magnitudes count as zero, as in TensorFlow (which flushes them on CPU):
        // 1 / v would overflow float32.
        case .safe(let eps): return v >= T.leastNormalMagnitude ? (T.log(v), 1 / v) : (T.log(T(eps)), 0)
        case .offset(let eps): return (T.log(v + T(eps)), 1 / (v + T(eps)))
        }
    }

    func features(_ target: UnsafePointer<T>) -> TargetFeatures {
        var ySpec = [T](repeating: 0, count: stft.spectrumCount)
        ySpec.withUnsafeMutableBufferPointer { stft.transform(target, into: $0.baseAddress!) }
        let y = projected(magnitudes(ySpec))
        return TargetFeatures(magnitudes: y, logarithms: y.map { logOf($0).value })
    }

    /// Returns this resolution's weighted loss (before the scale reduction) and, if
    /// `gradient` is given, accumulates `scale * dLoss/dPrediction` into it.
    func evaluate(_ prediction: UnsafePointer<T>, _ target: UnsafePointer<T>,
                  gradient: UnsafeMutablePointer<T>?, scale: T) -> (value: T, terms: (linear: Double, log: Double, convergence: Double)) {
        evaluate(prediction, features(target), gradient: gradient, scale: scale)
    }

    func evaluate(_ prediction: UnsafePointer<T>, _ target: TargetFeatures,
                  gradient: UnsafeMutablePointer<T>?, scale: T) -> (value: T, terms: (linear: Double, log: Double, convergence: Double)) {
        let frames = stft.frameCount, bins = stft.binCount
        var xSpec = [T](repeating: 0, count: stft.spectrumCount)
        xSpec.withUnsafeMutableBufferPointer { stft.transform(prediction, into: $0.baseAddress!) }
        let floor = T(loss.powerFloor)
        let xMag = magnitudes(xSpec)
        let width = mel?.melCount ?? bins
        let s = projected(xMag), y = target.magnitudes, logY = target.logarithms
        let count = T(s.count)
        let wLin = T(loss.linearWeight), wLog = T(loss.logWeight), wSC = T(loss.convergenceWeight)
        var linSum: T = 0, logSum: T = 0, diff2: T = 0, y2: T = 0
        var dS = [T](repeating: 0, count: gradient == nil ? 0 : s.count)
        // The hot loop of matching (a third of a refinement step): raw pointers (no uniqueness
        // checks on `dS`), the distance chosen once; same operations in the same order as the
        // plain form, so results are unchanged.
        let l1 = loss.distance == .l1, wantGradient = gradient != nil
        s.withUnsafeBufferPointer { s in y.withUnsafeBufferPointer { y in logY.withUnsafeBufferPointer { logY in
            dS.withUnsafeMutableBufferPointer { dS in
                for i in 0..<s.count {
                    let d = s[i] - y[i]
                    let (ls, lslope) = logOf(s[i])
                    let dl = ls - logY[i]
                    if l1 {
                        linSum += abs(d); logSum += abs(dl)
                        if wantGradient { dS[i] = wLin * Self.sign(d) / count + wLog * Self.sign(dl) * lslope / count }
                    } else {
                        linSum += d * d; logSum += dl * dl
                        if wantGradient { dS[i] = wLin * 2 * d / count + wLog * 2 * dl * lslope / count }
                    }
                    diff2 += d * d
                    y2 += y[i] * y[i]
                }
            }
        } } }
        let lin = linSum / count, logTerm = logSum / count
        let diffNorm = diff2.squareRoot(), yNorm = y2.squareRoot()
        let sc = yNorm > 0 ? diffNorm / yNorm : 0
        let value = wLin * lin + wLog * logTerm + wSC * sc
        if let gradient {
            if wSC != 0, diffNorm > 0, yNorm > 0 {
                let k = wSC / (diffNorm * yNorm)
                for i in 0..<s.count { dS[i] += k * (s[i] - y[i]) }
            }
            var dMag = dS
            if let mel {
                dMag = [T](repeating: 0, count: frames * bins)
                for f in 0..<frames {
                    dS.withUnsafeBufferPointer { g in dMag.withUnsafeMutableBufferPointer { o in mel.accumulateAdjoint(g.baseAddress! + f * width, into: o.baseAddress! + f * bins) } }
                }
            }
            // |X| = sqrt(max(re^2 + im^2, floor)): d|X|/dre = re / |X| where unclamped.
            var dSpec = [T](repeating: 0, count: stft.spectrumCount)
            for i in 0..<(frames * bins) {
                let re = xSpec[2 * i], im = xSpec[2 * i + 1]
                let p = re * re + im * im
                if p > floor, p > 0 {
                    // Unit direction first: dMag / |X| alone can overflow float32 for tiny |X|.
                    let k = scale * dMag[i]
                    dSpec[2 * i] = k * (re / xMag[i])
                    dSpec[2 * i + 1] = k * (im / xMag[i])
                }
            }
            dSpec.withUnsafeMutableBufferPointer { stft.accumulateAdjoint($0.baseAddress!, into: gradient) }
        }
        return (value, (Double(lin), Double(logTerm), Double(sc)))
    }

    @inlinable static func sign(_ x: T) -> T { x > 0 ? 1 : (x < 0 ? -1 : 0) }
}
