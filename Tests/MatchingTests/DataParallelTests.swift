import Datasets
import DSP
import Foundation
@testable import Matching
import Synths
import XCTest

/// Issue 18: data-parallel training gives the weights one process gives with the same global
/// batch. `InProcessReducer` stands in for MPI: N trainers on N threads sum their shares through
/// it (the MPI run itself is `Experiments/mpi/run`).
final class DataParallelTests: XCTestCase {
    /// All-reduce by summing every rank's contribution in rank order once all have arrived.
    final class InProcessReducer: @unchecked Sendable {
        let size: Int
        private let condition = NSCondition()
        private var contributions: [[Double]?]
        private var result: [Double] = []
        private var arrived = 0, generation = 0
        init(size: Int) { self.size = size; contributions = Array(repeating: nil, count: size) }

        func reduce(rank: Int, _ values: inout [Double]) {
            condition.lock(); defer { condition.unlock() }
            let myGeneration = generation
            contributions[rank] = values
            arrived += 1
            if arrived == size {
                result = contributions[0]!
                for r in 1..<size { for i in result.indices { result[i] += contributions[r]![i] } }   // (size 1: nothing to add)
                arrived = 0
                contributions = Array(repeating: nil, count: size)
                generation += 1
                condition.broadcast()
            } else {
                while generation == myGeneration { condition.wait() }
            }
            values = result
        }
    }

    final class Rank: GradientReducer {
        let rank: Int
        let shared: InProcessReducer
        var size: Int { shared.size }
        init(_ rank: Int, _ shared: InProcessReducer) { self.rank = rank; self.shared = shared }
        func allReduceSum(_ values: inout [Double]) throws { shared.reduce(rank: rank, &values) }
    }

    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-dp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func makeSetup() throws -> (DatasetReader, SubtractiveSynth, ParameterEstimator, [[Float]]) {
        var spec = DatasetSpec(synth: "subtractive", count: 96, seed: 3)
        spec.duration = 0.128
        let path = folder.appendingPathComponent("d.h5").path
        try DatasetGenerator.generate(spec, to: path, progress: false)
        let data = try DatasetReader(path: path)
        let synth = SubtractiveSynth()
        var configuration = EstimatorConfiguration()
        configuration.channels = [4, 8]
        configuration.hidden = 16
        var estimator = try ParameterEstimator(synthName: synth.name, parameters: synth.parameters, sampleRate: 16000,
                                               sampleCount: 2048, configuration: configuration, seed: 1)
        let sample = try data.read(Array(0..<32))
        estimator.fitFeatureStatistics(AudioBatch(batchSize: 32, sampleCount: 2048, samples: sample.audio))
        func tone(_ amplitude: Double, _ step: Double) -> [Float] { (0..<2048).map { i -> Float in Float(amplitude * sin(Double(i) * step)) } }
        return (data, synth, estimator, [tone(0.2, 0.07), tone(0.3, 0.11)])
    }

    /// Runs `body(trainer)` for each rank on its own thread, all sharing one reducer.
    func runRanks(_ trainers: [EstimatorTrainer], _ body: @escaping @Sendable (EstimatorTrainer) throws -> Void) {
        let shared = InProcessReducer(size: trainers.count)
        let failures = WorkerSlots<String>(count: trainers.count)
        let group = DispatchGroup()
        for (r, t) in trainers.enumerated() {
            t.reducer = Rank(r, shared)
            nonisolated(unsafe) let trainer = t   // each thread owns its trainer
            DispatchQueue.global().async(group: group) {
                do { try body(trainer) } catch { failures.items[r] = "\(error)" }
            }
        }
        group.wait()
        for r in trainers.indices { XCTAssertNil(failures.items[r], "rank \(r)") }
    }

    /// Stage 1: two ranks, an odd global batch of 7 (shares of 3 and 4), 50 steps: the weights
    /// of one process to 1e-5 (the test), and the same on both ranks.
    func testTwoRanksTrainTheSingleProcessWeights() throws {
        let (data, synth, estimator, _) = try makeSetup()
        var options = TrainingOptions()
        options.steps = 50
        options.batchSize = 7
        options.learningRate = 3e-3
        options.warmup = 0
        let single = try EstimatorTrainer(estimator: estimator, synth: synth, data: data, options: options)
        for _ in 0..<50 { try single.trainStep() }
        // One rank through the reducer takes the very same steps.
        let alone = try EstimatorTrainer(estimator: estimator, synth: synth, data: data, options: options)
        alone.reducer = Rank(0, InProcessReducer(size: 1))
        for _ in 0..<50 { try alone.trainStep() }
        XCTAssertEqual(alone.estimator.weights, single.estimator.weights)
        let ranks = try (0..<2).map { _ in try EstimatorTrainer(estimator: estimator, synth: synth, data: data, options: options) }
        runRanks(ranks) { t in for _ in 0..<50 { try t.trainStep() } }
        XCTAssertEqual(ranks[0].estimator.weights, ranks[1].estimator.weights)
        var worst = 0.0
        for (x, y) in zip(single.estimator.weights, ranks[0].estimator.weights) { worst = max(worst, abs(Double(x) - Double(y))) }
        XCTAssertLessThan(worst, 1e-5, "weights differ by up to \(worst) after 50 steps")
        XCTAssertNotEqual(single.estimator.weights, estimator.weights)
    }

