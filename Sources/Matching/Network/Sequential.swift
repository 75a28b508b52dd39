import DSP

/// A layer's description: what a checkpoint stores to rebuild the network.
public enum LayerSpec: Sendable, Hashable, Codable {
    case conv2d(channels: Int, kernel: Int, stride: Int, padding: Int)
    case dense(outputs: Int)
    case leakyReLU(slope: Double)
    case sigmoid
    case flatten
}

public enum NetworkError: Error, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self { case .invalid(let m): return m }
    }
}

/// A feed-forward stack of layers whose weights live in one flat array (so one Adam state,
/// one gradient vector and one checkpoint dataset cover the whole network).
///
/// `valueWithPullback` is the synths' protocol shape: the pullback maps dL/d(output) to
/// dL/d(input) and the weights' gradient, so `network -> synth -> loss` chains pullbacks. The
/// weights' gradient is float64 for either scalar (summed in float64: see `Layer`).
///
/// Batch invariance (issue 18): an item's output and its input gradient are the same bits
/// whatever batch it is in and however many threads run, because every product that yields
/// them is one item's (OpenBLAS's kernels for a 7-row and a 3-row product round an item's row
/// differently), and the weights' gradient, which sums over items, is summed in float64. So a
/// global batch split across data-parallel processes gives one process's gradient to float64
/// rounding, and stage 2's training (whose gradient moves by ~0.5% when the weights move by
/// 1e-7) one process's weights.
public struct Sequential: Sendable {
    /// Per-item input shape (batch excluded): `[C, H, W]` for images, `[n]` for vectors.
    public let inputShape: [Int]
    public let specs: [LayerSpec]
    public let layers: [any Layer]
    /// Offset of each layer's weights in the flat array.
    public let offsets: [Int]
    public let weightCount: Int

    public var outputShape: [Int] { layers.last?.outputShape ?? inputShape }

    /// Most weights a network may have (400 MB as float32): a stored architecture asking for
    /// more is refused before anything is allocated.
    public static let maximumWeights = 100_000_000

    public init(input: [Int], _ specs: [LayerSpec]) throws {
        guard !input.isEmpty, input.allSatisfy({ (1...1_000_000).contains($0) }) else { throw NetworkError.invalid("network input shape \(input) is not positive") }
        inputShape = input
        self.specs = specs
        var shape = input, layers: [any Layer] = [], offsets: [Int] = [], offset = 0
        for (i, spec) in specs.enumerated() {
            // Sizes are checked here, where a stored model's architecture first meets the code,
            // so a crafted or damaged file is an error rather than a trap in a layer.
            switch spec {
            case let .conv2d(channels, kernel, stride, padding):
                guard (1...4096).contains(channels), (1...31).contains(kernel), (1...16).contains(stride), (0..<kernel).contains(padding) else {
                    throw NetworkError.invalid("layer \(i): conv2d with \(channels) channels, kernel \(kernel), stride \(stride), padding \(padding) is out of range")
                }
            case let .dense(outputs):
                guard (1...1_000_000).contains(outputs) else { throw NetworkError.invalid("layer \(i): dense with \(outputs) outputs is out of range") }
            case let .leakyReLU(slope):
                guard slope.isFinite, (0...1).contains(slope) else { throw NetworkError.invalid("layer \(i): leaky ReLU slope \(slope) is not in 0...1") }
            case .sigmoid, .flatten: break
            }
            let layer: any Layer
            switch spec {
            case let .conv2d(channels, kernel, stride, padding):
                guard shape.count == 3 else { throw NetworkError.invalid("layer \(i): conv2d needs a [channels, height, width] input, got \(shape)") }
                guard shape[1] + 2 * padding >= kernel, shape[2] + 2 * padding >= kernel else {
                    throw NetworkError.invalid("layer \(i): input \(shape) is smaller than the \(kernel)x\(kernel) kernel")
                }
                layer = Conv2D(input: shape, outChannels: channels, kernel: kernel, stride: stride, padding: padding)
            case let .dense(outputs):
                guard shape.count == 1 else { throw NetworkError.invalid("layer \(i): dense needs a flat input (add flatten), got \(shape)") }
                // Initialisation gain from the activation that follows (none before a sigmoid).
                var slope = 1.0
                if i + 1 < specs.count, case let .leakyReLU(s) = specs[i + 1] { slope = s }
                layer = Dense(inputs: shape[0], outputs: outputs, followingSlope: slope)
            case let .leakyReLU(slope):
                layer = LeakyReLU(shape: shape, slope: slope)
            case .sigmoid:
                layer = Sigmoid(shape: shape)
            case .flatten:
                guard shape.count == 3 else { throw NetworkError.invalid("layer \(i): flatten expects a [channels, height, width] input, got \(shape)") }
                layer = Flatten(input: shape)
            }
            layers.append(layer)
            offsets.append(offset)
            offset += layer.weightCount
            guard offset <= Self.maximumWeights, layer.outputShape.reduce(1, *) <= 50_000_000 else {
                throw NetworkError.invalid("layer \(i): the network would need more than \(Self.maximumWeights) weights or an output of \(layer.outputShape)")
            }
            shape = layer.outputShape
        }
        self.layers = layers
        self.offsets = offsets
        weightCount = offset
    }

    /// Freshly initialised weights; a pure function of `seed`.
    public func initialWeights(seed: UInt64) -> [Double] {
        var all: [Double] = []
        all.reserveCapacity(weightCount)
        for (i, layer) in layers.enumerated() {
            var random = CounterRandom(seed: seed, index: UInt64(i), stream: 7)
            all += layer.initialWeights(&random)
        }
        return all
    }

    /// The batch tensor's shape for `batch` items: convolution layout `[C, B, H, W]` for
    /// images, `[B, n]` for vectors.
    public func batchShape(_ shape: [Int], batch: Int) -> [Int] {
        shape.count == 3 ? [shape[0], batch, shape[1], shape[2]] : [batch] + shape
    }

    public func callAsFunction<T: BLASScalar>(_ x: Tensor<T>, weights: [T]) -> Tensor<T> {
        valueWithPullback(x, weights: weights).value
    }

    /// Forward pass over a batch, and the pullback to (dL/d input, dL/d weights).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valueWithPullback<T: BLASScalar>(_ x: Tensor<T>, weights: [T])
        -> (value: Tensor<T>, pullback: (Tensor<T>) -> (input: Tensor<T>, weights: [Double])) {
        precondition(weights.count == weightCount, "network: \(weights.count) weights, expected \(weightCount)")
        BLAS.singleThreaded
        let (layers, offsets) = (self.layers, self.offsets)
        var value = x
        var pullbacks: [(Tensor<T>, UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<Double>) -> Tensor<T>] = []
        weights.withUnsafeBufferPointer { w in
            for (layer, offset) in zip(layers, offsets) {
                let slice = UnsafeBufferPointer(rebasing: w[offset..<(offset + layer.weightCount)])
                let (y, pullback) = layer.valueWithPullback(value, weights: slice)
                pullbacks.append(pullback)
                value = y
            }
        }
        return (value, { dy in
            var gradient = [Double](repeating: 0, count: weights.count)
            var d = dy
            weights.withUnsafeBufferPointer { w in
                gradient.withUnsafeMutableBufferPointer { g in
                    for i in stride(from: layers.count - 1, through: 0, by: -1) {
                        let range = offsets[i]..<(offsets[i] + layers[i].weightCount)
                        d = pullbacks[i](d, UnsafeBufferPointer(rebasing: w[range]), UnsafeMutableBufferPointer(rebasing: g[range]))
                    }
                }
            }
            return (d, gradient)
        })
    }
}
