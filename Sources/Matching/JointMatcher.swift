import DSP
import Foundation
import Synths

/// One preset for several notes of one instrument: the timbre and envelope parameters are
/// shared, each note keeps its own pitch and key release (`pinned`, from its analysis), and the
/// loss is the mean of the notes' losses (`MatchOptions.objective`), so the preset holds up across the keyboard
/// instead of fitting one pitch.
///
/// Every restart renders all notes as one batch (restarts x notes items) at the longest note's
/// length, the shorter targets padded with silence (a sound that outlasts its target is
/// penalised, as it would be heard). The gradient of the shared logits is the sum over notes of
/// each item's gradient; pinned parameters are never moved.
public enum JointMatcher {
    public struct Note: Sendable {
        public var samples: [Float]
        /// Physical values this note holds (f0, note_off).
        public var pinned: [String: Double]
        public init(samples: [Float], pinned: [String: Double]) { (self.samples, self.pinned) = (samples, pinned) }
    }

    public struct Result: Sendable {
        /// Shared normalised parameters (pinned ones as in the first note).
        public var best: [Float]
        /// Mean spectral loss over notes of the best point, and each note's loss there.
        public var bestLoss: Double
        public var noteLosses: [Double]
        /// Each note rendered with the shared preset and its own pinned values, at its own length.
        public var audio: [[Float]]
        public var history: [[Float]]
        public var seconds: Double
    }

    /// With `options.harmonicRatios` and a module with operator ratios, the same two phases as
    /// `Matcher.match`: detunes held at 0, ratios made whole numbers after two thirds of the steps.
    public static func match(notes: [Note], synth: any Synth, estimator: ParameterEstimator?, options: MatchOptions) -> Result {
        let specs = synth.parameters
        let ratios = specs.indices.filter { HarmonicRatios.isRatio(specs[$0].name) }
        guard options.harmonicRatios, !ratios.isEmpty else { return refine(notes: notes, synth: synth, estimator: estimator, options: options) }
        var held = notes
        for j in held.indices {
            for spec in specs where spec.name.hasPrefix("op") && spec.name.hasSuffix("_detune") && held[j].pinned[spec.name] == nil {
                held[j].pinned[spec.name] = 0
            }
        }
        var first = options
        first.steps = options.steps * 2 / 3
        first.timeBudget = options.timeBudget.map { $0 * 2 / 3 }
        let a = refine(notes: held, synth: synth, estimator: estimator, options: first)
        let snapped = HarmonicRatios.snap(a.best, specs: specs)
        for j in held.indices { for q in ratios { held[j].pinned[specs[q].name] = specs[q].physical(Double(snapped[q])) } }
        var second = first
        second.steps = options.steps - first.steps
        second.timeBudget = options.timeBudget.map { Swift.max(0, $0 - a.seconds) }
        second.initial = snapped
        var b = refine(notes: held, synth: synth, estimator: nil, options: second)
        b.history = a.history + b.history
        b.seconds += a.seconds
        return b
    }

