import Datasets
import DSP
import Foundation
@testable import Matching
import Synths
import XCTest

/// The estimator and the matcher on a module with a categorical parameter (the `dx7` module's
/// algorithm): one-of-N outputs, training, checkpoints, and restarts on the likeliest choices.
final class ChoiceEstimatorTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-choice-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }
    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    let synth = try! SynthRegistry.make("dx7")
    var algorithm: Int { synth.parameters.count - 1 }

    func testOutputsCodeEachChoiceAsOneOfN() throws {
        let estimator = try tinyEstimator(for: synth, sampleCount: 2048)
        XCTAssertEqual(estimator.outputCount, synth.parameters.count - 1 + 32)
        XCTAssertEqual(estimator.network.outputShape.last, estimator.outputCount)
        var params = [Float](repeating: 0.25, count: 2 * synth.parameters.count)
        params[algorithm] = Float(synth.parameters[algorithm].normalised(5))
        params[synth.parameters.count + algorithm] = Float(synth.parameters[algorithm].normalised(32))
        let targets = estimator.outputTargets(params, batchSize: 2)
        XCTAssertEqual(targets.count, 2 * estimator.outputCount)
        let o = estimator.outputCount
        XCTAssertEqual(Array(targets[algorithm..<(algorithm + 32)]), (0..<32).map { $0 == 4 ? 1 : 0 })
        XCTAssertEqual(Array(targets[(o + algorithm)..<(o + algorithm + 32)]), (0..<32).map { $0 == 31 ? 1 : 0 })
        // Back: the best-scored choice at its bin's centre, the continuous values untouched.
        XCTAssertEqual(estimator.controls(fromOutputs: targets, batchSize: 2).values, params)
        // A choice passes no gradient to its scores; continuous values pass theirs.
        let d = (0..<params.count).map { Float($0 + 1) }
        let dOutputs = estimator.outputGradient(fromControls: d, batchSize: 2)
        XCTAssertEqual(dOutputs[0], 1)
        XCTAssertEqual(Array(dOutputs[algorithm..<(algorithm + 32)]), [Float](repeating: 0, count: 32))
        XCTAssertEqual(dOutputs[o], Float(synth.parameters.count + 1))
        // The ranked choices are the scores sorted.
        let tone = (0..<2048).map { Float(0.4 * sin(Double($0) * 0.07)) }
        let ranked = estimator.rankedChoices(tone, parameter: algorithm)
        XCTAssertEqual(ranked.count, 32)
        XCTAssertEqual(Set(ranked.map(\.choice)), Set(0..<32))
        XCTAssertTrue(zip(ranked, ranked.dropFirst()).allSatisfy { $0.score >= $1.score })
        let predicted = estimator.predict(AudioBatch(batchSize: 1, sampleCount: 2048, samples: tone))
        XCTAssertEqual(synth.parameters[algorithm].choice(Double(predicted.values[algorithm])), ranked[0].choice)
    }

    func testTrainsOnADatasetOfChoicesAndSavesThem() throws {
        var spec = DatasetSpec(synth: "dx7", count: 64, seed: 5)
        spec.duration = 0.128
        try DatasetGenerator.generate(spec, to: path("data.h5"), progress: false)
        let data = try DatasetReader(path: path("data.h5"))
        var estimator = try tinyEstimator(for: synth, sampleCount: 2048, seed: 1)
        let sample = try data.read(Array(0..<32))
        estimator.fitFeatureStatistics(AudioBatch(batchSize: 32, sampleCount: 2048, samples: sample.audio))
        var options = TrainingOptions()
        options.steps = 60
        options.batchSize = 8
        options.learningRate = 3e-3
        options.warmup = 0
        let trainer = try EstimatorTrainer(estimator: estimator, synth: synth, data: data, options: options)
        var losses: [Double] = []
        for _ in 0..<60 { losses.append(try XCTUnwrap(trainer.trainStep().parameter)) }
        let early = losses.prefix(5).reduce(0, +) / 5, late = losses.suffix(5).reduce(0, +) / 5
        XCTAssertLessThan(late, 0.9 * early, "parameter loss over outputs \(early) -> \(late)")
        let validation = try trainer.validate()
        XCTAssertTrue(validation.parameter.isFinite && validation.spectral.isFinite)

        // The spectral stage runs through the synth with the choice fixed at the best score.
        options.stage = .spectral
        options.steps = 2
        let spectral = try EstimatorTrainer(estimator: trainer.estimator, synth: synth, data: data, options: options)
        for _ in 0..<2 { XCTAssertNotNil(try spectral.trainStep().spectral) }

        try trainer.saveCheckpoint(path("m.h5"))
        let loaded = try Checkpoint.load(path("m.h5"), expecting: synth.parameters).estimator
        XCTAssertEqual(loaded.outputCount, trainer.estimator.outputCount)
        let audio = AudioBatch(batchSize: 4, sampleCount: 2048, samples: Array(sample.audio[0..<(4 * 2048)]))
        XCTAssertEqual(loaded.predict(audio).values, trainer.estimator.predict(audio).values)
    }

    func testRestartsStartOnTheLikeliestChoicesAndKeepThem() throws {
        let n = 2048
        let target = (0..<n).map { Float(0.3 * sin(Double($0) * 0.11) * exp(-Double($0) / 1500)) }
        var estimator = try tinyEstimator(for: synth, sampleCount: n, seed: 4)
        estimator.fitFeatureStatistics(AudioBatch(batchSize: 1, sampleCount: n, samples: target))
        let ranked = estimator.rankedChoices(target, parameter: algorithm).map(\.choice)
        var options = MatchOptions()
        options.steps = 3
        options.restarts = 5
        options.harmonicRatios = false
        options.loss = .ddsp(fftSizes: [512, 128])
        let result = Matcher.match(target: target, synth: synth, estimator: estimator, options: options)
        let spec = synth.parameters[algorithm]
        let kept = result.restartBests.map { spec.choice(Double($0.values[algorithm])) }
        // The estimate played with every algorithm, ranked by the objective.
        let guess = estimator.predict(AudioBatch(batchSize: 1, sampleCount: n, samples: target)).values
        let objective = options.objective(sampleRate: synth.sampleRate)
        let loss = (0..<32).map { c -> Float in
            var v = guess
            v[algorithm] = Float((Double(c) + 0.5) / 32)
            let audio = synth.render(Controls(layout: synth.layout(frameCount: 1), batchSize: 1, values: v), RenderRequest(sampleCount: n))
            return objective.values(audio, AudioBatch(batchSize: 1, sampleCount: n, samples: target))[0]
        }
        let byLoss = (0..<32).sorted { loss[$0] < loss[$1] }
        // Restarts 0-2: the best-sounding algorithms with the network's likeliest among them; the
        // others perturb restart 0 and keep its algorithm.
        XCTAssertEqual(kept[0], byLoss[0])
        XCTAssertEqual(Set(kept[0..<3]).count, 3)
        XCTAssertTrue(kept[0..<3].contains(ranked[0]))
        XCTAssertTrue(kept[1..<3].allSatisfy { $0 == ranked[0] || byLoss.prefix(3).contains($0) })
        XCTAssertEqual(kept[3], kept[0])
        XCTAssertEqual(kept[4], kept[0])

        // Without a model, random starts keep their own (different) algorithms.
        options.restarts = 6
        let random = Matcher.match(target: target, synth: synth, estimator: nil, options: options)
        let own = Set(random.restartBests.map { spec.choice(Double($0.values[algorithm])) })
        XCTAssertGreaterThan(own.count, 1)
    }
}
