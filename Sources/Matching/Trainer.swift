import Datasets
import DSP
import Foundation
import Synths

/// How to train the estimator (Masuda & Saito 2023's two stages).
public struct TrainingOptions: Sendable {
    public enum Stage: String, Sendable, Codable, CaseIterable {
        /// Stage 1: mean squared error between predicted and true normalised parameters.
        case parameter
        /// Stage 2: the multi-scale spectral loss, back-propagated through the synth into
        /// the network, on synthetic and (optionally) real audio; plus `parameterWeight`
        /// times the parameter loss on the synthetic items.
        case spectral
    }
    public var stage: Stage = .parameter
    public var steps = 3000
    public var batchSize = 32
    public var learningRate = 1e-3
    public var weightDecay = 1e-4
    public var clipNorm: Double? = 1
    public var warmup = 100
    /// The learning rate decays (cosine) to this fraction of its peak at the last step.
    public var finalFraction = 0.05
    public var parameterWeight = 0.0
    public var validationEvery = 250
    public var checkpointEvery = 250
    /// Validation examples scored at each validation (the first ones of the split).
    public var validationSize = 256
    /// Keep the weights with the lowest validation spectral loss seen (the starting weights
    /// included) instead of the last ones: early stopping for the spectral stage, which can
    /// drift (the loss through the synth is far less convex than the parameter loss).
    public var keepBest = false
    public var seed: UInt64 = 0
    public init() {}
}

/// One row of the training log.
public struct TrainingRecord: Sendable {
    public var step: Int
    public var learningRate: Double
    public var parameterLoss: Double?
    public var spectralLoss: Double?
    public var validationParameterLoss: Double?
    public var validationSpectralLoss: Double?
    /// Mean spectral loss on the held-out recordings (spectral stage with `realValidation`).
    public var validationRealSpectralLoss: Double?
    public var seconds: Double
}

/// Trains a `ParameterEstimator` on a SynthMatch dataset (and a folder of real clips in the
/// spectral stage), with AdamW, warm-up + cosine schedule, global-norm clipping, a CSV log
/// and atomic, resumable checkpoints.
///
/// Data order is a pure function of (seed, step): batch `step` is batch `step % perEpoch` of
/// epoch `step / perEpoch`'s shuffle, so a resumed run sees the batches the uninterrupted
/// run would have.
/// How data-parallel training processes combine their work (`MPIReducer` in `synthmatch` when
/// built with MPI; tests use an in-process one).
public protocol GradientReducer: AnyObject {
    /// This process's number, 0..<size.
    var rank: Int { get }
    var size: Int { get }
    /// Element-wise sum over every process, in place; every process receives the same sums.
    func allReduceSum(_ values: inout [Double]) throws
}

public final class EstimatorTrainer {
    public private(set) var estimator: ParameterEstimator
    public let synth: any Synth
    public let data: DatasetReader
    /// Real recordings (already at the model's rate and length) for the spectral stage.
    public let real: [[Float]]
    /// Held-out recordings: scored at each validation; with them, `keepBest` keeps the
    /// weights that match these best (out-of-domain audio is what the spectral stage is for).
    public let realValidation: [[Float]]
    public let options: TrainingOptions
    public let loss: MultiScaleSpectralLoss
    public private(set) var step = 0
    public private(set) var records: [TrainingRecord] = []
    /// The kept weights and their validation spectral loss (with `keepBest`).
    public private(set) var best: (step: Int, loss: Double, weights: [Float])?
    /// Steps whose gradient was not finite (their update was skipped).
    public private(set) var skippedSteps = 0
    private var consecutiveSkips = 0
    var weights: [Double]
    var optimiser: Adam
    private var epochCache: (epoch: Int, batches: [[Int]])?
    /// Examples in the training split (hashing every index: computed once, not per step).
    private let trainCount: Int
    private lazy var validationRows: [Int] = Array(data.rows(.validation).prefix(options.validationSize))

