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
    /// A normalised point to start from instead of the network's estimate (restart 0 exactly,
    /// the others perturbed around it); the result is never worse than it.
    public var initial: [Float]?
    /// For modules with operator frequency ratios (`opN_ratio`, FM): keep the match harmonic, so
    /// it sounds at the target's note. Operator detunes are held at 0; after two thirds of the
    /// steps the ratios are rounded to whole numbers 1...16 (divided by their greatest common
    /// divisor over the audible operators, so the fundamental is the note's f0 and not a
    /// multiple of it), and the last third refines the rest with the ratios held. Without it,
    /// continuous ratios drift to inharmonic, bell-like matches (issue 13: 3 of 18 GM notes at
    /// the right pitch).
    public var harmonicRatios = true
    /// Weight of the envelope term (`EnvelopeLoss`, dB per 10 ms frame) added to `loss` in what
    /// the refinement minimises (`objective(sampleRate:)`): the spectral loss alone leaves a
    /// note's decay and release loose (issue 13). Chosen by Experiments/tune_envelope_weight on
    /// 12 notes of the training instruments: weights 0 / 0.1 / 0.3 / 1 gave mean envelope
    /// correlations 0.85 / 0.88 / 0.93 / 0.96 (subtractive) and 0.90 / 0.94 / 0.95 / 0.98 (FM)
    /// for spectral losses 8.67 / 8.99 / 9.36 / 10.48 and 9.76 / 10.04 / 9.55 / 11.82: 0.3 gets
    /// most of the contour for a small spectral cost.
    public var envelopeWeight = 0.3
    /// For a module with a categorical parameter (the `dx7` module's algorithm) and an estimator:
    /// restarts 0, 1, ... start from the estimate with this many different choices (at most
    /// `restarts`; see `Matcher.likeliestChoices`); the rest perturb restart 0. A choice has no
    /// gradient, so each restart keeps its own and the best restart picks it.
    public var choices = 3
    /// Extra starting points (normalised), used exactly by restarts 1, 2, ... (before any
    /// perturbed ones).
    var alternatives: [[Float]] = []
    /// Parameters never refined that keep each restart's own starting value (unlike `pinned`,
    /// one value for all): the whole-number ratios of each restart's candidate.
    var held: Set<String> = []
    public init() {}

    /// The refinement's loss at a synth rate: `loss` plus `envelopeWeight` x the envelope loss.
    public func objective(sampleRate: Double) -> MatchObjective {
        MatchObjective(spectral: loss, envelope: EnvelopeLoss(frameLength: Swift.max(1, Int((0.01 * sampleRate).rounded()))),
                       envelopeWeight: envelopeWeight)
    }
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
    /// Each restart's best loss and point (restart order).
    public var restartBests: [(loss: Double, values: [Float])] = []
    /// Adam steps taken (fewer than asked when the time budget ran out).
    public var stepsTaken = 0
}

