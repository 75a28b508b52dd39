import DSP
import RealModule
import Synths

/// Fits a synth's controls to target audio by gradient descent on a loss: the core of
/// per-target refinement, and of the DDSP seed experiments.
///
/// Controls are reparameterised as `u = sigmoid(z)` and Adam moves `z`, so they stay in
/// (0, 1) without clamping (for DDSP's `exp_sigmoid` parameters `z` is exactly DDSP's
/// logit). Parameters can be frozen (e.g. a known f0), and `tieFrames` keeps every frame
/// of a parameter equal (a static tone: its gradient is the sum over frames).
public struct ControlFit {
    public let synth: any Synth
    public let loss: any AudioLoss
    public let target: AudioBatch<Float>
    public let request: RenderRequest
    public let layout: ControlLayout
    public let tieFrames: Bool
    /// Per control value: whether it is optimised.
    public let trainable: [Bool]
    public private(set) var logits: [Double]
    public var optimiser: Adam
    /// Scales the optimiser's base learning rate per step.
    public var schedule: LearningRateSchedule
    private let baseLearningRate: Double
    /// Per control value: a multiplier on Adam's step. Adam is invariant to the scale of
    /// a gradient, so a per-parameter learning rate has to scale the step itself.
    public let learningRateScale: [Double]

    public init(synth: any Synth, loss: any AudioLoss, target: AudioBatch<Float>, initial: Controls<Float>,
                trainable isTrainable: (ParameterSpec) -> Bool = { _ in true },
                learningRateScale rateScale: (ParameterSpec) -> Double = { _ in 1 }, tieFrames: Bool = false,
                optimiser: Adam = Adam(learningRate: 0.05), schedule: LearningRateSchedule = .constant,
                noiseKeys: [UInt64]? = nil) {
        precondition(initial.batchSize == target.batchSize, "control fit: \(initial.batchSize) control rows for \(target.batchSize) targets")
        self.synth = synth
        self.loss = loss
        self.target = target
        self.layout = initial.layout
        self.request = RenderRequest(sampleCount: target.sampleCount, noiseKeys: noiseKeys)
        self.tieFrames = tieFrames
        var mask = [Bool](repeating: false, count: initial.values.count)
        for b in 0..<initial.batchSize {
            for (p, spec) in layout.parameters.enumerated() where isTrainable(spec) {
                for f in 0..<layout.count(p) { mask[initial.index(item: b, parameter: p, frame: f)] = true }
            }
        }
        trainable = mask
        var scales = [Double](repeating: 1, count: initial.values.count)
        for b in 0..<initial.batchSize {
            for (p, spec) in layout.parameters.enumerated() {
                for f in 0..<layout.count(p) { scales[initial.index(item: b, parameter: p, frame: f)] = rateScale(spec) }
            }
        }
        learningRateScale = scales
        logits = initial.values.map { u in
            let c = min(max(Double(u), 1e-6), 1 - 1e-6)
            return Double.log(c / (1 - c))
        }
        self.optimiser = optimiser
        self.schedule = schedule
        self.baseLearningRate = optimiser.learningRate
    }

    /// The current controls, `sigmoid(z)`.
    public var controls: Controls<Float> {
        Controls(layout: layout, batchSize: target.batchSize, values: logits.map { Float(1 / (1 + Double.exp(-$0))) })
    }

    /// Renders the current controls.
    public func render() -> AudioBatch<Float> { synth.render(controls, request) }

    /// One Adam step; returns each item's loss before the step.
    @discardableResult
    public mutating func step() -> [Float] {
        let current = controls
        let (audio, pullback) = synth.valueWithPullback(current, request)
        let (values, dAudio) = loss.valuesWithGradient(audio, target)
        let dControls = pullback(dAudio)
        var gradient = [Double](repeating: 0, count: logits.count)
        for i in gradient.indices {
            let u = Double(current.values[i])
            gradient[i] = Double(dControls.values[i]) * u * (1 - u)   // du/dz = u (1 - u)
            // A gradient that overflowed (chaotic FM feedback multiplies it every sample) keeps
            // its sign at a large finite size, and a NaN one is 0: Adam normalises the step, so
            // the controls keep moving instead of turning into NaN.
            if !gradient[i].isFinite { gradient[i] = gradient[i].isNaN ? 0 : (gradient[i] > 0 ? 1e150 : -1e150) }
        }
        if tieFrames {
            for b in 0..<target.batchSize {
                for p in layout.parameters.indices where layout.count(p) > 1 {
                    let start = current.index(item: b, parameter: p, frame: 0), count = layout.count(p)
                    let total = gradient[start..<(start + count)].reduce(0, +)
                    for f in 0..<count { gradient[start + f] = total }
                }
            }
        }
        let before = logits
        optimiser.learningRate = baseLearningRate * schedule.multiplier(step: optimiser.step)
        optimiser.update(&logits, gradient: gradient, mask: trainable)
        for i in logits.indices where learningRateScale[i] != 1 {
            logits[i] = before[i] + learningRateScale[i] * (logits[i] - before[i])
        }
        return values
    }
}
