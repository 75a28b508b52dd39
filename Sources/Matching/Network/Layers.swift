import DSP
import RealModule

/// A dense tensor: a shape and its row-major values in one array.
///
/// Convolution activations are laid out channel-major across the batch, `[C, B, H, W]`, so
/// that a convolution over the whole batch is a single matrix product (`W [Cout, Cin k k]`
/// times the im2col matrix `[Cin k k, B Ho Wo]`); `flatten` turns them into the usual
/// `[B, features]` rows for the dense layers. A batch of single-channel images `[B, H, W]`
/// already is `[1, B, H, W]`.
public struct Tensor<T: SynthScalar>: Sendable, Equatable {
    public var shape: [Int]
    public var values: [T]

    public init(shape: [Int], values: [T]) {
        precondition(values.count == shape.reduce(1, *), "tensor: \(values.count) values for shape \(shape)")
        self.shape = shape
        self.values = values
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, values: [T](repeating: 0, count: shape.reduce(1, *)))
    }
}

/// One layer of a `Sequential` network, on the same pullback shape as the synths: the
/// forward pass returns its value and a pullback that maps dL/d(output) to dL/d(input),
/// adding dL/d(weights) into the layer's slice of the network's gradient. That gradient is
/// float64 whatever `T` is (see `gemmAccumulatingInDouble`: data-parallel training needs sums
/// that do not depend on how the batch is split).
///
/// Shapes are fixed when the network is built (per item, batch excluded); weights live in
/// one flat array owned by the network, `weightCount` of them from the layer's offset.
public protocol Layer: Sendable {
    var inputShape: [Int] { get }
    var outputShape: [Int] { get }
    var weightCount: Int { get }
    /// Initial weights (float64, from a seeded generator).
    func initialWeights(_ random: inout CounterRandom) -> [Double]
    func valueWithPullback<T: BLASScalar>(_ x: Tensor<T>, weights: UnsafeBufferPointer<T>)
        -> (value: Tensor<T>, pullback: (_ dy: Tensor<T>, _ weights: UnsafeBufferPointer<T>, _ dWeights: UnsafeMutableBufferPointer<Double>) -> Tensor<T>)
}

extension Layer {
    public var weightCount: Int { 0 }
    public func initialWeights(_ random: inout CounterRandom) -> [Double] { [] }
}

/// He (Kaiming) uniform initialisation for a layer followed by a leaky ReLU: weights
/// U(-b, b) with b = sqrt(6 / ((1 + slope^2) fanIn)); biases zero.
func heUniform(count: Int, fanIn: Int, slope: Double, _ random: inout CounterRandom) -> [Double] {
    let bound = (6 / ((1 + slope * slope) * Double(fanIn))).squareRoot()
    return (0..<count).map { _ in (2 * random.unit() - 1) * bound }
}

/// 2-D convolution over `[Cin, B, H, W]` with square kernels, stride and zero padding,
/// as im2col + one GEMM for the whole batch. Weights: `[Cout, Cin, k, k]` then `Cout` biases.
public struct Conv2D: Layer {
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    var inHeight: Int { inputShape[1] }
    var inWidth: Int { inputShape[2] }
    var outHeight: Int { outputShape[1] }
    var outWidth: Int { outputShape[2] }
    var patch: Int { inChannels * kernel * kernel }
    public var weightCount: Int { outChannels * patch + outChannels }

    /// `input`: `[Cin, H, W]` per item.
    public init(input: [Int], outChannels: Int, kernel: Int, stride: Int, padding: Int) {
        precondition(input.count == 3, "conv2d: input shape must be [channels, height, width]")
        precondition(kernel >= 1 && stride >= 1 && padding >= 0 && outChannels >= 1, "conv2d: bad configuration")
        inputShape = input
        (inChannels, self.outChannels, self.kernel, self.stride, self.padding) = (input[0], outChannels, kernel, stride, padding)
        let h = (input[1] + 2 * padding - kernel) / stride + 1, w = (input[2] + 2 * padding - kernel) / stride + 1
        precondition(h >= 1 && w >= 1, "conv2d: input \(input) is smaller than the kernel")
        outputShape = [outChannels, h, w]
    }

