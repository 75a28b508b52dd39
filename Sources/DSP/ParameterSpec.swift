import RealModule

/// How a normalised value `u` in [0, 1] maps to a physical value `v` in [min, max].
public enum ParameterScale: Sendable, Hashable, Codable {
    /// `v = min + (max - min) * u`.
    case linear
    /// `v = min * (max / min)^u`: equal steps in `u` are equal ratios (pitch, cutoff, time).
    case logarithmic
    /// torchsynth's curve: `v = min + (max - min) * u^(1/curve)`. A curve below 1
    /// spends more of [0, 1] near `min`. DDSP's `exp_sigmoid` is this curve with
    /// `curve = 1/ln 10` applied to `u = sigmoid(logit)`.
    case curve(Double)
    /// torchsynth's symmetric curve around the range centre:
    /// `d = 2u - 1`, `v = min + (max - min)/2 * (sign(d) |d|^(1/curve) + 1)`.
    case symmetricCurve(Double)
    /// A choice among the integers `min...max` (a DX7 algorithm): [0, 1] is cut into equal
    /// bins, one per choice, so a uniform draw is a uniform choice, and a choice's normalised
    /// value is its bin's centre. A step function: its derivative is 0, so gradient methods
    /// never move it (each start keeps its own); the estimator classifies it instead.
    case categorical
}

/// Whether a parameter has one value per note or one per control frame.
public enum ParameterRate: String, Sendable, Hashable, Codable {
    case global
    case perFrame
}

/// One control of a module: its name, physical range, how the network's [0, 1] output maps
/// onto that range (torchsynth's `ModuleParameterRange`), its default and what it means.
/// `meaning` is documentation (`synthmatch synths --all` prints it): it takes no part in
/// equality, hashing or coding, so a reworded description never makes a file incompatible.
public struct ParameterSpec: Sendable, Hashable, Codable {
    public var name: String
    public var unit: String
    public var minimum: Double
    public var maximum: Double
    public var scale: ParameterScale
    public var rate: ParameterRate
    /// The normalised value a fresh preset starts from.
    public var defaultNormalised: Double
    /// One line a musician can read: what the control does, in the module's own terms.
    public var meaning: String = ""

    enum CodingKeys: String, CodingKey { case name, unit, minimum, maximum, scale, rate, defaultNormalised }

    public init(_ name: String, unit: String = "", range: ClosedRange<Double>,
                scale: ParameterScale = .linear, rate: ParameterRate = .global,
                defaultNormalised: Double = 0.5, meaning: String = "") {
        precondition(range.lowerBound < range.upperBound, "\(name): empty range")
        if case .categorical = scale { precondition(Self.isChoiceRange(range), "\(name): a categorical range runs between integers") }
        if case .logarithmic = scale { precondition(range.lowerBound > 0, "\(name): log scale needs a positive range") }
        self.name = name
        self.unit = unit
        self.minimum = range.lowerBound
        self.maximum = range.upperBound
        self.scale = scale
        self.rate = rate
        self.defaultNormalised = defaultNormalised
        self.meaning = meaning
    }

    /// A spec whose default is given as a physical value (what a module author knows).
    public init(_ name: String, unit: String = "", range: ClosedRange<Double>, scale: ParameterScale = .linear,
                rate: ParameterRate = .global, default value: Double, meaning: String) {
        self.init(name, unit: unit, range: range, scale: scale, rate: rate, meaning: meaning)
        defaultNormalised = normalised(value)
    }

    /// The physical value a fresh preset starts from.
    public var defaultValue: Double { physical(defaultNormalised) }

    /// Whether `range` can hold a categorical parameter: integer ends, fewer than 4097 choices.
    public static func isChoiceRange(_ range: ClosedRange<Double>) -> Bool {
        range.lowerBound.rounded() == range.lowerBound && range.upperBound.rounded() == range.upperBound
            && range.upperBound - range.lowerBound < 4096
    }

    /// How many choices a categorical parameter has (nil for a continuous one).
    public var choiceCount: Int? {
        if case .categorical = scale { return Int(maximum - minimum) + 1 }
        return nil
    }

    /// The 0-based choice of normalised `u` for a categorical parameter.
    @inlinable
    public func choice(_ u: Double) -> Int {
        let count = Int(maximum - minimum) + 1
        guard u.isFinite else { return 0 }
        return Swift.min(Swift.max(Int((u * Double(count)).rounded(.down)), 0), count - 1)
    }

    /// The normalised value of 0-based choice `k` of a categorical parameter: its bin's centre.
    public func normalised(choice k: Int) -> Double { (Double(k) + 0.5) / (maximum - minimum + 1) }

