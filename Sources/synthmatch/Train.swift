import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import Synths

/// `synthmatch train`: the estimator's two training stages on a generated dataset.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a parameter estimator: parameter-loss pretraining, then spectral-loss fine-tuning through the synth.",
        discussion: """
            Stage 1 (--steps) fits the network to the dataset's parameters; stage 2 (--spectral-steps) back-propagates the
            multi-scale spectral loss through the synth, on the dataset's audio and, with --real, on recordings (half of
            each batch), and keeps the weights with the best validation spectral loss (its starting weights included), on
            recordings held out from --real (every 10th by name) when given, else on the dataset's validation split. The model is checkpointed to --out every --checkpoint-every steps (atomically) and a CSV log
            is written beside it (MODEL.csv); --resume continues an interrupted run from the checkpoint. The finished
            model is saved without the optimiser state (--initial MODEL trains it further).
            Example: synthmatch train --synth subtractive --data sub.h5 --out models/subtractive.h5
            """)

    @Option(help: "Module name (see `synthmatch synths`).") var synth: String
    @Option(parsing: .upToNextOption,
            help: "Training dataset (from `synthmatch dataset generate`): one file (a virtual merge too), or the shards of one dataset, joined in place as `dataset merge --virtual` joins them.")
    var data: [String]
    @Option(help: "Folder of recordings for stage 2 (out-of-domain audio).") var real: String?
    @Option(help: "Output model (HDF5).") var out: String
    @Option(help: "Training log (CSV); default: the model's path with .csv.") var log: String?
    @Option(help: "Stage 1 steps (parameter loss).") var steps: Int = 3000
    @Option(help: "Stage 2 steps (spectral loss through the synth).") var spectralSteps: Int = 0
    @Option(help: "Batch size.") var batchSize: Int = 32
    @Option(help: "Peak learning rate of stage 1.") var learningRate: Double = 1e-3
    @Option(help: "Peak learning rate of stage 2.") var spectralLearningRate: Double = 3e-5
    @Option(help: "Stage 2: weight of the parameter loss on synthetic items (0: spectral only).") var parameterWeight: Double = 0.1
    @Option(help: "AdamW decoupled weight decay.") var weightDecay: Double = 1e-4
    @Option(help: "Clip the gradient's global norm (0: off).") var clipNorm: Double = 1
    @Option(help: "Validate every N steps.") var validateEvery: Int = 250
    @Option(help: "Checkpoint every N steps.") var checkpointEvery: Int = 250
    @Option(help: "Seed for initialisation and data order.") var seed: UInt64 = 0
    @Option(help: "Start from this model's weights instead of a fresh network.") var initial: String?
    @Flag(help: "Continue from the checkpoint at --out.") var resume = false
    @Flag(help: "No progress bar.") var quiet = false
    @Option(help: "Worker threads per process (0: the cores, shared among the MPI processes on this node).") var threads: Int = 0

    func validate() throws {
        guard (0...10_000_000).contains(steps), (0...10_000_000).contains(spectralSteps), steps + spectralSteps > 0 else {
            throw ValidationError("--steps and --spectral-steps must be within 0...10000000, not both 0")
        }
        guard (2...4096).contains(batchSize) else { throw ValidationError("--batch-size must be within 2...4096") }
        for (name, v) in [("--learning-rate", learningRate), ("--spectral-learning-rate", spectralLearningRate)] {
            guard v.isFinite, v > 0, v <= 1 else { throw ValidationError("\(name) must be in (0, 1]") }
        }
        guard parameterWeight.isFinite, parameterWeight >= 0, parameterWeight <= 1e6 else { throw ValidationError("--parameter-weight must be within 0...1e6") }
        guard weightDecay.isFinite, weightDecay >= 0, weightDecay < 1 else { throw ValidationError("--weight-decay must be in [0, 1)") }
        guard clipNorm.isFinite, clipNorm >= 0 else { throw ValidationError("--clip-norm must be finite and >= 0 (0: off)") }
        guard validateEvery >= 1, checkpointEvery >= 1 else { throw ValidationError("--validate-every and --checkpoint-every must be >= 1") }
        guard !out.isEmpty else { throw ValidationError("--out must name a file") }
        guard (0...256).contains(threads) else { throw ValidationError("--threads must be within 0...256 (0: all cores)") }
    }

    func run() throws {
        // Under mpirun (a build with SYNTHMATCH_MPI=1): this process's share of every batch; only
        // process 0 prints, checkpoints and writes the model and log.
        let reducer = try DataParallel.start()
        defer { DataParallel.finish() }
        let leader = (reducer?.rank ?? 0) == 0
        func print(_ text: String) { if leader { Swift.print(text) } }
        // Threads for the batch loops, the network's products among them (OpenBLAS itself runs
        // on one): by default the cores, divided among this node's MPI processes (N processes
        // each starting a thread per core would contend).
        let workers = threads > 0 ? threads : max(1, Parallelism.activeProcessorCount / DataParallel.processesOnThisNode())
        Parallelism.threadCount = workers
        try AtomicFile.checkWritable(out)   // before hours of training, not after
        guard !data.isEmpty else { throw ValidationError("give --data: a dataset file or the shards of one") }
        for file in data { try HDF5Probe.check(file, as: .dataset) }
        if let initial { try HDF5Probe.check(initial, as: .model) }
        if resume { try HDF5Probe.check(out, as: .model) }
        // Several files: a virtual merge in a private temporary folder (removed at exit) joins
        // them without copying; the merge checks they are shards of one dataset that join.
        var joined: URL?
        defer { if let joined { try? FileManager.default.removeItem(at: joined) } }
        var dataPath = data[0]
        if data.count > 1 {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-train-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            joined = folder
            dataPath = folder.appendingPathComponent("data.h5").path
            do { _ = try DatasetMerger.mergeVirtual(data, into: dataPath) } catch { throw ValidationError("--data: \(error)") }
        }
        let reader = try DatasetReader(path: dataPath)
        let named = data.count == 1 ? data[0] : "the \(data.count) shards"
        guard reader.info.synth == synth else { throw ValidationError("\(named) holds \(reader.info.synth) examples, not \(synth)") }
        let module = try SynthRegistry.make(synth, sampleRate: reader.info.sampleRate)
        let logPath = log ?? ((out as NSString).deletingPathExtension + ".csv")

        // Where to start: a checkpoint to resume, a model to start from, or a fresh network.
        var estimator: ParameterEstimator
        var resumeState: Checkpoint.TrainingState?, moments: (m: [Double], v: [Double])?
        var previousLog: [String] = []
        if resume {
            let loaded = try Checkpoint.load(out, expecting: module.parameters)
            estimator = loaded.estimator
            guard let training = loaded.training else { throw ValidationError("\(out) holds no training state to resume (a finished or exported model)") }
            resumeState = training.state
            moments = (training.m, training.v)
            previousLog = readLog(logPath).filter { line in
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                guard fields.count > 1, let s = Int(fields[1]) else { return false }
                return fields[0] != Substring(training.state.stage) || s <= training.state.step
            }
        } else if let initial {
            estimator = try Checkpoint.load(initial, expecting: module.parameters).estimator
            // Keep the earlier stages' log lines (from --log if it exists, else beside the model).
            let earlier = FileManager.default.fileExists(atPath: logPath) ? logPath : (initial as NSString).deletingPathExtension + ".csv"
            let rerun = Set((steps > 0 ? ["parameter"] : []) + (spectralSteps > 0 ? ["spectral"] : []))
            previousLog = readLog(earlier).filter { !rerun.contains(String($0.prefix { $0 != "," })) }
        } else {
            estimator = try ParameterEstimator(synthName: synth, parameters: module.parameters, sampleRate: reader.info.sampleRate,
                                               sampleCount: reader.info.sampleCount, seed: seed)
            let sample = try reader.read(Array(reader.rows(.train).prefix(256)))
            estimator.fitFeatureStatistics(AudioBatch(batchSize: sample.audio.count / reader.info.sampleCount,
                                                      sampleCount: reader.info.sampleCount, samples: sample.audio))
        }
        var realClips: [[Float]] = [], realValidation: [[Float]] = []
        if let real {
            let folder = try AudioFile.readFolder(real, sampleRate: estimator.sampleRate,
                                                 maxSeconds: Double(estimator.sampleCount) / estimator.sampleRate + 30)
            for (name, error) in folder.failures { FileHandle.standardError.write("train: skipping \(name): \(error)\n".data(using: .utf8)!) }
            // A silent or non-finite clip teaches nothing and would score any estimate as perfect
            // (or as NaN) if it were held out: skipped, with the reason.
            let clips = folder.clips.compactMap { clip -> [Float]? in
                let samples = estimator.fitted(clip.audio.samples)
                let peak = samples.reduce(Float(0)) { Swift.max($0, abs($1)) }
                guard peak.isFinite, samples.allSatisfy(\.isFinite) else {
                    FileHandle.standardError.write("train: skipping \(clip.name): non-finite samples\n".data(using: .utf8)!)
                    return nil
                }
                guard peak > 1e-4 else {
                    FileHandle.standardError.write("train: skipping \(clip.name): silent in the model's window\n".data(using: .utf8)!)
                    return nil
                }
                return samples
            }
            guard clips.count >= 2 else { throw CommandFailure("\(real): fewer than two usable recordings (readable, finite, not silent)") }
            // Every 10th recording (by name) is held out to choose the stage's weights.
            for (i, clip) in clips.enumerated() { if i % 10 == 9 { realValidation.append(clip) } else { realClips.append(clip) } }
            if realValidation.isEmpty { realValidation.append(realClips.removeLast()) }
            print("train: \(realClips.count) recordings from \(real) for stage 2, \(realValidation.count) held out")
        }
        print("train: \(synth), \(estimator.network.weightCount) weights, \(reader.rows(.train).count) training / \(reader.rows(.validation).count) validation examples")

        var stages: [(TrainingOptions.Stage, Int)] = []
        if steps > 0 { stages.append((.parameter, steps)) }
        if spectralSteps > 0 { stages.append((.spectral, spectralSteps)) }
        for (stage, stageSteps) in stages {
            var options = TrainingOptions()
            options.stage = stage
            options.steps = stageSteps
            options.batchSize = batchSize
            options.learningRate = stage == .parameter ? learningRate : spectralLearningRate
            options.weightDecay = weightDecay
            options.clipNorm = clipNorm > 0 ? clipNorm : nil
            options.parameterWeight = parameterWeight
            options.validationEvery = validateEvery
            options.checkpointEvery = checkpointEvery
            options.warmup = stage == .parameter ? min(100, stageSteps / 10) : 0
            options.keepBest = stage == .spectral
            options.seed = seed
            // A resumed checkpoint belongs to one stage: skip the stages before it.
            var state: Checkpoint.TrainingState?, stateMoments: (m: [Double], v: [Double])?
            if let resumeState {
                if resumeState.stage == TrainingOptions.Stage.spectral.rawValue && stage == .parameter { continue }
                if resumeState.stage == stage.rawValue { (state, stateMoments) = (resumeState, moments) }
            }
            let trainer = try EstimatorTrainer(estimator: estimator, synth: module, data: reader, real: stage == .spectral ? realClips : [],
                                               realValidation: stage == .spectral ? realValidation : [],
                                               options: options, resume: state, moments: stateMoments)
            trainer.previousLog = previousLog
            trainer.reducer = reducer
            if trainer.step < stageSteps {
                try trainer.train(checkpoint: out, log: logPath, progress: !quiet && leader)
            }
            estimator = trainer.estimator
            previousLog = readLog(logPath)
            if let last = trainer.records.last {
                print(String(format: "stage %@: step %d, validation parameter MSE %.5f, spectral loss %.4f",
                             stage.rawValue, last.step, last.validationParameterLoss ?? .nan, last.validationSpectralLoss ?? .nan))
            }
            if trainer.skippedSteps > 0 {
                print("stage \(stage.rawValue): \(trainer.skippedSteps) steps skipped (non-finite gradient)")
            }
            if let best = trainer.best {
                print(String(format: "stage %@: kept the weights of step %d (selection spectral loss %.4f)", stage.rawValue, best.step, best.loss))
            }
        }
        // The finished model without Adam's moments (a third of the size); continue training
        // from it with --initial.
        if leader { try Checkpoint.save(estimator, to: out) }
        if let reducer { print("data-parallel: \(reducer.size) processes, each \(batchSize / reducer.size)-\((batchSize + reducer.size - 1) / reducer.size) of every \(batchSize)-example batch") }
        print("wrote \(out) and \(logPath)" + (ProcessMemory.peakResidentSummary.map { " (\($0))" } ?? ""))
    }

    /// Data lines of an existing training log (none if absent), in the current column layout
    /// (logs written before the held-out-recordings column get an empty one).
    func readLog(_ path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().map { line in
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if fields.count == 8 { fields.insert("", at: 7) }
            return fields.joined(separator: ",")
        }
    }
}
