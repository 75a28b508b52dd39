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
    /// The matcher with one refinement run: the estimate alone refined, no restarts.
    case matcherSingle = "matcher-single"
    /// The network's estimate, then CMA-ES from it (sigma 0.1) for the rest of the budget.
    case estimateCMAES = "estimate-cmaes"
    /// spiegelib's genetic algorithm (`GeneticSearch`).
    case genetic
    /// The parameters of the closest dataset example (`NearestNeighbours`; needs a dataset).
    case nearest
}

/// What one method found for one target.
public struct MethodOutcome: Sendable {
    public var method: MatchMethod
    public var controls: [Float]
    public var audio: [Float]
    public var seconds: Double
    /// Syntheses performed (renders of one item; a gradient step counts one per restart).
    public var evaluations: Int

    /// A method that cannot run here (no model, no dataset to look up): nothing found.
    static func skipped(_ method: MatchMethod) -> MethodOutcome {
        MethodOutcome(method: method, controls: [], audio: [], seconds: 0, evaluations: 0)
    }
}

/// One target as the methods see it: the note (from its onset, at the synth's rate) and what the
/// analysis fixed. Every method gets the same facts: `pinned` values (the tracked f0 and key
/// release, as `match` uses them) are held by all; `starts` seed the gradient methods, which
/// refine them, and are held by the search methods, which explore the other parameters.
public struct EvaluationTarget: Sendable {
    public var samples: [Float]
    public var pinned: [String: Double]
    public var starts: [String: Double]
    public init(samples: [Float], pinned: [String: Double] = [:], starts: [String: Double] = [:]) {
        (self.samples, self.pinned, self.starts) = (samples, pinned, starts)
    }
}

/// Runs the methods on targets at an equal wall-clock budget per target.
public struct MatchEvaluator {
    public let synth: any Synth
    public let estimator: ParameterEstimator?
    /// The indexed dataset the `nearest` method looks up (it is skipped without one).
    public var neighbours: NearestNeighbours?
    public var budget: Double
    /// A cap on synth evaluations per method and target besides the seconds (nil: none), so a
    /// comparison does not depend on the machine's load: a search point is one evaluation, a
    /// gradient step one per restart (its pullback included).
    public var evaluationBudget: Int?
    public var restarts = 4
    public var learningRate = 0.05
    /// The loss the outcomes are scored with.
    public var loss = MultiScaleSpectralLoss.ddsp()
    /// The spectral loss the methods minimise, when it differs from the scoring loss.
    public var searchLoss: MultiScaleSpectralLoss?
    /// Weight of the envelope term every method minimises with it (`MatchOptions.envelopeWeight`).
    public var envelopeWeight = MatchOptions().envelopeWeight

    public init(synth: any Synth, estimator: ParameterEstimator?, budget: Double) {
        self.synth = synth
        self.estimator = estimator
        self.budget = budget
    }

    var layout: ControlLayout { ControlLayout(parameters: synth.parameters, frameCount: 1) }

    /// Normalised values of the target's pinned and start parameters, by index.
    func known(_ target: EvaluationTarget) -> [(Int, Double)] {
        synth.parameters.enumerated().compactMap { q, spec in (target.pinned[spec.name] ?? target.starts[spec.name]).map { (q, spec.normalised($0)) } }
    }

    /// What every method minimises: the matcher's objective (spectral + envelope terms).
    var searchOptions: MatchOptions {
        var options = MatchOptions()
        options.loss = searchLoss ?? loss
        options.envelopeWeight = envelopeWeight
        return options
    }