    public init(estimator: ParameterEstimator, synth: any Synth, data: DatasetReader, real: [[Float]] = [],
                realValidation: [[Float]] = [], options: TrainingOptions, loss: MultiScaleSpectralLoss = .ddsp(),
                resume: Checkpoint.TrainingState? = nil, moments: (m: [Double], v: [Double])? = nil) throws {
        guard data.info.synth == estimator.synthName else {
            throw EstimatorError.incompatible("the dataset holds \(data.info.synth) examples, the model is for \(estimator.synthName)")
        }
        guard data.info.parameterCount == estimator.parameters.count, data.info.sampleCount == estimator.sampleCount,
              data.info.sampleRate == estimator.sampleRate else {
            throw EstimatorError.incompatible("the dataset (\(data.info.parameterCount) parameters, \(data.info.sampleCount) samples at \(data.info.sampleRate) Hz) does not fit the model (\(estimator.parameters.count), \(estimator.sampleCount) at \(estimator.sampleRate) Hz)")
        }
        guard synth.parameters == estimator.parameters else { throw EstimatorError.incompatible("\(synth.name)'s parameters differ from the model's") }
        trainCount = data.rows(.train).count
        guard trainCount >= options.batchSize else {
            throw EstimatorError.incompatible("the dataset's training split has \(trainCount) examples, fewer than one batch of \(options.batchSize)")
        }
        try loss.validate(sampleCount: estimator.sampleCount)
        self.estimator = estimator
        self.synth = synth
        self.data = data
        self.real = real
        self.realValidation = realValidation
        self.options = options
        self.loss = loss
        weights = estimator.weights.map(Double.init)
        optimiser = Adam(learningRate: options.learningRate, weightDecay: options.weightDecay, clipNorm: options.clipNorm)
        if let resume, let moments {
            step = resume.step
            optimiser.state = (resume.optimiserStep, moments.m, moments.v)
        }
        // An empty validation split would score any weights as perfect.
        guard !validationRows.isEmpty else {
            throw EstimatorError.incompatible("\(data.info.path): the validation split is empty (\(data.info.count) examples; about 10% are held out, so give at least 20)")
        }
    }

    var schedule: LearningRateSchedule {
        .warmupCosine(warmup: options.warmup, steps: options.steps, finalFraction: options.finalFraction)
    }

    /// Rows of training batch `step`.
    func batchRows(_ step: Int) -> [Int] {
        let perEpoch = trainCount / options.batchSize
        let epoch = step / perEpoch
        if epochCache?.epoch != epoch {
            epochCache = (epoch, data.batches(.train, batchSize: options.batchSize, epoch: epoch, seed: options.seed, dropLast: true))
        }
        return epochCache!.batches[step % perEpoch]
    }

    /// Data-parallel training (`mpirun -np N synthmatch train`): each process computes its share
    /// of every global batch and `reducer` sums the shares' gradients, so all processes take the
    /// step one process would take on the whole batch (up to the order of float additions).
    /// Nil: one process.
    public var reducer: (any GradientReducer)?

    /// One optimisation step; returns (parameter loss, spectral loss) of the batch before it.
    @discardableResult
    public func trainStep() throws -> (parameter: Double?, spectral: Double?) {
        let (gradient, parameterLoss, spectralLoss) = try batchGradient()
        // A non-finite gradient (a synth or loss overflowing on some extreme prediction) skips
        // the update; many in a row mean training has diverged.
        guard gradient.allSatisfy(\.isFinite) else {
            skippedSteps += 1
            consecutiveSkips += 1
            guard consecutiveSkips < 10 else {
                throw EstimatorError.incompatible("training diverged at step \(step): 10 non-finite gradients in a row (lower the learning rate)")
            }
            step += 1
            return (parameterLoss, spectralLoss)
        }
        consecutiveSkips = 0
        optimiser.learningRate = options.learningRate * schedule.multiplier(step: step)
        optimiser.update(&weights, gradient: gradient)
        estimator.weights = weights.map { Float($0) }
        step += 1
        return (parameterLoss, spectralLoss)
    }

