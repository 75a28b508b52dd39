/// A batch of mono audio: `batchSize` rows of `sampleCount` samples in one
/// contiguous row-major array, so a whole batch moves with one allocation.
public struct AudioBatch<T: SynthScalar>: Sendable, Equatable {
    public var batchSize: Int
    public var sampleCount: Int
    public var samples: [T]

    public init(batchSize: Int, sampleCount: Int, samples: [T]) {
        precondition(samples.count == batchSize * sampleCount, "audio batch: \(samples.count) samples for \(batchSize) x \(sampleCount)")
        self.batchSize = batchSize
        self.sampleCount = sampleCount
        self.samples = samples
    }

    /// (Specialised: an unspecialised `[T](repeating:count:)` copies element by element
    /// through value witnesses, which showed up as 4% of dataset generation.)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public init(zeros batchSize: Int, sampleCount: Int) {
        self.init(batchSize: batchSize, sampleCount: sampleCount,
                  samples: [T](repeating: 0, count: batchSize * sampleCount))
    }

    /// One row as a new array (for tests and I/O, not hot paths).
    public func item(_ b: Int) -> [T] { Array(samples[(b * sampleCount)..<((b + 1) * sampleCount)]) }

    /// Stacks equally long rows into a batch.
    public init(rows: [[T]]) {
        let n = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == n }, "audio batch: rows differ in length")
        self.init(batchSize: rows.count, sampleCount: n, samples: rows.flatMap { $0 })
    }

    public func converted<U: SynthScalar>(to: U.Type = U.self) -> AudioBatch<U> {
        AudioBatch<U>(batchSize: batchSize, sampleCount: sampleCount, samples: samples.map { U($0) })
    }
}

/// Where each parameter's values sit inside one batch item's control vector.
///
/// Parameters are stored one after another (parameter-major); a global parameter
/// takes one slot, a per-frame parameter `frameCount` consecutive slots. The
/// estimator network's output for one item is exactly this vector.
public struct ControlLayout: Sendable, Equatable {
    public let parameters: [ParameterSpec]
    public let frameCount: Int
    /// Offset of parameter `p`'s first value inside an item.
    public let offsets: [Int]
    /// Number of values per batch item.
    public let stride: Int

    public init(parameters: [ParameterSpec], frameCount: Int) {
        precondition(frameCount >= 1, "control layout: frameCount must be >= 1")
        self.parameters = parameters
        self.frameCount = frameCount
        var offsets: [Int] = []
        var o = 0
        for p in parameters {
            offsets.append(o)
            o += p.rate == .global ? 1 : frameCount
        }
        self.offsets = offsets
        self.stride = o
    }

    /// Number of values parameter `p` holds per item (1 or `frameCount`).
    @inlinable public func count(_ p: Int) -> Int { parameters[p].rate == .global ? 1 : frameCount }

    /// Index of parameter named `name`, if present.
    public func index(of name: String) -> Int? { parameters.firstIndex { $0.name == name } }
}

/// Normalised controls for a batch: batch x (parameters x frames), values in [0, 1].
public struct Controls<T: SynthScalar>: Sendable, Equatable {
    public let layout: ControlLayout
    public let batchSize: Int
    public var values: [T]

    public init(layout: ControlLayout, batchSize: Int, values: [T]) {
        precondition(values.count == layout.stride * batchSize, "controls: \(values.count) values for \(batchSize) x \(layout.stride)")
        self.layout = layout
        self.batchSize = batchSize
        self.values = values
    }

    /// Every parameter at its declared default.
    public init(defaultsFor layout: ControlLayout, batchSize: Int) {
        var item = [T](repeating: 0, count: layout.stride)
        for (p, spec) in layout.parameters.enumerated() {
            for f in 0..<layout.count(p) { item[layout.offsets[p] + f] = T(spec.defaultNormalised) }
        }
        self.init(layout: layout, batchSize: batchSize, values: Array([[T]](repeating: item, count: batchSize).joined()))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public init(zerosFor layout: ControlLayout, batchSize: Int) {
        self.init(layout: layout, batchSize: batchSize, values: [T](repeating: 0, count: layout.stride * batchSize))
    }

    /// Index in `values` of parameter `p`, frame `f` (0 for global), batch item `b`.
    @inlinable public func index(item b: Int, parameter p: Int, frame f: Int = 0) -> Int {
        b * layout.stride + layout.offsets[p] + (layout.parameters[p].rate == .global ? 0 : f)
    }

    public subscript(item b: Int, parameter p: Int, frame f: Int) -> T {
        get { values[index(item: b, parameter: p, frame: f)] }
        set { values[index(item: b, parameter: p, frame: f)] = newValue }
    }

    /// Sets every frame of parameter `p` in item `b` to `u`.
    public mutating func set(item b: Int, parameter p: Int, to u: T) {
        for f in 0..<layout.count(p) { values[index(item: b, parameter: p, frame: f)] = u }
    }

    /// The controls of a single item, as a batch of one.
    public func item(_ b: Int) -> Controls<T> {
        Controls(layout: layout, batchSize: 1, values: Array(values[(b * layout.stride)..<((b + 1) * layout.stride)]))
    }

    public func converted<U: SynthScalar>(to: U.Type = U.self) -> Controls<U> {
        Controls<U>(layout: layout, batchSize: batchSize, values: values.map { U($0) })
    }
}

extension Controls {
    /// Cuts each item's control vector into consecutive pieces, one per parameter list (a
    /// composite module's parts, in order).
    public func split(_ parts: [[ParameterSpec]]) -> [Controls<T>] {
        var offset = 0
        return parts.map { specs in
            let sub = ControlLayout(parameters: specs, frameCount: layout.frameCount)
            var values = [T]()
            values.reserveCapacity(sub.stride * batchSize)
            for b in 0..<batchSize {
                let base = b * layout.stride + offset
                values.append(contentsOf: self.values[base..<(base + sub.stride)])
            }
            offset += sub.stride
            return Controls(layout: sub, batchSize: batchSize, values: values)
        }
    }

    /// The inverse of `split`: pieces laid side by side per item, under `layout`.
    public init(concatenating pieces: [Controls<T>], layout: ControlLayout) {
        let batch = pieces.first?.batchSize ?? 0
        var values = [T]()
        values.reserveCapacity(layout.stride * batch)
        for b in 0..<batch {
            for piece in pieces { values.append(contentsOf: piece.values[(b * piece.layout.stride)..<((b + 1) * piece.layout.stride)]) }
        }
        self.init(layout: layout, batchSize: batch, values: values)
    }
}
