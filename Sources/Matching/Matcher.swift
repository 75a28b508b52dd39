import DSP
import Foundation
import Synths

/// How to refine an estimate.
public struct MatchOptions: Sendable {
    /// Adam steps per restart (an upper bound when `timeBudget` is set).
    public var steps = 300
    /// Refinements run side by side as one batch: the estimate itself and `restarts - 1`
    /// perturbations of it (random starts without a model).
    public var restarts = 4
    /// Standard deviation of the restarts' perturbation, in normalised units.
    public var perturbation = 0.1
    /// Adam's step on the parameters' logits (chosen by Experiments/tune_matcher_rate on targets
    /// the evaluation never scores: 0.05 beat 0.02 by 8% and matched 0.1).
    public var learningRate = 0.05
    public var seed: UInt64 = 0
    /// Stop refining once this many seconds have passed (wall clock, estimate included).
    public var timeBudget: Double?
    public var loss = MultiScaleSpectralLoss.ddsp()
    /// Physical values held fixed by name (the analysed f0): they replace the estimate's and
    /// are never refined.
    public var pinned: [String: Double] = [:]
    /// Physical starting values by name (the analysed note-off): they replace the estimate's
    /// and are refined like the rest.
    public var starts: [String: Double] = [:]
    public init() {}
}

/// The outcome of matching one target.
public struct MatchResult: Sendable {
    /// Best normalised parameters found (one item).
    public var best: Controls<Float>
    public var bestLoss: Double
    /// The network's estimate and its loss before refinement (nil without a model).
    public var estimate: Controls<Float>?
    public var estimateLoss: Double?
    /// `history[step][restart]`: each restart's loss at each step.
    public var history: [[Float]]
    public var bestRestart: Int
    /// The best parameters rendered.
    public var audio: [Float]
    public var seconds: Double
}

/// Finds synth parameters that sound like a target: the estimator's guess, then gradient
/// descent on the spectral loss through the synth from that guess and from perturbations
/// of it, keeping the best point any restart visited.
public enum Matcher {
    public static func match(target: [Float], synth: any Synth, estimator: ParameterEstimator?,
                             options: MatchOptions = .init()) -> MatchResult {
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        let n = target.count
        let layout = ControlLayout(parameters: synth.parameters, frameCount: 1)
        let p = synth.parameters.count, restarts = max(1, options.restarts)
        // Analysis values, as normalised controls by parameter index.
        let known: [(index: Int, value: Float)] = synth.parameters.enumerated().compactMap { q, spec in
            (options.pinned[spec.name] ?? options.starts[spec.name]).map { (q, Float(spec.normalised($0))) }
        }
        func applyKnown(_ values: inout [Float], item r: Int) { for (q, v) in known { values[r * p + q] = v } }
        var random = CounterRandom(seed: options.seed, index: 0, stream: 5)

        var estimate: Controls<Float>?, estimateLoss: Double?
        var starts = Controls<Float>(zerosFor: layout, batchSize: restarts)
        if let estimator {
            // The network reads its own window from the note's start (zero-padded when shorter).
            let window = estimator.fitted(target)
            var guess = estimator.predict(AudioBatch(batchSize: 1, sampleCount: estimator.sampleCount, samples: window))
            applyKnown(&guess.values, item: 0)
            estimate = guess
            let audio = synth.render(guess, RenderRequest(sampleCount: n))
            estimateLoss = Double(options.loss.values(audio, AudioBatch(batchSize: 1, sampleCount: n, samples: target))[0])
            // Restart 0 is the estimate itself; the others are perturbed, kept off the edges.
            for q in 0..<p { starts.values[q] = guess.values[q] }
            for r in 1..<max(restarts, 1) {
                for q in 0..<p {
                    let u = Double(guess.values[q]) + options.perturbation * random.normal()
                    starts.values[r * p + q] = Float(min(max(u, 0.01), 0.99))
                }
            }
        } else {
            for i in starts.values.indices { starts.values[i] = Float(0.05 + 0.9 * random.unit()) }
        }
        // Pinned values are exact in every restart; analysed starts are exact in restart 0 only
        // (the others keep their perturbation around them when there is an estimate).
        for r in 0..<restarts {
            for (q, v) in known where options.pinned[synth.parameters[q].name] != nil || r == 0 || estimate == nil {
                starts.values[r * p + q] = v
            }
        }

        let targets = AudioBatch(batchSize: restarts, sampleCount: n, samples: Array((0..<restarts).map { _ in target }.joined()))
        let pinned = Set(options.pinned.keys)
        var fit = ControlFit(synth: synth, loss: options.loss, target: targets, initial: starts,
                             trainable: { !pinned.contains($0.name) }, optimiser: Adam(learningRate: options.learningRate))
        var history: [[Float]] = []
        var best = (loss: Float.infinity, restart: 0, values: [Float](starts.values[0..<p]))
        func consider(_ losses: [Float], _ controls: Controls<Float>) {
            for r in 0..<restarts where losses[r] < best.loss {
                best = (losses[r], r, Array(controls.values[(r * p)..<((r + 1) * p)]))
            }
        }
        for _ in 0..<options.steps {
            if let budget = options.timeBudget, elapsed() >= budget { break }
            let before = fit.controls
            let losses = fit.step()
            history.append(losses)
            consider(losses, before)
        }
        let final = fit.controls
        let finalLosses = options.loss.values(synth.render(final, fit.request), targets)
        history.append(finalLosses)
        consider(finalLosses, final)
        if let estimate, let estimateLoss, estimateLoss < Double(best.loss) {
            best = (Float(estimateLoss), 0, estimate.values)
        }
        let bestControls = Controls(layout: layout, batchSize: 1, values: best.values)
        let audio = synth.render(bestControls, RenderRequest(sampleCount: n)).samples
        return MatchResult(best: bestControls, bestLoss: Double(best.loss), estimate: estimate, estimateLoss: estimateLoss,
                           history: history, bestRestart: best.restart, audio: audio, seconds: elapsed())
    }
}
