import RealModule

/// The learning rate as a function of the step, multiplying an optimiser's base rate.
public enum LearningRateSchedule: Sendable, Hashable, Codable {
    case constant
    /// `rate(t) = base * finalFraction^(t / steps)`: DDSP's exponential decay, expressed by
    /// where it ends after `steps` (it keeps decaying past them).
    case exponential(finalFraction: Double, steps: Int)
    /// Linear warm-up over `warmup` steps, then cosine decay to `finalFraction` at `steps`.
    case warmupCosine(warmup: Int, steps: Int, finalFraction: Double)

    public func multiplier(step t: Int) -> Double {
        switch self {
        case .constant:
            return 1
        case let .exponential(finalFraction, steps):
            return Double.pow(finalFraction, Double(t) / Double(max(steps, 1)))
        case let .warmupCosine(warmup, steps, finalFraction):
            if t < warmup { return Double(t + 1) / Double(warmup) }
            let progress = min(1, Double(t - warmup) / Double(max(steps - warmup, 1)))
            return finalFraction + (1 - finalFraction) * 0.5 * (1 + Double.cos(Double.pi * progress))
        }
    }
}