/// Finds synth parameters that sound like a target: the estimator's guess, then gradient
/// descent on the spectral loss through the synth from that guess and from perturbations
/// of it, keeping the best point any restart visited.
public enum Matcher {
    public static func match(target: [Float], synth: any Synth, estimator: ParameterEstimator?,
                             options: MatchOptions = .init()) -> MatchResult {
        let specs = synth.parameters
        let ratios = specs.indices.filter { HarmonicRatios.isRatio(specs[$0].name) }
        guard options.harmonicRatios, !ratios.isEmpty else { return refine(target: target, synth: synth, estimator: estimator, options: options) }
        var first = options
        for spec in specs where spec.name.hasPrefix("op") && spec.name.hasSuffix("_detune") && first.pinned[spec.name] == nil {
            first.pinned[spec.name] = 0
        }
        first.steps = options.steps * 2 / 3
        first.timeBudget = options.timeBudget.map { $0 * 2 / 3 }
        let a = refine(target: target, synth: synth, estimator: estimator, options: first)

        // Whole-number ratios. When the rounded point sounds at a multiple of the note (its odd
        // partials too weak: an octave or a twelfth up), the same ratios divided by that multiple
        // start other restarts, so that one with the fundamental at the note can win.
        let f0 = options.pinned["f0"]
        let snapped = HarmonicRatios.snap(a.best.values, specs: specs)
        var candidates = [snapped]
        if let f0, let heard = HarmonicRatios.heardPitch(of: HarmonicRatios.render(snapped, synth: synth, sampleCount: target.count), sampleRate: synth.sampleRate),
           !HarmonicRatios.isNote(heard, f0) {
            let multiple = Int((heard / f0).rounded())
            for d in Set([multiple, 2, 3]).sorted() where d >= 2 {
                let c = HarmonicRatios.snap(a.best.values, specs: specs, dividedBy: Double(d))
                if !candidates.contains(c) { candidates.append(c) }
            }
        }
        var second = first
        second.steps = options.steps - first.steps
        second.timeBudget = options.timeBudget.map { Swift.max(0, $0 - a.seconds) }
        second.held = Set(ratios.map { specs[$0].name })
        second.initial = snapped
        second.alternatives = Array(candidates.dropFirst().prefix(Swift.max(0, options.restarts - 1)))
        var b = refine(target: target, synth: synth, estimator: nil, options: second)
        // The lowest loss among the restarts whose best point sounds at the note (the lowest
        // overall when none does, or when the target has no pitch).
        if let f0, b.restartBests.count > 1 {
            for (loss, values) in b.restartBests.sorted(by: { $0.loss < $1.loss }) {
                // The best point is rendered already (`b.audio`).
                let audio = values == b.best.values ? b.audio : HarmonicRatios.render(values, synth: synth, sampleCount: target.count)
                guard let heard = HarmonicRatios.heardPitch(of: audio, sampleRate: synth.sampleRate), HarmonicRatios.isNote(heard, f0) else { continue }
                if values != b.best.values {
                    b.best = Controls(layout: b.best.layout, batchSize: 1, values: values)
                    b.bestLoss = loss
                    b.audio = audio
                }
                break
            }
        }
        return MatchResult(best: b.best, bestLoss: b.bestLoss, estimate: a.estimate, estimateLoss: a.estimateLoss,
                           history: a.history + b.history, bestRestart: b.bestRestart, audio: b.audio, seconds: a.seconds + b.seconds,
                           restartBests: b.restartBests, stepsTaken: a.stepsTaken + b.stepsTaken)
    }

    /// The choices of categorical parameter `q` the restarts start from: the estimate `values`
    /// played with every choice (one batch: cheap next to a refinement step) ranked by the
    /// objective, the best first, and the estimate's own choice (the network's likeliest) always
    /// among the `count`. Measured on
    /// Dexed's renders of random voices, the shipped network ranks the true DX7 algorithm no
    /// better than chance (results/dx7/estimator-summary.txt), so what the estimate sounds like
    /// with each algorithm decides the first starts.
    static func likeliestChoices(of q: Int, at values: [Float], target: [Float], synth: any Synth,
                                 objective: MatchObjective, count: Int) -> [Int] {
        let spec = synth.parameters[q], choices = spec.choiceCount!, p = synth.parameters.count, n = target.count
        var batch = Controls<Float>(layout: ControlLayout(parameters: synth.parameters, frameCount: 1), batchSize: choices,
                                    values: Array((0..<choices).map { _ in values }.joined()))
        for c in 0..<choices { batch.values[c * p + q] = Float(spec.normalised(choice: c)) }
        let targets = AudioBatch(batchSize: choices, sampleCount: n, samples: Array((0..<choices).map { _ in target }.joined()))
        let losses = objective.values(synth.render(batch, RenderRequest(sampleCount: n)), targets).map { $0.isNaN ? Float.infinity : $0 }
        let byLoss = (0..<choices).sorted { losses[$0] < losses[$1] || (losses[$0] == losses[$1] && $0 < $1) }
        let network = spec.choice(Double(values[q]))
        var picks = Array(byLoss.prefix(Swift.max(1, count)))
        if picks.count > 1, !picks.contains(network) { picks[picks.count - 1] = network }
        return picks
    }

