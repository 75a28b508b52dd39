import RealModule

/// Counter-based random numbers: every value is a pure function of (key, counter), so
/// example `i` of a dataset, or the noise of batch item `b`, is reproducible alone,
/// in any order and on any thread count. The mixer is SplitMix64's finaliser applied to
/// a Weyl sequence over the counter, keyed by a hashed seed.
public struct CounterRandom: Sendable, RandomNumberGenerator {
    public let key: UInt64
    public var counter: UInt64

    public init(key: UInt64, counter: UInt64 = 0) {
        self.key = CounterRandom.mix(key &+ 0x9E37_79B9_7F4A_7C15)
        self.counter = counter
    }

    /// A generator for a sub-stream, e.g. `(seed, exampleIndex, stream)`.
    public init(seed: UInt64, index: UInt64, stream: UInt64 = 0) {
        self.init(key: CounterRandom.mix(CounterRandom.mix(seed ^ 0xD1B5_4A32_D192_ED03) ^ index) ^ (stream &* 0xA24B_AED4_963E_E407))
    }

    @inlinable
    public static func mix(_ z0: UInt64) -> UInt64 {
        var z = z0
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The value at `counter`, without advancing.
    @inlinable
    public func value(at counter: UInt64) -> UInt64 {
        CounterRandom.mix(key ^ (counter &* 0x9E37_79B9_7F4A_7C15))
    }

    public mutating func next() -> UInt64 {
        defer { counter &+= 1 }
        return value(at: counter)
    }

    /// Uniform in [-1, 1) at `counter`, with 24 bits (exact in `Float`).
    @inlinable
    public func signedUniform<T: SynthScalar>(at counter: UInt64) -> T {
        T(Int32(truncatingIfNeeded: value(at: counter) >> 40) - (1 << 23)) / T(1 << 23)
    }

    /// The white noise every module draws for an item: sample n is `signedUniform(at: n)` of
    /// the item's key (so a module's noise, and a reference that re-draws it, agree exactly).
    @inlinable
    public static func whiteNoise<T: SynthScalar>(key: UInt64, count: Int) -> [T] {
        let rng = CounterRandom(key: key)
        return (0..<count).map { rng.signedUniform(at: UInt64($0)) }
    }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Standard normal (Box-Muller).
    public mutating func normal() -> Double {
        let u1 = max(unit(), 1e-300), u2 = unit()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }
}

@usableFromInline func _log(_ x: Double) -> Double { Double.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Double.cos(x) }
