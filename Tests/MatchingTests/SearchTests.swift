import Foundation
import Datasets
import DSP
@testable import Matching
import Synths
import XCTest

final class SearchTests: XCTestCase {
    func testJacobiEigenDecompositionReconstructsTheMatrix() {
        var random = CounterRandom(seed: 3, index: 0)
        let n = 7
        var a = Matrix(n: n, values: [Double](repeating: 0, count: n * n))
        for i in 0..<n { for j in 0...i { let v = random.normal(); a[i, j] = v; a[j, i] = v } }
        let (values, vectors) = a.symmetricEigen()
        // A = V diag(values) V^T, and V is orthonormal.
        for i in 0..<n {
            for j in 0..<n {
                var s = 0.0, o = 0.0
                for k in 0..<n { s += vectors[i, k] * values[k] * vectors[j, k]; o += vectors[k, i] * vectors[k, j] }
                XCTAssertEqual(s, a[i, j], accuracy: 1e-10)
                XCTAssertEqual(o, i == j ? 1 : 0, accuracy: 1e-10)
            }
        }
    }

    /// CMA-ES solves an ill-conditioned rotated ellipsoid (condition 1e4) and Rosenbrock in
    /// 8-D, unbounded, to high precision: the covariance and step-size updates work.
    func testCMAESSolvesIllConditionedAndCurvedProblems() {
        let n = 8
        var random = CounterRandom(seed: 5, index: 0)
        // A random rotation from the eigenvectors of a random symmetric matrix.
        var m = Matrix(n: n, values: [Double](repeating: 0, count: n * n))
        for i in 0..<n { for j in 0...i { let v = random.normal(); m[i, j] = v; m[j, i] = v } }
        let rotation = m.symmetricEigen().vectors
        let optimum = (0..<n).map { _ in random.normal() }
        func ellipsoid(_ x: [Double]) -> Double {
            let y = rotation.applyTransposed(zip(x, optimum).map { $0 - $1 })
            var s = 0.0
            for (i, v) in y.enumerated() { s += pow(1e4, Double(i) / Double(n - 1)) * v * v }
            return s
        }
        let e = CMAES.minimise(initialMean: [Double](repeating: 0, count: n), sigma: 1, budget: SearchBudget(evaluations: 20_000),
                               seed: 1, bounded: false) { $0.map(ellipsoid) }
        XCTAssertLessThan(e.value, 1e-8, "ellipsoid after \(e.evaluations) evaluations")
        for j in 0..<n { XCTAssertEqual(e.best[j], optimum[j], accuracy: 1e-3) }

        func rosenbrock(_ x: [Double]) -> Double {
            var s = 0.0
            for i in 0..<(n - 1) {
                let a = x[i + 1] - x[i] * x[i], b = 1 - x[i]
                s += 100 * a * a + b * b
            }
            return s
        }
        let r = CMAES.minimise(initialMean: [Double](repeating: 0, count: n), sigma: 0.5, budget: SearchBudget(evaluations: 30_000),
                               seed: 2, bounded: false) { $0.map(rosenbrock) }
        XCTAssertLessThan(r.value, 1e-8)
    }

    /// The genetic algorithm (spiegelib's operators): it improves on its initial population of a
    /// 6-D sphere by far, stays in the cube, spends exactly its evaluation budget, and a seed
    /// repeats a run.
    func testGeneticSearchImprovesAndKeepsItsBudget() {
        let optimum = [0.3, 0.7, 0.5, 0.1, 0.9, 0.4]
        func sphere(_ x: [Double]) -> Double { zip(x, optimum).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
        let first = GeneticSearch.minimise(dimension: 6, budget: SearchBudget(evaluations: 100), seed: 4) { $0.map(sphere) }
        let run = GeneticSearch.minimise(dimension: 6, budget: SearchBudget(evaluations: 3000), seed: 4) { $0.map(sphere) }
        XCTAssertEqual(run.evaluations, 3000)
        XCTAssertLessThan(run.value, 0.25 * first.value, "best of the first population \(first.value), after 3000 evaluations \(run.value)")
        XCTAssertTrue(run.best.allSatisfy { (0...1).contains($0) })
        let again = GeneticSearch.minimise(dimension: 6, budget: SearchBudget(evaluations: 3000), seed: 4) { $0.map(sphere) }
        XCTAssertEqual(again.best, run.best)
        // NaN fitness (a synth that fails somewhere) never wins, and does not stop the search.
        let noisy = GeneticSearch.minimise(dimension: 6, budget: SearchBudget(evaluations: 1000), seed: 5) { $0.map { $0[0] < 0.2 ? .nan : sphere($0) } }
        XCTAssertTrue(noisy.value.isFinite)
    }

    /// An evaluation budget caps every method's synth evaluations, whatever the machine's load.
    func testEvaluationBudgetCapsEveryMethod() throws {
        let (base, target) = try smallEvaluation(budget: 60)
        var evaluator = base
        evaluator.evaluationBudget = 40
        for method in MatchMethod.allCases where method != .nearest && method != .estimate {
            let outcome = evaluator.run(method, target: EvaluationTarget(samples: target, pinned: ["f0": 220]), seed: 2)
            XCTAssertLessThanOrEqual(outcome.evaluations, 42, "\(method)")   // + the final scoring renders of the gradient methods
            XCTAssertGreaterThanOrEqual(outcome.evaluations, 30, "\(method)")
            XCTAssertLessThan(outcome.seconds, 30, "\(method): the cap, not the 60 s, stopped it")
        }
    }

    /// The nearest-neighbour lookup returns the parameters of the example whose log-mel is
    /// closest: an example of the dataset itself finds itself.
    func testNearestNeighbourFindsAnExampleItself() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-nn-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var spec = DatasetSpec(synth: "subtractive", count: 60, seed: 4)
        spec.duration = 0.25
        try DatasetGenerator.generate(spec, to: path, progress: false)
        let reader = try DatasetReader(path: path)
        let index = try NearestNeighbours(reader: reader)
        XCTAssertEqual(index.count, reader.rows(.train).count)
        for row in reader.rows(.train).prefix(5) {
            let e = try reader.example(row)
            XCTAssertEqual(index.nearest(to: e.audio), e.params)
        }
    }