    /// Gradient refinement from the estimate (or `options.initial`, or random points).
    static func refine(target: [Float], synth: any Synth, estimator: ParameterEstimator?, options: MatchOptions) -> MatchResult {
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        let n = target.count
        let layout = ControlLayout(parameters: synth.parameters, frameCount: 1)
        let p = synth.parameters.count, restarts = max(1, options.restarts)
        let objective = options.objective(sampleRate: synth.sampleRate)
        // Analysis values, as normalised controls by parameter index.
        let known: [(index: Int, value: Float)] = synth.parameters.enumerated().compactMap { q, spec in
            (options.pinned[spec.name] ?? options.starts[spec.name]).map { (q, Float(spec.normalised($0))) }
        }
        func applyKnown(_ values: inout [Float], item r: Int) { for (q, v) in known { values[r * p + q] = v } }
        var random = CounterRandom(seed: options.seed, index: 0, stream: 5)

        var estimate: Controls<Float>?, estimateLoss: Double?
        var starts = Controls<Float>(zerosFor: layout, batchSize: restarts)
        var centre: Controls<Float>?
        if let initial = options.initial {
            centre = Controls(layout: layout, batchSize: 1, values: initial)
        } else if let estimator {
            // The network reads its own window from the note's start (zero-padded when shorter).
            centre = estimator.predict(recording: target)
        }
        // Categorical parameters are never refined: each restart keeps its own choice.
        let categorical = Set(synth.parameters.filter { $0.choiceCount != nil }.map(\.name))
        var alternatives = options.alternatives
        if var guess = centre {
            applyKnown(&guess.values, item: 0)
            estimate = guess
            if options.initial == nil, alternatives.isEmpty, let estimator, estimator.parameters == synth.parameters,
               let q = synth.parameters.firstIndex(where: { $0.choiceCount != nil }) {
                let picks = likeliestChoices(of: q, at: guess.values, target: target, synth: synth,
                                             objective: objective, count: Swift.min(options.choices, restarts))
                for (i, choice) in picks.enumerated() {
                    var values = guess.values
                    values[q] = Float(synth.parameters[q].normalised(choice: choice))
                    if i == 0 { guess.values = values; estimate = guess } else { alternatives.append(values) }
                }
            }
            let audio = synth.render(guess, RenderRequest(sampleCount: n))
            estimateLoss = Double(objective.values(audio, AudioBatch(batchSize: 1, sampleCount: n, samples: target))[0])
            // Restart 0 is the estimate itself; the others are perturbed, kept off the edges.
            for q in 0..<p { starts.values[q] = guess.values[q] }
            for r in 1..<max(restarts, 1) {
                if r <= alternatives.count { starts.values.replaceSubrange((r * p)..<((r + 1) * p), with: alternatives[r - 1]); continue }
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
        // Held values keep restart 0's (its candidate's) in the perturbed restarts; random
        // starts keep their own.
        let held = synth.parameters.indices.filter { options.held.union(categorical).contains(synth.parameters[$0].name) }
        if centre != nil {
            for r in (1 + alternatives.count)..<max(restarts, 1 + alternatives.count) {
                for q in held { starts.values[r * p + q] = starts.values[q] }
            }
        }

        let pinned = Set(options.pinned.keys).union(options.held).union(categorical)
        var fit = ControlFit(synth: synth, loss: objective, target: targets, initial: starts,
                             trainable: { !pinned.contains($0.name) }, optimiser: Adam(learningRate: options.learningRate))
        var history: [[Float]] = []
        var best = (loss: Float.infinity, restart: 0, values: [Float](starts.values[0..<p]))
        var restartBests = (0..<restarts).map { r in (loss: Double.infinity, values: Array(starts.values[(r * p)..<((r + 1) * p)])) }
        func consider(_ losses: [Float], _ controls: Controls<Float>) {
            for r in 0..<restarts where Double(losses[r]) < restartBests[r].loss {
                restartBests[r] = (Double(losses[r]), Array(controls.values[(r * p)..<((r + 1) * p)]))
                if losses[r] < best.loss { best = (losses[r], r, restartBests[r].values) }
            }
        }
        var taken = 0
        for _ in 0..<options.steps {
            if let budget = options.timeBudget, elapsed() >= budget { break }
            taken += 1
            let before = fit.controls
            let losses = fit.step()
            history.append(losses)
            consider(losses, before)
        }
        let final = fit.controls
        let finalLosses = objective.values(synth.render(final, fit.request), targets)
        history.append(finalLosses)
        consider(finalLosses, final)
        if let estimate, let estimateLoss, estimateLoss < Double(best.loss) {
            best = (Float(estimateLoss), 0, estimate.values)
            restartBests[0] = (estimateLoss, estimate.values)
        }
        let bestControls = Controls(layout: layout, batchSize: 1, values: best.values)
        let audio = synth.render(bestControls, RenderRequest(sampleCount: n)).samples
        return MatchResult(best: bestControls, bestLoss: Double(best.loss), estimate: estimate, estimateLoss: estimateLoss,
                           history: history, bestRestart: best.restart, audio: audio, seconds: elapsed(), restartBests: restartBests,
                           stepsTaken: taken)
    }
}

/// Whole-number operator ratios (see `MatchOptions.harmonicRatios`).
enum HarmonicRatios {
    static func isRatio(_ name: String) -> Bool { name.hasPrefix("op") && name.hasSuffix("_ratio") }

    /// `values` (normalised) with every `opN_ratio` divided by `divisor` and rounded to a whole
    /// number in 1...16, then divided by the ratios' greatest common divisor over operators whose
    /// level is above 0.01.
    static func snap(_ values: [Float], specs: [ParameterSpec], dividedBy divisor: Double = 1) -> [Float] {
        var out = values
        var ratios: [(index: Int, ratio: Int, audible: Bool)] = []
        for (q, spec) in specs.enumerated() where isRatio(spec.name) {
            let r = Int(Swift.min(Swift.max((spec.physical(Double(values[q])) / divisor).rounded(), 1), 16))
            let op = spec.name.dropLast("_ratio".count)
            let level = specs.firstIndex { $0.name == op + "_level" }.map { specs[$0].physical(Double(values[$0])) } ?? 1
            ratios.append((q, r, level > 0.01))
        }
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let g = ratios.filter(\.audible).map(\.ratio).reduce(0, gcd)
        for (q, r, _) in ratios {
            let whole = g > 1 && r % g == 0 ? r / g : r
            out[q] = Float(specs[q].normalised(Double(whole)))
        }
        return out
    }

    /// One point (normalised, one item) rendered.
    static func render(_ values: [Float], synth: any Synth, sampleCount: Int) -> [Float] {
        let layout = ControlLayout(parameters: synth.parameters, frameCount: 1)
        return synth.render(Controls(layout: layout, batchSize: 1, values: values), RenderRequest(sampleCount: sampleCount)).samples
    }

    /// The pitch a listener (the YIN tracker of `NoteAnalysis`, as the evaluation measures it)
    /// hears in `audio`, or nil when it has none.
    static func heardPitch(of audio: [Float], sampleRate: Double) -> Double? {
        (try? NoteAnalysis.analyse(audio, sampleRate: sampleRate))?.f0
    }

    /// Within 50 cents of the note (the evaluation's "right note").
    static func isNote(_ heard: Double, _ f0: Double) -> Bool { Swift.abs(1200 * Double.log2(heard / f0)) < 50 }
}
