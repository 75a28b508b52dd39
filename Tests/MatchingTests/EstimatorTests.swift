import Datasets
import DSP
import Foundation
@testable import Matching
import Synths
import XCTest

final class EstimatorTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-est-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }
    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// A small network for 2048-sample inputs (7 log-mel frames).
    var small: EstimatorConfiguration {
        var c = EstimatorConfiguration()
        c.channels = [4, 8]
        c.hidden = 16
        return c
    }

    func makeDataset(count: Int = 96) throws -> String {
        var spec = DatasetSpec(synth: "subtractive", count: count, seed: 3)
        spec.duration = 0.128
        try DatasetGenerator.generate(spec, to: path("data.h5"), progress: false)
        return path("data.h5")
    }

    /// network -> synth -> spectral loss, chained pullbacks in float64, against finite
    /// differences on the network's weights: the trainer's stage-2 gradient.
    func testGradientThroughNetworkSynthAndLossMatchesFiniteDifferences() throws {
        let synth = SubtractiveSynth(filter: .frequencySampled)
        let estimator = try ParameterEstimator(synthName: synth.name, parameters: synth.parameters, sampleRate: 16000,
                                               sampleCount: 2048, configuration: small, seed: 2)
        let n = 1024
        let target = AudioBatch<Double>(batchSize: 2, sampleCount: n, samples: (0..<(2 * n)).map { 0.3 * sin(Double($0) * 0.05 + Double($0 / n)) })
        // L2 magnitude distance: the L1 distance kinks wherever a bin's magnitude crosses the
        // target's, thousands of times per unit of f0's control, so finite differences through
        // it straddle kinks at any step (its own gradient is checked in MultiScaleSpectralLossTests).
        var loss = MultiScaleSpectralLoss.ddsp(fftSizes: [256, 64])
        loss.distance = .l2
        var random = CounterRandom(seed: 1, index: 0)
        let input = Tensor<Double>(shape: [1, 2] + Array(estimator.network.inputShape.dropFirst()),
                                   values: (0..<(2 * estimator.network.inputShape.reduce(1, *))).map { _ in random.normal() })
        let layout = estimator.layout
        func total(_ w: [Double]) -> Double {
            let y = estimator.network(input, weights: w)
            let audio = synth.render(Controls(layout: layout, batchSize: 2, values: y.values), RenderRequest(sampleCount: n))
            return loss.values(audio, target).reduce(0, +)
        }
        let weights = estimator.network.initialWeights(seed: 2)
        let (y, pullback) = estimator.network.valueWithPullback(input, weights: weights)
        let (audio, synthPullback) = synth.valueWithPullback(Controls(layout: layout, batchSize: 2, values: y.values), RenderRequest(sampleCount: n))
        let dAudio = loss.valuesWithGradient(audio, target).gradient
        let gradient = pullback(Tensor(shape: y.shape, values: synthPullback(dAudio).values)).weights
        // The head's weights (last dense layer) and a spread of convolution weights.
        let head = estimator.network.offsets[estimator.network.layers.count - 2]
        let coordinates = Array(stride(from: 0, to: 36, by: 5)) + Array(stride(from: head, to: estimator.network.weightCount, by: 7))
        var diff2 = 0.0, norm2 = 0.0
        // Richardson's extrapolation of central differences at h and h/2 (error O(h^4)): f0 moves
        // every phase by n f0 du / sr, so plain central differences converge slowly; steps much
        // below 1e-7 meet rounding, and the ADSR segments are only piecewise smooth.
        let h = 2e-7
        func central(_ i: Int, _ h: Double) -> Double {
            var plus = weights, minus = weights
            plus[i] += h
            minus[i] -= h
            return (total(plus) - total(minus)) / (2 * h)
        }
        for i in coordinates {
            let numeric = (4 * central(i, h / 2) - central(i, h)) / 3
            diff2 += (numeric - gradient[i]) * (numeric - gradient[i])
            norm2 += numeric * numeric
        }
        XCTAssertGreaterThan(norm2, 0)
        XCTAssertLessThan((diff2 / norm2).squareRoot(), 1e-4)
    }

    func testCheckpointRoundTripAndClearErrors() throws {
        let synth = SubtractiveSynth()
        var estimator = try ParameterEstimator(synthName: synth.name, parameters: synth.parameters, sampleRate: 16000,
                                               sampleCount: 2048, configuration: small, seed: 4)
        estimator.featureMean = -3.5
        estimator.featureDeviation = 2.25
        try Checkpoint.save(estimator, to: path("m.h5"), training: (Checkpoint.TrainingState(stage: "parameter", step: 7, seed: 1, optimiserStep: 7),
                                                                    [Double](repeating: 0.5, count: estimator.weights.count),
                                                                    [Double](repeating: 0.25, count: estimator.weights.count)))
        let loaded = try Checkpoint.load(path("m.h5"), expecting: synth.parameters)
        XCTAssertEqual(loaded.estimator.weights, estimator.weights)
        XCTAssertEqual(loaded.estimator.featureMean, -3.5)
        XCTAssertEqual(loaded.estimator.network.specs, estimator.network.specs)
        XCTAssertEqual(loaded.training?.state.step, 7)
        XCTAssertEqual(loaded.training?.v.first, 0.25)
        let audio = AudioBatch<Float>(batchSize: 1, sampleCount: 2048, samples: (0..<2048).map { Float(sin(Double($0) * 0.1)) })
        XCTAssertEqual(loaded.estimator.predict(audio), estimator.predict(audio))
        // Nothing but the model in the folder (the temporary file was renamed).
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["m.h5"])

        XCTAssertThrowsError(try Checkpoint.load(path("m.h5"), expecting: FMSynth().parameters)) { XCTAssertTrue("\($0)".contains("different"), "\($0)") }
        XCTAssertThrowsError(try Checkpoint.load(path("missing.h5"))) { XCTAssertTrue("\($0)".contains("cannot open"), "\($0)") }
        let data = try makeDataset(count: 8)
        XCTAssertThrowsError(try Checkpoint.load(data)) { XCTAssertTrue("\($0)".contains("not a SynthMatch estimator"), "\($0)") }
    }

    func testTrainingLowersTheParameterLossAndResumesWhereItStopped() throws {
        let data = try DatasetReader(path: try makeDataset())
        let synth = SubtractiveSynth()
        var estimator = try ParameterEstimator(synthName: synth.name, parameters: synth.parameters, sampleRate: 16000,
                                               sampleCount: 2048, configuration: small, seed: 1)
        let sample = try data.read(Array(0..<32))
        estimator.fitFeatureStatistics(AudioBatch(batchSize: 32, sampleCount: 2048, samples: sample.audio))
        var options = TrainingOptions()
        options.steps = 60
        options.batchSize = 8
        options.learningRate = 3e-3
        options.warmup = 0
        options.validationEvery = 30
        options.checkpointEvery = 30
        // Fits its training rows: their mean squared parameter error falls by a quarter.
        let rows = data.rows(.train)
        let train = try data.read(rows)
        func trainError(_ e: ParameterEstimator) -> Double {
            let y = e.predict(AudioBatch(batchSize: rows.count, sampleCount: 2048, samples: train.audio))
            return zip(y.values, train.params).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(train.params.count)
        }
        let straight = try EstimatorTrainer(estimator: estimator, synth: synth, data: data, options: options)
        for _ in 0..<60 { XCTAssertNotNil(try straight.trainStep().parameter) }
        let before = trainError(estimator), after = trainError(straight.estimator)
        XCTAssertLessThan(after, 0.75 * before, "training-set parameter MSE \(before) -> \(after)")

        // 30 steps, checkpoint, reload, 30 more: the same weights as 60 straight (up to the
        // float32 copies a checkpoint stores).
        let first = try EstimatorTrainer(estimator: estimator, synth: synth, data: data, options: options)
        for _ in 0..<30 { try first.trainStep() }
        try first.saveCheckpoint(path("ck.h5"))
        let loaded = try Checkpoint.load(path("ck.h5"), expecting: synth.parameters)
        let second = try EstimatorTrainer(estimator: loaded.estimator, synth: synth, data: data, options: options,
                                          resume: loaded.training!.state, moments: (loaded.training!.m, loaded.training!.v))
        XCTAssertEqual(second.step, 30)
        for _ in 0..<30 { try second.trainStep() }
        let gap = zip(second.estimator.weights, straight.estimator.weights).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(gap, 1e-4)
    }

    func testSpectralStageRunsOnSyntheticAndRealAudioAndLogs() throws {
        let data = try DatasetReader(path: try makeDataset(count: 48))
        let synth = SubtractiveSynth()
        let estimator = try ParameterEstimator(synthName: synth.name, parameters: synth.parameters, sampleRate: 16000,
                                               sampleCount: 2048, configuration: small, seed: 1)
        var options = TrainingOptions()
        options.stage = .spectral
        options.steps = 4
        options.batchSize = 4
        options.parameterWeight = 0.5
        options.validationEvery = 2
        options.checkpointEvery = 2
        options.validationSize = 4
        options.keepBest = true
        let real = [(0..<2048).map { Float(0.2 * sin(Double($0) * 0.07)) }]
        let heldOut = [(0..<2048).map { Float(0.3 * sin(Double($0) * 0.05)) }]
        let trainer = try EstimatorTrainer(estimator: estimator, synth: synth, data: data, real: real, realValidation: heldOut, options: options)
        try trainer.train(checkpoint: path("s.h5"), log: path("s.csv"), progress: false)
        // Validated before the first step too; the kept weights are those that matched the
        // held-out recordings best.
        XCTAssertEqual(trainer.records.map(\.step), [0, 2, 4])
        let best = try XCTUnwrap(trainer.best)
        XCTAssertEqual(trainer.records.compactMap(\.validationRealSpectralLoss).count, 3)
        XCTAssertEqual(best.loss, trainer.records.compactMap(\.validationRealSpectralLoss).min())
        XCTAssertEqual(trainer.estimator.weights, best.weights)
        XCTAssertEqual(try XCTUnwrap(trainer.validateReal()), best.loss, accuracy: 1e-9)
        XCTAssertEqual(try Checkpoint.load(path("s.h5")).estimator.weights, best.weights)
        XCTAssertTrue(trainer.records.dropFirst().allSatisfy { ($0.spectralLoss ?? .nan).isFinite && ($0.parameterLoss ?? .nan).isFinite })
        let log = try String(contentsOfFile: path("s.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(log.count, 4)
        XCTAssertTrue(log[0].hasPrefix("stage,step,learning_rate"))
        XCTAssertEqual(try Checkpoint.load(path("s.h5")).training?.state.step, 4)
    }

    /// A dataset with no validation examples would score any weights as perfect: refused when
    /// the trainer is made, before any step.
    func testEmptyValidationSplitIsRefused() throws {
        let synth = SubtractiveSynth()
        let reader = try DatasetReader(path: try makeDataset(count: 48), fractions: (train: 1, validation: 0))
        let estimator = try ParameterEstimator(synthName: synth.name, parameters: synth.parameters, sampleRate: 16000,
                                               sampleCount: reader.info.sampleCount, configuration: small)
        var options = TrainingOptions()
        options.batchSize = 8
        XCTAssertThrowsError(try EstimatorTrainer(estimator: estimator, synth: synth, data: reader, options: options)) {
            XCTAssertTrue("\($0)".contains("validation split is empty"), "\($0)")
        }
    }

    func testMismatchedDatasetsAreRejected() throws {
        let data = try DatasetReader(path: try makeDataset(count: 16))
        let fm = FMSynth()
        let estimator = try ParameterEstimator(synthName: fm.name, parameters: fm.parameters, sampleRate: 16000,
                                               sampleCount: 2048, configuration: small)
        XCTAssertThrowsError(try EstimatorTrainer(estimator: estimator, synth: fm, data: data, options: TrainingOptions())) {
            XCTAssertTrue("\($0)".contains("subtractive"), "\($0)")
        }
        XCTAssertThrowsError(try ParameterEstimator(synthName: "x", parameters: fm.parameters, sampleRate: 16000, sampleCount: 512)) {
            XCTAssertTrue("\($0)".contains("too short"), "\($0)")
        }
    }
}
