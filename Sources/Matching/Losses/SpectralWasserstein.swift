import DSP

/// A transport-style spectral distance: the 1-D Wasserstein (earth mover's) distance, in
/// Hz, between the normalised long-term magnitude spectra of prediction and target:
///
///     S_k = sum_frames |X_fk|,  p = S / sum S,   W1 = df sum_k |P_k - Q_k|
///
/// with `P`, `Q` the cumulative sums of `p`, `q` and `df = sr / fftSize`. Unlike bin-wise
/// distances it grows with how far spectral mass must move, so a partial one semitone off
/// costs less than one an octave off: the contrast in the f0 loss-landscape study.
/// Gradient, exact:
///
///     dW/dP_k = df sign(P_k - Q_k);  dW/dp_j = sum_{k >= j} dW/dP_k;
///     dW/dS_j = (dW/dp_j - sum_i p_i dW/dp_i) / sum S;  dS/dX = X / |X|;  then the STFT adjoint.
///
/// Frames are whole frames only (no padding): a padded edge's discontinuity spreads mass
/// over the whole spectrum, and the distance's lever (mass times how far it moves) turns
/// that into most of the value. Silence has no spectrum to normalise: `S` gets a floor of
/// 1e-12 per bin.
public struct SpectralWasserstein: AudioLoss, Sendable {
    public var resolution: STFTConfiguration
    public var sampleRate: Double

    public init(sampleRate: Double, fftSize: Int = 2048) {
        self.sampleRate = sampleRate
        resolution = STFTConfiguration(fftSize: fftSize, hopSize: fftSize / 4, padding: .none)
    }

    public func values<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>) -> [T] {
        evaluate(prediction, target, wantGradient: false).values
    }

    public func valuesWithGradient<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>)
        -> (values: [T], gradient: AudioBatch<T>) {
        evaluate(prediction, target, wantGradient: true)
    }

    func evaluate<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>, wantGradient: Bool)
        -> (values: [T], gradient: AudioBatch<T>) {
        precondition(prediction.batchSize == target.batchSize && prediction.sampleCount == target.sampleCount,
                     "wasserstein: prediction and target shapes differ")
        let n = prediction.sampleCount, batch = prediction.batchSize
        var values = [T](repeating: 0, count: batch)
        var gradient = AudioBatch<T>(zeros: wantGradient ? batch : 0, sampleCount: n)
        let df = sampleRate / Double(resolution.fftSize)
        values.withUnsafeMutableBufferPointer { vp in
            gradient.samples.withUnsafeMutableBufferPointer { gp in
                let v = SendablePointer(vp.baseAddress!), g = SendablePointer(gp.baseAddress ?? vp.baseAddress!)
                Parallelism.forEach(batch) { b in
                    guard let stft = ShortTimeFourierTransform<T>(resolution, sampleCount: n) else {
                        preconditionFailure("wasserstein: \(n) samples are too few for an FFT of \(resolution.fftSize)")
                    }
                    let bins = stft.binCount, frames = stft.frameCount
                    var spectrum = [T](repeating: 0, count: stft.spectrumCount)
                    func longTerm(_ x: UnsafePointer<T>) -> [Double] {
                        spectrum.withUnsafeMutableBufferPointer { stft.transform(x, into: $0.baseAddress!) }
                        var s = [Double](repeating: 1e-12, count: bins)
                        for f in 0..<frames {
                            for k in 0..<bins {
                                let re = Double(spectrum[2 * (f * bins + k)]), im = Double(spectrum[2 * (f * bins + k) + 1])
                                s[k] += (re * re + im * im).squareRoot()
                            }
                        }
                        return s
                    }
                    let sq = target.samples.withUnsafeBufferPointer { longTerm($0.baseAddress! + b * n) }
                    let sp = prediction.samples.withUnsafeBufferPointer { longTerm($0.baseAddress! + b * n) }   // leaves X_pred in `spectrum`
                    let totalP = sp.reduce(0, +), totalQ = sq.reduce(0, +)
                    var cp = 0.0, cq = 0.0, w = 0.0
                    var signs = [Double](repeating: 0, count: bins)
                    for k in 0..<bins {
                        cp += sp[k] / totalP
                        cq += sq[k] / totalQ
                        w += abs(cp - cq)
                        signs[k] = cp > cq ? df : (cp < cq ? -df : 0)
                    }
                    v.pointer[b] = T(w * df)
                    guard wantGradient else { return }
                    var dp = [Double](repeating: 0, count: bins), running = 0.0
                    for k in stride(from: bins - 1, through: 0, by: -1) { running += signs[k]; dp[k] = running }
                    let mean = zip(dp, sp).reduce(0) { $0 + $1.0 * $1.1 / totalP }
                    var dSpectrum = [T](repeating: 0, count: stft.spectrumCount)
                    for f in 0..<frames {
                        for k in 0..<bins {
                            let i = 2 * (f * bins + k)
                            let re = Double(spectrum[i]), im = Double(spectrum[i + 1]), magnitude = (re * re + im * im).squareRoot()
                            guard magnitude > 0 else { continue }
                            let dS = (dp[k] - mean) / totalP
                            dSpectrum[i] = T(dS * re / magnitude)
                            dSpectrum[i + 1] = T(dS * im / magnitude)
                        }
                    }
                    dSpectrum.withUnsafeMutableBufferPointer { stft.accumulateAdjoint($0.baseAddress!, into: g.pointer + b * n) }
                }
            }
        }
        return (values, gradient)
    }
}