    /// The search objective of each point (normalised parameters, known values imposed) against the target.
    func objective(_ target: EvaluationTarget) -> ([[Double]]) -> [Double] {
        let (synth, layout, loss, n, known) = (self.synth, self.layout, searchOptions.objective(sampleRate: synth.sampleRate), target.samples.count, self.known(target))
        let samples = target.samples
        return { points in
            var values = points.flatMap { $0.map { Float($0) } }
            let p = layout.parameters.count
            for r in points.indices { for (q, v) in known { values[r * p + q] = Float(v) } }
            let audio = synth.render(Controls(layout: layout, batchSize: points.count, values: values), RenderRequest(sampleCount: n))
            let targets = AudioBatch(batchSize: points.count, sampleCount: n, samples: Array((0..<points.count).map { _ in samples }.joined()))
            return loss.values(audio, targets).map(Double.init)
        }
    }

    public func run(_ method: MatchMethod, target: EvaluationTarget, seed: UInt64 = 0) -> MethodOutcome {
        let start = DispatchTime.now().uptimeNanoseconds
        let p = synth.parameters.count, n = target.samples.count, known = self.known(target)
        var controls: [Float], evaluations: Int
        switch method {
        case .matcher, .gradient, .matcherSingle:
            var options = searchOptions
            options.steps = 1_000_000
            options.timeBudget = budget
            options.restarts = method == .matcherSingle ? 1 : restarts
            if let cap = evaluationBudget { options.steps = max(0, (cap - (method == .gradient ? 0 : 1)) / options.restarts) }
            options.learningRate = learningRate
            options.seed = seed
            options.pinned = target.pinned
            options.starts = target.starts
            let useModel = method == .gradient ? nil : estimator
            if method != .gradient && estimator == nil { options.steps = 0 }
            let result = Matcher.match(target: target.samples, synth: synth, estimator: useModel, options: options)
            controls = result.best.values
            evaluations = result.history.count * options.restarts + (useModel == nil ? 0 : 1)
        case .estimate:
            guard let estimator else { return .skipped(method) }
            controls = estimator.predict(recording: target.samples).values
            evaluations = 0
        case .random:
            let r = RandomSearch.minimise(dimension: p, batchSize: 16, budget: SearchBudget(seconds: budget, evaluations: evaluationBudget), seed: seed, objective: objective(target))
            controls = r.best.map { Float($0) }
            evaluations = r.evaluations
        case .cmaes:
            var mean = [Double](repeating: 0.5, count: p)
            for (q, v) in known { mean[q] = v }
            let r = CMAES.minimise(initialMean: mean, sigma: 0.3, budget: SearchBudget(seconds: budget, evaluations: evaluationBudget),
                                   seed: seed, objective: objective(target))
            controls = r.best.map { Float($0) }
            evaluations = r.evaluations
        case .estimateCMAES:
            guard let estimator else { return .skipped(method) }
            var mean = estimator.predict(recording: target.samples).values.map { Double(min(max($0, 0.01), 0.99)) }
            for (q, v) in known { mean[q] = v }
            let left = max(budget - Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, 0.001)
            let r = CMAES.minimise(initialMean: mean, sigma: 0.1, budget: SearchBudget(seconds: left, evaluations: evaluationBudget.map { max(1, $0 - 1) }), seed: seed, objective: objective(target))
            controls = r.best.map { Float($0) }
            evaluations = r.evaluations
        case .nearest:
            guard let neighbours, neighbours.parameterCount == p else { return .skipped(method) }
            controls = neighbours.nearest(to: target.samples)
            evaluations = 0
        case .genetic:
            let r = GeneticSearch.minimise(dimension: p, budget: SearchBudget(seconds: budget, evaluations: evaluationBudget), seed: seed, objective: objective(target))
            controls = r.best.map { Float($0) }
            evaluations = r.evaluations
        }
        if ![.matcher, .gradient, .matcherSingle].contains(method) { for (q, v) in known { controls[q] = Float(v) } }
        let audio = synth.render(Controls(layout: layout, batchSize: 1, values: controls), RenderRequest(sampleCount: n)).samples
        return MethodOutcome(method: method, controls: controls, audio: audio,
                             seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, evaluations: evaluations)
    }
}