    /// Stage 2 (through the synth, with recordings in the batch): the losses two ranks sum are
    /// one process's to 1e-6 and the gradient is one process's to float64 rounding. It was only
    /// within ~0.1% while the network ran each layer as one product over the batch (OpenBLAS
    /// rounds an item's row differently in a 3-row and a 7-row product) and summed the weight
    /// gradient in float32: this gradient moves by ~0.5% when the weights move by 1e-7 (below).
    func testTwoRanksSumTheSingleProcessGradientThroughTheSynth() throws {
        let (data, synth, estimator, real) = try makeSetup()
        let options = Self.spectralOptions()
        let single = try EstimatorTrainer(estimator: estimator, synth: synth, data: data, real: real, options: options)
        let expected = try single.batchGradient()
        // How sensitive the gradient is: nudging every weight by 1e-7 (relative) moves it by
        // ~0.5%, since the log-magnitude terms of quiet bins are steep.
        var nudged = estimator
        nudged.weights = estimator.weights.enumerated().map { i, w in w * (1 + (i % 2 == 0 ? 1 : -1) * 1e-7) }
        let noise = Self.relativeDifference(expected.gradient, try EstimatorTrainer(estimator: nudged, synth: synth, data: data, real: real, options: options).batchGradient().gradient)
        XCTAssertGreaterThan(noise, 1e-4)
        let ranks = try (0..<2).map { _ in try EstimatorTrainer(estimator: estimator, synth: synth, data: data, real: real, options: options) }
        let results = WorkerSlots<([Double], Double?, Double?)>(count: 2)
        runRanks(ranks) { t in
            let g = try t.batchGradient()
            results.items[t.reducer!.rank] = (g.gradient, g.parameter, g.spectral)
        }
        let (g0, parameter, spectral) = try XCTUnwrap(results.items[0])
        XCTAssertEqual(g0, try XCTUnwrap(results.items[1]).0)
        let split = Self.relativeDifference(expected.gradient, g0)
        XCTAssertLessThan(split, 1e-12, "two ranks' gradient differs by \(split) (a 1e-7 nudge of the weights: \(noise))")
        XCTAssertEqual(try XCTUnwrap(parameter), try XCTUnwrap(expected.parameter), accuracy: 1e-6 * expected.parameter!)
        XCTAssertEqual(try XCTUnwrap(spectral), try XCTUnwrap(expected.spectral), accuracy: 1e-6 * expected.spectral!)
    }

    /// Stage 2 over 50 steps (issue 18's test): two ranks, an odd global batch of 7 with
    /// recordings in it, give one process's weights to 1e-5, and the same on both ranks.
    func testTwoRanksTrainTheSingleProcessWeightsThroughTheSynth() throws {
        let (data, synth, estimator, real) = try makeSetup()
        var options = Self.spectralOptions()
        options.steps = 50
        options.learningRate = 1e-3
        options.warmup = 0
        let single = try EstimatorTrainer(estimator: estimator, synth: synth, data: data, real: real, options: options)
        for _ in 0..<50 { try single.trainStep() }
        let ranks = try (0..<2).map { _ in try EstimatorTrainer(estimator: estimator, synth: synth, data: data, real: real, options: options) }
        runRanks(ranks) { t in for _ in 0..<50 { try t.trainStep() } }
        XCTAssertEqual(ranks[0].estimator.weights, ranks[1].estimator.weights)
        var worst = 0.0, moved = 0.0
        for ((x, y), start) in zip(zip(single.estimator.weights, ranks[0].estimator.weights), estimator.weights) {
            worst = max(worst, abs(Double(x) - Double(y)))
            moved = max(moved, abs(Double(x) - Double(start)))
        }
        XCTAssertLessThan(worst, 1e-5, "weights differ by up to \(worst) after 50 steps")
        XCTAssertGreaterThan(moved, 1e-3, "training barely moved the weights")
        print("stage 2, 50 steps: one process against two ranks, weights differ by at most \(worst); the weights moved by up to \(moved)")
    }

    /// Stage 2 on an odd global batch of 7 (shares of 3 and 4), with recordings in it.
    static func spectralOptions() -> TrainingOptions {
        var options = TrainingOptions()
        options.stage = .spectral
        options.batchSize = 7
        options.parameterWeight = 0.5
        return options
    }

    static func relativeDifference(_ a: [Double], _ b: [Double]) -> Double {
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(a, b) { difference += (x - y) * (x - y); norm += x * x }
        return (difference / norm).squareRoot()
    }
}
