import DSP

/// Distance between loudness contours: the mean absolute difference, in dB, of the two signals'
/// frame levels (non-overlapping frames of `frameLength` samples; a last partial frame counts
/// with its own length):
///
///     l_f   = 10 log10(mean_{i in f} x_i^2 + floor)
///     L     = mean_f |l_f(prediction) - l_f(target)|
///     dL/dx_i = sign(l_f(p) - l_f(t)) (10 / ln 10) (2 x_i / len_f) / (mean x^2 + floor) / F
///
/// `floor` is the target's loudest frame power times `10^(-floorDB/10)`: quiet frames of the
/// target count down to that level (80 dB below its peak by default, as the envelope
/// correlation of `ListenerMetrics` floors them), and, added rather than clamped, it leaves a
/// gradient in frames where the prediction is silent. A spectral loss summed over bins weights a
/// note's quiet release and decay by how loud they are, so it leaves them loose; this term asks
/// for the same loudness contour in every frame (issue 13: envelope correlation over whole notes).
public struct EnvelopeLoss: AudioLoss, Sendable, Hashable {
    public var frameLength: Int
    public var floorDB: Double
    public init(frameLength: Int, floorDB: Double = 80) {
        precondition(frameLength > 0, "envelope loss: frame length must be positive")
        self.frameLength = frameLength
        self.floorDB = floorDB
    }

    public func values<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>) -> [T] {
        evaluate(prediction, target, wantGradient: false).values
    }

    public func valuesWithGradient<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>)
        -> (values: [T], gradient: AudioBatch<T>) {
        evaluate(prediction, target, wantGradient: true)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func evaluate<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>, wantGradient: Bool)
        -> (values: [T], gradient: AudioBatch<T>) {
        precondition(prediction.batchSize == target.batchSize && prediction.sampleCount == target.sampleCount,
                     "envelope loss: prediction and target shapes differ")
        let n = prediction.sampleCount, h = frameLength
        let frames = (n + h - 1) / h
        var values = [T](repeating: 0, count: prediction.batchSize)
        var gradient = AudioBatch<T>(zeros: wantGradient ? prediction.batchSize : 0, sampleCount: n)
        guard frames > 0 else { return (values, gradient) }
        let dB = 10 / Double.log(10)
        var targetPower = [Double](repeating: 0, count: frames), predictedPower = targetPower
        prediction.samples.withUnsafeBufferPointer { p in
            target.samples.withUnsafeBufferPointer { t in
                for b in 0..<prediction.batchSize {
                    let base = b * n
                    func power(_ x: UnsafeBufferPointer<T>, into out: inout [Double]) {
                        for f in 0..<frames {
                            let lo = f * h, hi = Swift.min(lo + h, n)
                            var s = 0.0
                            for i in lo..<hi { let v = Double(x[base + i]); s += v * v }
                            out[f] = s / Double(hi - lo)
                        }
                    }
                    power(t, into: &targetPower)
                    power(p, into: &predictedPower)
                    let floor = Swift.max(targetPower.max() ?? 0, 1e-30) * Double.pow(10, -floorDB / 10)
                    var sum = 0.0
                    for f in 0..<frames {
                        let e = dB * (Double.log(predictedPower[f] + floor) - Double.log(targetPower[f] + floor))
                        sum += Swift.abs(e)
                        guard wantGradient, e != 0 else { continue }
                        let lo = f * h, hi = Swift.min(lo + h, n)
                        let scale = (e > 0 ? 1.0 : -1.0) * dB * 2 / Double(hi - lo) / (predictedPower[f] + floor) / Double(frames)
                        for i in lo..<hi { gradient.samples[base + i] = T(scale * Double(p[base + i])) }
                    }
                    values[b] = T(sum / Double(frames))
                }
            }
        }
        return (values, gradient)
    }
}

/// What `match` minimises: the spectral loss plus `envelopeWeight` times the envelope loss
/// (dB per frame). Each term is exact, so their weighted sum's gradient is too.
public struct MatchObjective: AudioLoss, Sendable {
    public var spectral: MultiScaleSpectralLoss
    public var envelope: EnvelopeLoss
    public var envelopeWeight: Double
    public init(spectral: MultiScaleSpectralLoss, envelope: EnvelopeLoss, envelopeWeight: Double) {
        (self.spectral, self.envelope, self.envelopeWeight) = (spectral, envelope, envelopeWeight)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func values<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>) -> [T] {
        var v = spectral.values(prediction, target)
        guard envelopeWeight != 0 else { return v }
        let e = envelope.values(prediction, target), w = T(envelopeWeight)
        for b in v.indices { v[b] += w * e[b] }
        return v
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valuesWithGradient<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>)
        -> (values: [T], gradient: AudioBatch<T>) {
        var (v, g) = spectral.valuesWithGradient(prediction, target)
        guard envelopeWeight != 0 else { return (v, g) }
        let (e, ge) = envelope.valuesWithGradient(prediction, target), w = T(envelopeWeight)
        for b in v.indices { v[b] += w * e[b] }
        for i in g.samples.indices { g.samples[i] += w * ge.samples[i] }
        return (v, g)
    }
}