    public static func == (a: ParameterSpec, b: ParameterSpec) -> Bool {
        a.name == b.name && a.unit == b.unit && a.minimum == b.minimum && a.maximum == b.maximum
            && a.scale == b.scale && a.rate == b.rate && a.defaultNormalised == b.defaultNormalised
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name); hasher.combine(unit); hasher.combine(minimum); hasher.combine(maximum)
        hasher.combine(scale); hasher.combine(rate); hasher.combine(defaultNormalised)
    }

    /// The physical value of normalised `u` (clamped to [0, 1]) and `dv/du`.
    ///
    /// The derivative is taken of the unclamped map, so an optimiser sitting on a
    /// bound still sees which way is inside. Where a curve's derivative is infinite
    /// (`u = 0` for `curve > 1`) it is evaluated at 1e-12 instead.
    @inlinable
    public func physicalWithDerivative<T: SynthScalar>(_ u: T) -> (value: T, derivative: T) {
        mapping.physicalWithDerivative(u)
    }

    /// The numbers the normalised-to-physical map needs, without the names: per-frame loops
    /// take these once per item, since copying a whole spec (three strings) per frame and
    /// parameter cost the harmonic bank 15% of its time in reference counting, contended
    /// between threads (`bench peers --workloads harmonic`).
    @inlinable
    public var mapping: Mapping { Mapping(minimum: minimum, maximum: maximum, scale: scale) }

    public struct Mapping: Sendable {
        public let minimum: Double, maximum: Double, scale: ParameterScale
        @inlinable
        public init(minimum: Double, maximum: Double, scale: ParameterScale) {
            self.minimum = minimum; self.maximum = maximum; self.scale = scale
        }

        /// See `ParameterSpec.physicalWithDerivative`.
        @inlinable
        public func physicalWithDerivative<T: SynthScalar>(_ u: T) -> (value: T, derivative: T) {
            let u = Swift.min(Swift.max(u, 0), 1)
            let lo = T(minimum), hi = T(maximum)
            switch scale {
            case .linear:
                return (lo + (hi - lo) * u, hi - lo)
            case .logarithmic:
                let logRatio = T.log(hi / lo)
                let v = lo * T.exp(logRatio * u)
                return (v, v * logRatio)
            case .curve(let c):
                let e = T(1 / c)
                let slope = (hi - lo) * e * T.pow(Swift.max(u, T(1e-12)), e - 1)
                return (lo + (hi - lo) * T.pow(u, e), slope)
            case .symmetricCurve(let c):
                let e = T(1 / c)
                let d = 2 * u - 1
                let s: T = d < 0 ? -1 : 1
                let slope = (hi - lo) * e * T.pow(Swift.max(abs(d), T(1e-12)), e - 1)
                return (lo + (hi - lo) / 2 * (s * T.pow(abs(d), e) + 1), slope)
            case .categorical:
                let count = maximum - minimum + 1
                let k = Swift.min((u * T(count)).rounded(.down), T(count - 1))
                return (lo + k, 0)
            }
        }
    }

    @inlinable
    public func physical<T: SynthScalar>(_ u: T) -> T { physicalWithDerivative(u).value }

    /// The normalised value of physical `v`; values outside the range are clamped.
    public func normalised(_ v: Double) -> Double {
        let v = Swift.min(Swift.max(v, minimum), maximum)
        switch scale {
        case .linear:
            return (v - minimum) / (maximum - minimum)
        case .logarithmic:
            return Double.log(v / minimum) / Double.log(maximum / minimum)
        case .curve(let c):
            return Double.pow((v - minimum) / (maximum - minimum), c)
        case .symmetricCurve(let c):
            let x = 2 * (v - minimum) / (maximum - minimum) - 1
            let d = (x < 0 ? -1.0 : 1.0) * Double.pow(abs(x), c)
            return (d + 1) / 2
        case .categorical:
            return normalised(choice: Int((v - minimum).rounded()))
        }
    }

    /// Whether physical value `v` lies in the declared range (user input is checked with this).
    public func contains(_ v: Double) -> Bool { v.isFinite && v >= minimum && v <= maximum }
}

/// The one file schema of a parameter, shared by datasets (`parameters` attribute), model
/// checkpoints and preset files: `{"name", "unit", "min", "max", "scale", "rate"}` with scale
/// `linear`, `log`, `curve:C`, `symmetric-curve:C` or `categorical`, plus `"value"` (the physical value) in a
/// preset. h5py and json readers see plain strings and numbers; `spec` turns it back into a
/// `ParameterSpec`.
public struct ParameterDescription: Sendable, Hashable, Codable {
    public var name: String
    public var unit: String
    public var min: Double
    public var max: Double
    public var scale: String
    public var rate: String
    /// A preset's physical value (absent in datasets and checkpoints).
    public var value: Double?

    /// The description alone, without a value.
    public var range: ParameterDescription { var d = self; d.value = nil; return d }

    public init(_ s: ParameterSpec, value: Double? = nil) {
        self.value = value
        name = s.name
        unit = s.unit
        min = s.minimum
        max = s.maximum
        switch s.scale {
        case .linear: scale = "linear"
        case .logarithmic: scale = "log"
        case .curve(let c): scale = "curve:\(c)"
        case .symmetricCurve(let c): scale = "symmetric-curve:\(c)"
        case .categorical: scale = "categorical"
        }
        rate = s.rate.rawValue
    }

    /// The spec described, or nil when a field is not one SynthMatch writes (a file from
    /// elsewhere, or damaged): the range must be finite and ordered, log ranges positive.
    public var spec: ParameterSpec? {
        guard min.isFinite, max.isFinite, min < max, let rate = ParameterRate(rawValue: rate) else { return nil }
        let parsed: ParameterScale
        if scale == "linear" { parsed = .linear }
        else if scale == "log" { guard min > 0 else { return nil }; parsed = .logarithmic }
        else if scale == "categorical" { guard ParameterSpec.isChoiceRange(min...max) else { return nil }; parsed = .categorical }
        else if scale.hasPrefix("curve:"), let c = Double(scale.dropFirst(6)), c.isFinite, c > 0 { parsed = .curve(c) }
        else if scale.hasPrefix("symmetric-curve:"), let c = Double(scale.dropFirst(16)), c.isFinite, c > 0 { parsed = .symmetricCurve(c) }
        else { return nil }
        return ParameterSpec(name, unit: unit, range: min...max, scale: parsed, rate: rate)
    }
}
