import DSP
import Foundation
import Synths

/// The ways `evaluate` matches a target, each given the same wall-clock budget.
public enum MatchMethod: String, Sendable, CaseIterable {
    /// The product: the network's estimate, then gradient refinement with restarts.
    case matcher
    /// The network's estimate alone (no refinement; takes milliseconds).
    case estimate
    /// Uniform random parameters, best of as many as the budget allows.
    case random
    /// CMA-ES from the middle of the parameter space.
    case cmaes
    /// Gradient refinement (as the matcher's) from random starts, without the network.
    case gradient
}

/// What one method found for one target.
public struct MethodOutcome: Sendable {
    public var method: MatchMethod
    public var controls: [Float]
    public var audio: [Float]
    public var seconds: Double
    /// Syntheses performed (renders of one item; a gradient step counts one per restart).
    public var evaluations: Int
}

/// Runs the methods on targets at an equal wall-clock budget per target.
public struct MatchEvaluator {
    public let synth: any Synth
    public let estimator: ParameterEstimator?
    public let sampleCount: Int
    public var budget: Double
    public var restarts = 4
    public var learningRate = 0.05
    /// The loss the outcomes are scored with.
    public var loss = MultiScaleSpectralLoss.ddsp()
    /// The loss the methods minimise, when it differs from the scoring loss.
    public var searchLoss: MultiScaleSpectralLoss?

    public init(synth: any Synth, estimator: ParameterEstimator?, sampleCount: Int, budget: Double) {
        self.synth = synth
        self.estimator = estimator
        self.sampleCount = sampleCount
        self.budget = budget
    }

    var layout: ControlLayout { ControlLayout(parameters: synth.parameters, frameCount: 1) }

    /// The spectral loss of each point (normalised parameters) against `target`.
    func objective(_ target: [Float]) -> ([[Double]]) -> [Double] {
        let (synth, layout, loss, n) = (self.synth, self.layout, searchLoss ?? self.loss, sampleCount)
        return { points in
            let controls = Controls(layout: layout, batchSize: points.count, values: points.flatMap { $0.map { Float($0) } })
            let audio = synth.render(controls, RenderRequest(sampleCount: n))
            let targets = AudioBatch(batchSize: points.count, sampleCount: n, samples: Array((0..<points.count).map { _ in target }.joined()))
            return loss.values(audio, targets).map(Double.init)
        }
    }

    public func run(_ method: MatchMethod, target: [Float], seed: UInt64 = 0) -> MethodOutcome {
        precondition(target.count == sampleCount, "evaluate: target has \(target.count) samples, expected \(sampleCount)")
        let start = DispatchTime.now().uptimeNanoseconds
        let p = synth.parameters.count
        var controls: [Float], evaluations: Int
        switch method {
        case .matcher, .gradient:
            var options = MatchOptions()
            options.steps = 1_000_000
            options.timeBudget = budget
            options.restarts = restarts
            options.learningRate = learningRate
            options.seed = seed
            options.loss = searchLoss ?? loss
            let useModel = method == .matcher ? estimator : nil
            if method == .matcher && estimator == nil { options.steps = 0 }
            let result = Matcher.match(target: target, synth: synth, estimator: useModel, options: options)
            controls = result.best.values
            evaluations = result.history.count * restarts + (useModel == nil ? 0 : 1)
        case .estimate:
            guard let estimator else { return MethodOutcome(method: method, controls: [], audio: [], seconds: 0, evaluations: 0) }
            controls = estimator.predict(AudioBatch(batchSize: 1, sampleCount: sampleCount, samples: target)).values
            evaluations = 0
        case .random:
            let r = RandomSearch.minimise(dimension: p, batchSize: 16, budget: SearchBudget(seconds: budget), seed: seed, objective: objective(target))
            controls = r.best.map { Float($0) }
            evaluations = r.evaluations
        case .cmaes:
            let r = CMAES.minimise(initialMean: [Double](repeating: 0.5, count: p), sigma: 0.3, budget: SearchBudget(seconds: budget),
                                   seed: seed, objective: objective(target))
            controls = r.best.map { Float($0) }
            evaluations = r.evaluations
        }
        let audio = synth.render(Controls(layout: layout, batchSize: 1, values: controls), RenderRequest(sampleCount: sampleCount)).samples
        return MethodOutcome(method: method, controls: controls, audio: audio,
                             seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, evaluations: evaluations)
    }
}