    static func refine(notes: [Note], synth: any Synth, estimator: ParameterEstimator?, options: MatchOptions) -> Result {
        precondition(!notes.isEmpty, "joint matcher: no notes")
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        let specs = synth.parameters, p = specs.count, k = notes.count, restarts = max(1, options.restarts)
        let objective = options.objective(sampleRate: synth.sampleRate)
        let n = notes.map(\.samples.count).max()!
        let layout = ControlLayout(parameters: specs, frameCount: 1)
        let pinnedNames = Set(notes.flatMap { $0.pinned.keys })
        let perNote: [[(Int, Float)]] = notes.map { note in
            specs.enumerated().compactMap { q, spec in note.pinned[spec.name].map { (q, Float(spec.normalised($0))) } }
        }

        // Starts: the mean of the notes' estimates (or random points), perturbed for restarts > 0.
        var random = CounterRandom(seed: options.seed, index: 0, stream: 6)
        var centre = [Double](repeating: 0.5, count: p)
        let guided = estimator != nil || options.initial != nil
        if let initial = options.initial {
            centre = initial.map(Double.init)
        } else if let estimator {
            var sum = [Double](repeating: 0, count: p)
            for note in notes {
                let guess = estimator.predict(recording: note.samples)
                for q in 0..<p { sum[q] += Double(guess.values[q]) / Double(k) }
            }
            centre = sum
        }
        var logits = [Double](repeating: 0, count: restarts * p)
        for r in 0..<restarts {
            for q in 0..<p {
                var u = guided ? centre[q] : 0.05 + 0.9 * random.unit()
                if r > 0, guided { u += options.perturbation * random.normal() }
                u = min(max(u, 0.01), 0.99)
                logits[r * p + q] = Double.log(u / (1 - u))
            }
        }
        let mask = (0..<(restarts * p)).map { !pinnedNames.contains(specs[$0 % p].name) }
        var adam = Adam(learningRate: options.learningRate)
        var targetSamples = [Float](repeating: 0, count: restarts * k * n)
        for r in 0..<restarts { for (j, note) in notes.enumerated() {
            let base = (r * k + j) * n
            for (i, x) in note.samples.enumerated() { targetSamples[base + i] = x }
        } }
        let targets = AudioBatch(batchSize: restarts * k, sampleCount: n, samples: targetSamples)
        let request = RenderRequest(sampleCount: n)

        func controls(_ logits: [Double]) -> Controls<Float> {
            var values = [Float](repeating: 0, count: restarts * k * p)
            for r in 0..<restarts { for j in 0..<k {
                let row = (r * k + j) * p
                for q in 0..<p { values[row + q] = Float(1 / (1 + Double.exp(-logits[r * p + q]))) }
                for (q, v) in perNote[j] { values[row + q] = v }
            } }
            return Controls(layout: layout, batchSize: restarts * k, values: values)
        }
        func means(_ itemLosses: [Float]) -> [Float] {
            (0..<restarts).map { r in itemLosses[(r * k)..<((r + 1) * k)].reduce(0, +) / Float(k) }
        }

        var history: [[Float]] = []
        var best = (loss: Float.infinity, logits: Array(logits[0..<p]))
        func consider(_ losses: [Float], _ at: [Double]) {
            for r in 0..<restarts where losses[r] < best.loss { best = (losses[r], Array(at[(r * p)..<((r + 1) * p)])) }
        }
        for _ in 0..<options.steps {
            if let budget = options.timeBudget, elapsed() >= budget { break }
            let current = controls(logits)
            let (audio, pullback) = synth.valueWithPullback(current, request)
            let (values, dAudio) = objective.valuesWithGradient(audio, targets)
            let dControls = pullback(dAudio)
            var gradient = [Double](repeating: 0, count: restarts * p)
            for r in 0..<restarts { for j in 0..<k { for q in 0..<p {
                let i = (r * k + j) * p + q, u = Double(current.values[i])
                gradient[r * p + q] += Double(dControls.values[i]) * u * (1 - u) / Double(k)
            } } }
            let losses = means(values)
            history.append(losses)
            consider(losses, logits)
            adam.update(&logits, gradient: gradient, mask: mask)
        }
        let final = means(objective.values(synth.render(controls(logits), request), targets))
        history.append(final)
        consider(final, logits)

        // The best shared point, each note at its own length.
        var shared = best.logits.map { Float(1 / (1 + Double.exp(-$0))) }
        for (q, v) in perNote[0] { shared[q] = v }
        var audio: [[Float]] = [], noteLosses: [Double] = []
        for (j, note) in notes.enumerated() {
            var values = shared
            for (q, v) in perNote[j] { values[q] = v }
            let m = note.samples.count
            let rendered = synth.render(Controls(layout: layout, batchSize: 1, values: values), RenderRequest(sampleCount: m)).samples
            audio.append(rendered)
            noteLosses.append(Double(objective.values(AudioBatch(batchSize: 1, sampleCount: m, samples: rendered),
                                                         AudioBatch(batchSize: 1, sampleCount: m, samples: note.samples))[0]))
        }
        return Result(best: shared, bestLoss: Double(best.loss), noteLosses: noteLosses, audio: audio, history: history, seconds: elapsed())
    }
}
