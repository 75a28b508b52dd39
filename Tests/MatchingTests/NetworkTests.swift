import DSP
@testable import Matching
import XCTest

final class NetworkTests: XCTestCase {
    /// A small estimator-shaped stack: two strided convolutions (one padded), flatten, two dense.
    func makeNetwork() throws -> Sequential {
        try Sequential(input: [1, 7, 6], [
            .conv2d(channels: 3, kernel: 3, stride: 2, padding: 1), .leakyReLU(slope: 0.1),
            .conv2d(channels: 4, kernel: 2, stride: 1, padding: 0), .leakyReLU(slope: 0.1),
            .flatten, .dense(outputs: 5), .leakyReLU(slope: 0.1), .dense(outputs: 3), .sigmoid,
        ])
    }

    func randomInput(_ network: Sequential, batch: Int, seed: UInt64) -> Tensor<Double> {
        var random = CounterRandom(seed: seed, index: 0)
        let shape = network.batchShape(network.inputShape, batch: batch)
        return Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in random.normal() })
    }

    func testWeightAndInputGradientsMatchFiniteDifferences() throws {
        let network = try makeNetwork()
        XCTAssertEqual(network.outputShape, [3])
        XCTAssertEqual(network.layers[2].outputShape, [4, 3, 2])
        // Biases random too, so that no activation sits at a kink by construction.
        var random = CounterRandom(seed: 5, index: 1)
        let weights = network.initialWeights(seed: 3).map { $0 + 0.1 * random.normal() }
        let x = randomInput(network, batch: 3, seed: 9)
        let weightReport = GradientCheck.check(at: weights, function: { w in network(x, weights: w).values },
            vectorJacobianProduct: { w, g in
                let (y, pullback) = network.valueWithPullback(x, weights: w)
                return pullback(Tensor(shape: y.shape, values: g)).weights
            })
        XCTAssertLessThan(weightReport.relativeError, 1e-6, "\(weightReport)")
        let inputReport = GradientCheck.check(at: x.values, function: { v in network(Tensor(shape: x.shape, values: v), weights: weights).values },
            vectorJacobianProduct: { v, g in
                let (y, pullback) = network.valueWithPullback(Tensor(shape: x.shape, values: v), weights: weights)
                return pullback(Tensor(shape: y.shape, values: g)).input.values
            })
        XCTAssertLessThan(inputReport.relativeError, 1e-6, "\(inputReport)")
    }

    /// Convolution against a direct four-loop evaluation (im2col, GEMM layout and padding).
    func testConvolutionMatchesDirectEvaluation() throws {
        let conv = Conv2D(input: [2, 5, 4], outChannels: 3, kernel: 3, stride: 2, padding: 1)
        XCTAssertEqual(conv.outputShape, [3, 3, 2])
        var random = CounterRandom(seed: 2, index: 0)
        let w = (0..<conv.weightCount).map { _ in random.normal() }
        let batch = 2
        let x = (0..<(2 * batch * 5 * 4)).map { _ in random.normal() }
        let y = w.withUnsafeBufferPointer { conv.valueWithPullback(Tensor(shape: [2, batch, 5, 4], values: x), weights: $0).value }
        for o in 0..<3 {
            for b in 0..<batch {
                for i in 0..<3 {
                    for j in 0..<2 {
                        var s = w[3 * 18 + o]
                        for c in 0..<2 {
                            for ki in 0..<3 {
                                for kj in 0..<3 {
                                    let (iy, ix) = (i * 2 - 1 + ki, j * 2 - 1 + kj)
                                    guard iy >= 0, iy < 5, ix >= 0, ix < 4 else { continue }
                                    s += w[((o * 2 + c) * 3 + ki) * 3 + kj] * x[((c * batch + b) * 5 + iy) * 4 + ix]
                                }
                            }
                        }
                        XCTAssertEqual(y.values[((o * batch + b) * 3 + i) * 2 + j], s, accuracy: 1e-12)
                    }
                }
            }
        }
    }

    /// Items never mix, to the bit: in Float (sgemm), an item's output and input gradient are
    /// the same in a batch of 7 as in batches of 3 and 4, at 1 and 2 threads, and the weights'
    /// gradients add up to the batch of 7's to float64 rounding (issue 18: data-parallel
    /// training). Estimator-sized layers, so that OpenBLAS's blocked kernels and their edges
    /// are used (with one product per batch, outputs differed by an ulp).
    func testBatchItemsAreIndependentToTheBitInFloat() throws {
        let network = try Sequential(input: [1, 40, 32], [
            .conv2d(channels: 16, kernel: 3, stride: 2, padding: 1), .leakyReLU(slope: 0.1),
            .conv2d(channels: 24, kernel: 3, stride: 2, padding: 1), .leakyReLU(slope: 0.1),
            .flatten, .dense(outputs: 37), .leakyReLU(slope: 0.1), .dense(outputs: 11), .sigmoid,
        ])
        let weights = network.initialWeights(seed: 1).map { Float($0) }
        let plane = 40 * 32
        let x = randomInput(network, batch: 7, seed: 3).values.map { Float($0) }
        var random = CounterRandom(seed: 4, index: 0)
        let dy = (0..<(7 * 11)).map { _ in Float(random.normal()) }
        func run(_ items: Range<Int>) -> (y: [Float], dx: [Float], dw: [Double]) {
            let input = Tensor<Float>(shape: [1, items.count, 40, 32], values: Array(x[(items.lowerBound * plane)..<(items.upperBound * plane)]))
            let (y, pullback) = network.valueWithPullback(input, weights: weights)
            let back = pullback(Tensor(shape: y.shape, values: Array(dy[(items.lowerBound * 11)..<(items.upperBound * 11)])))
            return (y.values, back.input.values, back.weights)
        }
        let saved = Parallelism.threadCount
        defer { Parallelism.threadCount = saved }
        for threads in [1, 2] {
            Parallelism.threadCount = threads
            let whole = run(0..<7), first = run(0..<3), second = run(3..<7)
            XCTAssertEqual(whole.y.map(\.bitPattern), (first.y + second.y).map(\.bitPattern), "outputs, \(threads) threads")
            XCTAssertEqual(whole.dx.map(\.bitPattern), (first.dx + second.dx).map(\.bitPattern), "input gradients, \(threads) threads")
            var difference = 0.0, norm = 0.0
            for (w, (a, b)) in zip(whole.dw, zip(first.dw, second.dw)) { difference = max(difference, abs(w - (a + b))); norm = max(norm, abs(w)) }
            XCTAssertLessThan(difference, 1e-13 * norm, "weight gradients, \(threads) threads")
        }
        XCTAssertTrue(run(0..<7).y.allSatisfy { $0 > 0 && $0 < 1 })
    }

    func testInitialisationIsSeededAndScaled() throws {
        let network = try makeNetwork()
        XCTAssertEqual(network.initialWeights(seed: 4), network.initialWeights(seed: 4))
        XCTAssertNotEqual(network.initialWeights(seed: 4), network.initialWeights(seed: 5))
        // First conv: fan-in 9, bound sqrt(6 / (1.01 * 9)).
        let first = network.initialWeights(seed: 4)[0..<27]
        XCTAssertLessThanOrEqual(first.map(abs).max()!, (6 / (1.01 * 9)).squareRoot())
        XCTAssertEqual(network.weightCount, (27 + 3) + (4 * 12 + 4) + (24 * 5 + 5) + (5 * 3 + 3))
    }

    func testBadArchitecturesAreRejectedWithClearErrors() {
        XCTAssertThrowsError(try Sequential(input: [1, 4, 4], [.dense(outputs: 3)])) { error in
            XCTAssertTrue("\(error)".contains("flatten"), "\(error)")
        }
        XCTAssertThrowsError(try Sequential(input: [1, 2, 2], [.conv2d(channels: 2, kernel: 5, stride: 1, padding: 0)])) { error in
            XCTAssertTrue("\(error)".contains("smaller"), "\(error)")
        }
    }
}