    /// The gradient of this step's global batch (summed across processes with a reducer) and
    /// the batch's losses, without updating anything.
    func batchGradient() throws -> (gradient: [Double], parameter: Double?, spectral: Double?) {
        let rows = batchRows(step)
        let p = estimator.parameters.count, n = estimator.sampleCount
        let globalBatch = rows.count
        // Items [0, labelledTotal) are the dataset's rows; with recordings in stage 2, the last
        // half are real clips chosen by (seed, step).
        var picks: [Int] = []
        if options.stage == .spectral, !real.isEmpty {
            var rng = CounterRandom(seed: options.seed, index: UInt64(step), stream: 3)
            picks = (0..<(globalBatch / 2)).map { _ in Int(rng.next() % UInt64(real.count)) }
        }
        let labelledTotal = globalBatch - picks.count
        // This process's items of the global batch (all of them without a reducer).
        let share: Range<Int>
        if let reducer { share = try Shard(index: reducer.rank, count: reducer.size).range(of: globalBatch) } else { share = 0..<globalBatch }
        let labelledShare = share.lowerBound..<Swift.max(share.lowerBound, Swift.min(share.upperBound, labelledTotal))
        var (params, audio) = try data.read(Array(rows[labelledShare]))
        for item in Swift.max(share.lowerBound, labelledTotal)..<Swift.max(share.upperBound, labelledTotal) {
            audio += real[picks[item - labelledTotal]]
        }
        params.removeLast(params.count - labelledShare.count * p)
        let batch = share.count, labelled = labelledShare.count
        guard batch > 0 else { throw EstimatorError.incompatible("data-parallel training: a batch of \(globalBatch) leaves process \(reducer?.rank ?? 0) nothing; use at most \(globalBatch) processes") }
        let input = AudioBatch(batchSize: batch, sampleCount: n, samples: audio)
        let current = weights.map { Float($0) }
        let (prediction, pullback) = estimator.network.valueWithPullback(estimator.features(input), weights: current)
        var dPrediction = [Float](repeating: 0, count: prediction.values.count)
        var parameterLoss: Double?, spectralLoss: Double?

        // Parameter loss: mean over labelled items and parameters of (y - p)^2; a categorical
        // parameter counts as one parameter scored by the cross-entropy of its choices' scores
        // against its one-of-N code (squared error on a one-of-32 code barely moved them).
        let parameterScale = options.stage == .parameter ? 1.0 : options.parameterWeight
        if parameterScale > 0 || options.stage == .parameter {
            var sum = 0.0
            let o = estimator.outputCount
            let targets = estimator.outputTargets(Array(params[0..<(labelled * p)]), batchSize: labelled)
            let isChoice = estimator.choiceOutputs
            let scale = Float(parameterScale / Double(labelledTotal * p))
            for i in 0..<(labelled * o) {
                let y = prediction.values[i], t = targets[i]
                if isChoice[i % o] {
                    let c = Swift.min(Swift.max(y, 1e-7), 1 - 1e-7)
                    sum -= Double(t * log(c) + (1 - t) * log(1 - c))
                    dPrediction[i] += scale * (y - t) / (c * (1 - c))
                } else {
                    sum += Double((y - t) * (y - t))
                    dPrediction[i] += scale * 2 * (y - t)
                }
            }
            parameterLoss = sum
        }
        if options.stage == .spectral {
            let controls = estimator.controls(fromOutputs: prediction.values, batchSize: batch)
            let (rendered, synthPullback) = synth.valueWithPullback(controls, RenderRequest(sampleCount: n))
            let (values, dAudio) = loss.valuesWithGradient(rendered, input)
            spectralLoss = values.reduce(0.0) { $0 + Double($1) }
            var dAudioMean = dAudio
            let inverseBatch = 1 / Float(globalBatch)
            for i in dAudioMean.samples.indices { dAudioMean.samples[i] *= inverseBatch }
            let dOutputs = estimator.outputGradient(fromControls: synthPullback(dAudioMean).values, batchSize: batch)
            for i in dPrediction.indices { dPrediction[i] += dOutputs[i] }
        }
        var gradient = pullback(Tensor(shape: prediction.shape, values: dPrediction)).weights
        if let reducer {
            // The shares' gradients and loss sums, added up across processes in one call.
            gradient += [parameterLoss ?? 0, spectralLoss ?? 0]
            try reducer.allReduceSum(&gradient)
            if parameterLoss != nil { parameterLoss = gradient[gradient.count - 2] }
            if spectralLoss != nil { spectralLoss = gradient[gradient.count - 1] }
            gradient.removeLast(2)
        }
        parameterLoss = parameterLoss.map { $0 / Double(labelledTotal * p) }
        spectralLoss = spectralLoss.map { $0 / Double(globalBatch) }
        return (gradient, parameterLoss, spectralLoss)
    }

    /// Mean spectral loss of the estimator's matches to the held-out recordings (nil without).
    public func validateReal() -> Double? {
        guard !realValidation.isEmpty else { return nil }
        let n = estimator.sampleCount
        let input = AudioBatch(batchSize: realValidation.count, sampleCount: n, samples: Array(realValidation.joined()))
        let rendered = synth.render(estimator.predict(input), RenderRequest(sampleCount: n))
        return loss.values(rendered, input).reduce(0.0) { $0 + Double($1) } / Double(realValidation.count)
    }

    /// What `keepBest` minimises: the held-out recordings' spectral loss if there are any,
    /// else the synthetic validation spectral loss.
    func selectionLoss(_ synthetic: Double, _ real: Double?) -> Double { real ?? synthetic }