    public func initialWeights(_ random: inout CounterRandom) -> [Double] {
        heUniform(count: outChannels * patch, fanIn: patch, slope: LeakyReLU.defaultSlope, &random)
            + [Double](repeating: 0, count: outChannels)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valueWithPullback<T: BLASScalar>(_ x: Tensor<T>, weights w: UnsafeBufferPointer<T>)
        -> (value: Tensor<T>, pullback: (Tensor<T>, UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<Double>) -> Tensor<T>) {
        let batch = x.shape[1]
        precondition(x.shape == [inChannels, batch, inHeight, inWidth], "conv2d: input \(x.shape), expected [\(inChannels), B, \(inHeight), \(inWidth)]")
        let columns = batch * outHeight * outWidth, itemColumns = outHeight * outWidth
        let col = im2col(x.values, batch: batch)
        var y = [T](repeating: 0, count: outChannels * columns)
        col.withUnsafeBufferPointer { c in
            y.withUnsafeMutableBufferPointer { out in
                // One product per item (its block of columns): see `gemmPerItem`.
                T.gemmPerItem(batch, transposeA: false, transposeB: false, m: outChannels, n: itemColumns, k: patch,
                              w.baseAddress!, lda: patch, aStep: 0, c.baseAddress!, ldb: columns, bStep: itemColumns,
                              beta: 0, out.baseAddress!, ldc: columns, cStep: itemColumns)
                let bias = w.baseAddress! + outChannels * patch
                for o in 0..<outChannels {
                    let row = out.baseAddress! + o * columns, b = bias[o]
                    for i in 0..<columns { row[i] += b }
                }
            }
        }
        return (Tensor(shape: [outChannels, batch, outHeight, outWidth], values: y), { dy, weights, dW in
            precondition(dy.shape == [outChannels, batch, outHeight, outWidth], "conv2d pullback: cotangent shape \(dy.shape)")
            var dCol = [T](repeating: 0, count: patch * columns)
            dy.values.withUnsafeBufferPointer { g in
                col.withUnsafeBufferPointer { c in
                    // dW += dy col^T, one item's product at a time (as in the forward pass), the
                    // items' products summed in float64;  d(col) = W^T dy;  d(bias) = row sums of dy.
                    let (gs, cs) = (SendablePointer(UnsafeMutablePointer(mutating: g.baseAddress!)), SendablePointer(UnsafeMutablePointer(mutating: c.baseAddress!)))
                    let size = outChannels * patch, workers = Swift.max(1, Swift.min(Parallelism.threadCount, batch))
                    let sums = WorkerSlots<[Double]>(count: workers)
                    Parallelism.forEach(workers) { worker in
                        var sum = [Double](repeating: 0, count: size), product = [T](repeating: 0, count: size)
                        for b in Swift.stride(from: worker, to: batch, by: workers) {
                            product.withUnsafeMutableBufferPointer { p in
                                T.gemm(transposeA: false, transposeB: true, m: outChannels, n: patch, k: itemColumns, alpha: 1,
                                       gs.pointer + b * itemColumns, lda: columns, cs.pointer + b * itemColumns, ldb: columns,
                                       beta: 0, p.baseAddress!, ldc: patch)
                            }
                            for i in 0..<size { sum[i] += Double(product[i]) }
                        }
                        sums.items[worker] = sum
                    }
                    for worker in 0..<workers { for (i, v) in sums.items[worker]!.enumerated() { dW[i] += v } }
                }
                dCol.withUnsafeMutableBufferPointer { dc in
                    T.gemmPerItem(batch, transposeA: true, transposeB: false, m: patch, n: itemColumns, k: outChannels,
                                  weights.baseAddress!, lda: patch, aStep: 0, g.baseAddress!, ldb: columns, bStep: itemColumns,
                                  beta: 0, dc.baseAddress!, ldc: columns, cStep: itemColumns)
                }
                for o in 0..<outChannels {
                    var s = 0.0
                    let row = g.baseAddress! + o * columns
                    for i in 0..<columns { s += Double(row[i]) }
                    dW[outChannels * patch + o] += s
                }
            }
            return Tensor(shape: x.shape, values: col2im(dCol, batch: batch))
        })
    }

    /// Row `(c, i, j)`, column `(b, oh, ow)` holds `x[c, b, oh s - p + i, ow s - p + j]` (0 outside).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func im2col<T: SynthScalar>(_ x: [T], batch: Int) -> [T] {
        let columns = batch * outHeight * outWidth, (h, w, k, s, p) = (inHeight, inWidth, kernel, stride, padding)
        let (oh, ow) = (outHeight, outWidth)
        var col = [T](repeating: 0, count: patch * columns)
        x.withUnsafeBufferPointer { xp in
            col.withUnsafeMutableBufferPointer { cp in
                let xs = SendablePointer(UnsafeMutablePointer(mutating: xp.baseAddress!)), cs = SendablePointer(cp.baseAddress!)
                Parallelism.forEach(inChannels) { c in
                    for i in 0..<k {
                        for j in 0..<k {
                            let row = cs.pointer + ((c * k + i) * k + j) * columns
                            for b in 0..<batch {
                                let plane = xs.pointer + (c * batch + b) * h * w
                                for y in 0..<oh {
                                    let iy = y * s - p + i
                                    let out = row + (b * oh + y) * ow
                                    guard iy >= 0 && iy < h else { continue }
                                    let line = plane + iy * w
                                    for xo in 0..<ow {
                                        let ix = xo * s - p + j
                                        if ix >= 0 && ix < w { out[xo] = line[ix] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return col
    }

    /// The adjoint of `im2col`: scatter-adds each column entry back to its input position.
    /// Rows of one input channel only touch that channel, so channels run in parallel.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func col2im<T: SynthScalar>(_ col: [T], batch: Int) -> [T] {
        let columns = batch * outHeight * outWidth, (h, w, k, s, p) = (inHeight, inWidth, kernel, stride, padding)
        let (oh, ow) = (outHeight, outWidth)
        var dx = [T](repeating: 0, count: inChannels * batch * h * w)
        col.withUnsafeBufferPointer { cp in
            dx.withUnsafeMutableBufferPointer { xp in
                let xs = SendablePointer(xp.baseAddress!), cs = SendablePointer(UnsafeMutablePointer(mutating: cp.baseAddress!))
                Parallelism.forEach(inChannels) { c in
                    for i in 0..<k {
                        for j in 0..<k {
                            let row = cs.pointer + ((c * k + i) * k + j) * columns
                            for b in 0..<batch {
                                let plane = xs.pointer + (c * batch + b) * h * w
                                for y in 0..<oh {
                                    let iy = y * s - p + i
                                    guard iy >= 0 && iy < h else { continue }
                                    let line = plane + iy * w, g = row + (b * oh + y) * ow
                                    for xo in 0..<ow {
                                        let ix = xo * s - p + j
                                        if ix >= 0 && ix < w { line[ix] += g[xo] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}

/// Fully connected layer on `[B, inputs]`: `y = x W^T + b`. Weights `[outputs, inputs]` then biases.
public struct Dense: Layer {
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let inputs: Int, outputs: Int
    public var weightCount: Int { outputs * inputs + outputs }
    /// Slope of the activation that follows (for the initialisation's gain): 1 for none.
    let followingSlope: Double

    public init(inputs: Int, outputs: Int, followingSlope: Double = LeakyReLU.defaultSlope) {
        precondition(inputs >= 1 && outputs >= 1, "dense: sizes must be positive")
        (self.inputs, self.outputs, self.followingSlope) = (inputs, outputs, followingSlope)
        inputShape = [inputs]
        outputShape = [outputs]
    }

    public func initialWeights(_ random: inout CounterRandom) -> [Double] {
        heUniform(count: outputs * inputs, fanIn: inputs, slope: followingSlope, &random) + [Double](repeating: 0, count: outputs)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valueWithPullback<T: BLASScalar>(_ x: Tensor<T>, weights w: UnsafeBufferPointer<T>)
        -> (value: Tensor<T>, pullback: (Tensor<T>, UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<Double>) -> Tensor<T>) {
        let batch = x.shape[0]
        precondition(x.shape == [batch, inputs], "dense: input \(x.shape), expected [B, \(inputs)]")
        var y = [T](repeating: 0, count: batch * outputs)
        x.values.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                let bias = w.baseAddress! + outputs * inputs
                for b in 0..<batch { for o in 0..<outputs { yp[b * outputs + o] = bias[o] } }
                // One product per item (one row): see `gemmPerItem`.
                T.gemmPerItem(batch, transposeA: false, transposeB: true, m: 1, n: outputs, k: inputs,
                              xp.baseAddress!, lda: inputs, aStep: inputs, w.baseAddress!, ldb: inputs, bStep: 0,
                              beta: 1, yp.baseAddress!, ldc: outputs, cStep: outputs)
            }
        }
        return (Tensor(shape: [batch, outputs], values: y), { dy, weights, dW in
            precondition(dy.shape == [batch, outputs], "dense pullback: cotangent shape \(dy.shape)")
            var dx = [T](repeating: 0, count: batch * inputs)
            dy.values.withUnsafeBufferPointer { g in
                x.values.withUnsafeBufferPointer { xp in
                    T.gemmAccumulatingInDouble(transposeA: true, transposeB: false, m: outputs, n: inputs, k: batch,
                                               g, lda: outputs, xp, ldb: inputs, into: dW.baseAddress!, ldc: inputs)
                }
                dx.withUnsafeMutableBufferPointer { dxp in
                    T.gemmPerItem(batch, transposeA: false, transposeB: false, m: 1, n: inputs, k: outputs,
                                  g.baseAddress!, lda: outputs, aStep: outputs, weights.baseAddress!, ldb: inputs, bStep: 0,
                                  beta: 0, dxp.baseAddress!, ldc: inputs, cStep: inputs)
                }
                for b in 0..<batch { for o in 0..<outputs { dW[outputs * inputs + o] += Double(g[b * outputs + o]) } }
            }
            return Tensor(shape: x.shape, values: dx)
        })
    }
}

/// `max(x, slope x)`, element-wise, any shape.
public struct LeakyReLU: Layer {
    public static let defaultSlope = 0.1
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    public let slope: Double

    public init(shape: [Int], slope: Double = LeakyReLU.defaultSlope) {
        inputShape = shape
        self.slope = slope
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valueWithPullback<T: BLASScalar>(_ x: Tensor<T>, weights _: UnsafeBufferPointer<T>)
        -> (value: Tensor<T>, pullback: (Tensor<T>, UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<Double>) -> Tensor<T>) {
        let a = T(slope)
        let y = Tensor(shape: x.shape, values: x.values.map { $0 > 0 ? $0 : a * $0 })
        return (y, { dy, _, _ in
            var dx = dy
            for i in dx.values.indices where x.values[i] <= 0 { dx.values[i] *= a }
            return dx
        })
    }
}

/// `1 / (1 + e^-x)`: the estimator's last layer, mapping to normalised parameters in (0, 1).
public struct Sigmoid: Layer {
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }

    public init(shape: [Int]) { inputShape = shape }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valueWithPullback<T: BLASScalar>(_ x: Tensor<T>, weights _: UnsafeBufferPointer<T>)
        -> (value: Tensor<T>, pullback: (Tensor<T>, UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<Double>) -> Tensor<T>) {
        let y = Tensor(shape: x.shape, values: x.values.map { 1 / (1 + T.exp(-$0)) })
        return (y, { dy, _, _ in
            Tensor(shape: dy.shape, values: zip(dy.values, y.values).map { g, s in g * s * (1 - s) })
        })
    }
}

/// `[C, B, H, W]` (convolution layout) to `[B, C H W]` rows, and back in the pullback.
public struct Flatten: Layer {
    public let inputShape: [Int]
    public var outputShape: [Int] { [inputShape.reduce(1, *)] }

    public init(input: [Int]) { inputShape = input }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valueWithPullback<T: BLASScalar>(_ x: Tensor<T>, weights _: UnsafeBufferPointer<T>)
        -> (value: Tensor<T>, pullback: (Tensor<T>, UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<Double>) -> Tensor<T>) {
        let c = x.shape[0], batch = x.shape[1], plane = x.values.count / max(c * batch, 1)
        var y = [T](repeating: 0, count: x.values.count)
        for ch in 0..<c { for b in 0..<batch { for i in 0..<plane { y[(b * c + ch) * plane + i] = x.values[(ch * batch + b) * plane + i] } } }
        return (Tensor(shape: [batch, c * plane], values: y), { dy, _, _ in
            var dx = [T](repeating: 0, count: dy.values.count)
            for ch in 0..<c { for b in 0..<batch { for i in 0..<plane { dx[(ch * batch + b) * plane + i] = dy.values[(b * c + ch) * plane + i] } } }
            return Tensor(shape: x.shape, values: dx)
        })
    }
}
