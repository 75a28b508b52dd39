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

    /// Items never mix: a batch's rows equal each item run alone, in Float (sgemm) too.
    func testBatchItemsAreIndependentInFloat() throws {
        let network = try makeNetwork()
        let weights = network.initialWeights(seed: 1).map { Float($0) }
        let x = randomInput(network, batch: 4, seed: 3)
        let xf = Tensor<Float>(shape: x.shape, values: x.values.map { Float($0) })
        let all = network(xf, weights: weights)
        let plane = 7 * 6
        for b in 0..<4 {
            let one = Tensor<Float>(shape: [1, 1, 7, 6], values: Array(xf.values[(b * plane)..<((b + 1) * plane)]))
            let y = network(one, weights: weights)
            for k in 0..<3 { XCTAssertEqual(all.values[b * 3 + k], y.values[k], accuracy: 1e-6) }
        }
        XCTAssertTrue(all.values.allSatisfy { $0 > 0 && $0 < 1 })
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
