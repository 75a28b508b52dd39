import DSP

/// A distance between predicted and target audio, with its exact gradient.
///
/// Batch items are scored independently: `values[b]` is item `b`'s loss and
/// `gradient` row `b` is d(values[b])/d(prediction row b), i.e. the gradient of the sum
/// of item losses (divide by the batch size for the gradient of their mean). This keeps
/// items independent, which per-target refinement with restarts relies on.
public protocol AudioLoss: Sendable {
    func values<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>) -> [T]
    func valuesWithGradient<T: SynthScalar>(_ prediction: AudioBatch<T>, _ target: AudioBatch<T>)
        -> (values: [T], gradient: AudioBatch<T>)
}

public enum LossError: Error, CustomStringConvertible {
    case shapeMismatch(prediction: (Int, Int), target: (Int, Int))
    case signalTooShort(samples: Int, resolution: STFTConfiguration)

    public var description: String {
        switch self {
        case let .shapeMismatch(p, t):
            return "prediction is \(p.0) x \(p.1) samples but target is \(t.0) x \(t.1)"
        case let .signalTooShort(n, r):
            return "\(n) samples are too few for an STFT of size \(r.fftSize) with \(r.padding.rawValue) padding"
        }
    }
}
