import DSP

/// Sample-wise distance: mean |p - t| (L1) or mean (p - t)^2 (L2) over each item's samples.
/// The waveform contrast in loss-landscape studies (blind to phase-free similarity).
public struct WaveformLoss: AudioLoss, Sendable {
    public enum Norm: String, Sendable { case l1, l2 }
    public var norm: Norm
    public init(_ norm: Norm) { self.norm = norm }

    public func values<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>) -> [T] {
        evaluate(prediction, target, wantGradient: false).values
    }

    public func valuesWithGradient<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>)
        -> (values: [T], gradient: AudioBatch<T>) {
        evaluate(prediction, target, wantGradient: true)
    }

    /// Values, and the gradient only when wanted (`values` is what finite differences and
    /// SPSA call on large batches: no gradient batch to allocate and fill there).
    func evaluate<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>, wantGradient: Bool)
        -> (values: [T], gradient: AudioBatch<T>) {
        precondition(prediction.batchSize == target.batchSize && prediction.sampleCount == target.sampleCount,
                     "waveform loss: prediction and target shapes differ")
        let n = prediction.sampleCount, scale = 1 / T(n)
        var values = [T](repeating: 0, count: prediction.batchSize)
        var gradient = AudioBatch<T>(zeros: wantGradient ? prediction.batchSize : 0, sampleCount: n)
        for b in 0..<prediction.batchSize {
            var sum: T = 0
            for i in (b * n)..<((b + 1) * n) {
                let e = prediction.samples[i] - target.samples[i]
                switch norm {
                case .l1:
                    sum += abs(e)
                    if wantGradient { gradient.samples[i] = e > 0 ? scale : (e < 0 ? -scale : 0) }
                case .l2:
                    sum += e * e
                    if wantGradient { gradient.samples[i] = 2 * e * scale }
                }
            }
            values[b] = sum * scale
        }
        return (values, gradient)
    }
}