    /// Mean parameter MSE and mean spectral loss of the estimator on the validation rows.
    public func validate() throws -> (parameter: Double, spectral: Double) {
        var parameterSum = 0.0, spectralSum = 0.0, count = 0
        let p = estimator.parameters.count, n = estimator.sampleCount
        var start = 0
        while start < validationRows.count {
            let rows = Array(validationRows[start..<min(start + 64, validationRows.count)])
            start += rows.count
            let (params, audio) = try data.read(rows)
            let input = AudioBatch(batchSize: rows.count, sampleCount: n, samples: audio)
            let predicted = estimator.predict(input)
            for i in 0..<(rows.count * p) { let e = Double(predicted.values[i] - params[i]); parameterSum += e * e }
            let rendered = synth.render(predicted, RenderRequest(sampleCount: n))
            spectralSum += loss.values(rendered, input).reduce(0.0) { $0 + Double($1) }
            count += rows.count
        }
        return (parameterSum / Double(max(count * p, 1)), spectralSum / Double(max(count, 1)))
    }

    /// Trains to `options.steps`, validating, logging and checkpointing on the way.
    public func train(checkpoint path: String, log logPath: String, progress: Bool = true) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        var bar = ProgressBar("train \(options.stage.rawValue)", total: options.steps)
        var recent: [(Double?, Double?)] = []
        if options.keepBest && best == nil {
            let v = try validate(), r = validateReal()
            best = (step, selectionLoss(v.spectral, r), estimator.weights)
            records.append(TrainingRecord(step: step, learningRate: 0, parameterLoss: nil, spectralLoss: nil,
                                          validationParameterLoss: v.parameter, validationSpectralLoss: v.spectral,
                                          validationRealSpectralLoss: r, seconds: 0))
        }
        while step < options.steps {
            let losses = try trainStep()
            recent.append(losses)
            let last = step == options.steps
            if step % options.validationEvery == 0 || last {
                let v = try validate(), r = validateReal()
                func mean(_ xs: [Double?]) -> Double? { let c = xs.compactMap { $0 }; return c.isEmpty ? nil : c.reduce(0, +) / Double(c.count) }
                records.append(TrainingRecord(step: step, learningRate: optimiser.learningRate, parameterLoss: mean(recent.map(\.0)),
                                              spectralLoss: mean(recent.map(\.1)), validationParameterLoss: v.parameter,
                                              validationSpectralLoss: v.spectral, validationRealSpectralLoss: r,
                                              seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
                recent.removeAll()
                let selected = selectionLoss(v.spectral, r)
                if options.keepBest, selected < best?.loss ?? .infinity { best = (step, selected, estimator.weights) }
            }
            if last, options.keepBest, let best { estimator.weights = best.weights }
            // Every process holds the same weights; only the first writes them and the log.
            if step % options.checkpointEvery == 0 || last, (reducer?.rank ?? 0) == 0 {
                try saveCheckpoint(path)
                try writeLog(logPath)
            }
            if progress, (reducer?.rank ?? 0) == 0 {
                let note = records.last.map { String(format: "val param %.4f spectral %.3f", $0.validationParameterLoss ?? .nan, $0.validationSpectralLoss ?? .nan) } ?? ""
                bar.update(step, note: note)
            }
        }
    }

    public func saveCheckpoint(_ path: String) throws {
        let state = optimiser.state
        try Checkpoint.save(estimator, to: path, training: (Checkpoint.TrainingState(stage: options.stage.rawValue, step: step, seed: options.seed,
                                                                                     optimiserStep: state.step), state.m, state.v))
    }

    /// The log so far (`previous` lines from a resumed run are kept up to their step).
    public var previousLog: [String] = []

    public func writeLog(_ path: String) throws {
        var csv = CSVWriter(path: path, header: ["stage", "step", "learning_rate", "parameter_loss", "spectral_loss",
                                                 "validation_parameter_loss", "validation_spectral_loss", "validation_real_spectral_loss", "seconds"])
        for line in previousLog { csv.row([line]) }
        for r in records {
            func f(_ x: Double?) -> String { x.map { String(format: "%.7g", $0) } ?? "" }
            csv.row([options.stage.rawValue, r.step, f(r.learningRate), f(r.parameterLoss), f(r.spectralLoss),
                     f(r.validationParameterLoss), f(r.validationSpectralLoss), f(r.validationRealSpectralLoss), String(format: "%.2f", r.seconds)])
        }
        try csv.finish()
    }
}