    /// In the unit cube the optimum on a face is found and no point outside is reported.
    func testBoundedCMAESAndRandomSearchStayInTheCube() {
        let target = [0.2, 1.0, 0.7, 0.0]   // two coordinates on the boundary
        func f(_ x: [Double]) -> Double { zip(x, target).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
        let c = CMAES.minimise(initialMean: [0.5, 0.5, 0.5, 0.5], sigma: 0.3, budget: SearchBudget(evaluations: 3000), seed: 4) { $0.map(f) }
        XCTAssertLessThan(c.value, 1e-6)
        XCTAssertTrue(c.best.allSatisfy { (0...1).contains($0) })
        let r = RandomSearch.minimise(dimension: 4, budget: SearchBudget(evaluations: 2000), seed: 4) { $0.map(f) }
        XCTAssertEqual(r.evaluations, 2000)
        XCTAssertTrue(r.best.allSatisfy { (0...1).contains($0) })
        XCTAssertLessThan(r.value, 0.05)
        XCTAssertLessThan(c.value, r.value)
        // Deterministic given the seed.
        let again = RandomSearch.minimise(dimension: 4, budget: SearchBudget(evaluations: 2000), seed: 4) { $0.map(f) }
        XCTAssertEqual(again.best, r.best)
    }
}

final class EvaluatorTests: XCTestCase {
    /// Every method returns parameters in the unit cube whose render is what it reports,
    /// respects the time budget (to a step's granularity) and holds the pinned f0; the target
    /// may be longer than the estimator's window (a whole note).
    /// An objective that is never finite (a synth rendering NaN everywhere): the searches still
    /// return a point in the cube instead of an empty one (which trapped `evaluate`).
    func testNeverFiniteObjectiveStillReturnsAPoint() {
        let nan: ([[Double]]) -> [Double] = { points in points.map { _ in .nan } }
        let random = RandomSearch.minimise(dimension: 3, budget: SearchBudget(evaluations: 40), objective: nan)
        let cmaes = CMAES.minimise(initialMean: [0.5, 0.5, 0.5], budget: SearchBudget(evaluations: 40), objective: nan)
        for r in [random, cmaes] {
            XCTAssertEqual(r.best.count, 3)
            XCTAssertTrue(r.best.allSatisfy { (0...1).contains($0) })
            XCTAssertEqual(r.value, .infinity)
        }
    }

    func testEveryMethodRunsWithinItsBudget() throws {
        let (base, target) = try smallEvaluation(budget: 0.5)
        var evaluator = base
        let synth = evaluator.synth, layout = ControlLayout(parameters: synth.parameters, frameCount: 1)
        // A small dataset of the synth for the nearest-neighbour method.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-nn-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var spec = DatasetSpec(synth: "subtractive", count: 40, seed: 9)
        spec.duration = 0.128
        try DatasetGenerator.generate(spec, to: path, progress: false)
        evaluator.neighbours = try NearestNeighbours(reader: DatasetReader(path: path))
        for method in MatchMethod.allCases {
            let outcome = evaluator.run(method, target: EvaluationTarget(samples: target, pinned: ["f0": 220], starts: ["note_off": 0.1]), seed: 1)
            XCTAssertEqual(Double(outcome.controls[0]), synth.parameters[0].normalised(220), accuracy: 1e-6, "\(method)")
            XCTAssertEqual(outcome.controls.count, synth.parameters.count, "\(method)")
            XCTAssertTrue(outcome.controls.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(method)")
            XCTAssertEqual(outcome.audio, synth.render(Controls(layout: layout, batchSize: 1, values: outcome.controls), RenderRequest(sampleCount: 3000)).samples)
            XCTAssertLessThan(outcome.seconds, method == .estimate ? 0.5 : 3, "\(method)")
            if method != .estimate && method != .nearest { XCTAssertGreaterThan(outcome.evaluations, 1, "\(method)") }
        }
    }
}

/// The subtractive synth's evaluator as the evaluator tests use it (an untrained tiny estimator,
/// two restarts, a short loss), and a target: its default preset, 3000 samples.
func smallEvaluation(budget: Double) throws -> (MatchEvaluator, [Float]) {
    let synth = SubtractiveSynth()
    let layout = ControlLayout(parameters: synth.parameters, frameCount: 1)
    var evaluator = MatchEvaluator(synth: synth, estimator: try tinyEstimator(for: synth, sampleCount: 2048), budget: budget)
    evaluator.loss = .ddsp(fftSizes: [512, 128])
    evaluator.restarts = 2
    return (evaluator, synth.render(Controls<Float>(defaultsFor: layout, batchSize: 1), RenderRequest(sampleCount: 3000)).samples)
}
