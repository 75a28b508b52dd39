import Datasets
import DSP
import Foundation
import Synths

/// The estimator's shape: a convolutional encoder over the log-mel spectrogram and an MLP
/// head to the synth's normalised parameters.
///
/// Defaults follow the spirit of Masuda & Saito's mel estimator (diffsynth's `MelEstimator`:
/// strided convolutions over a 1024/256 log-mel, then a 512-unit recurrent layer and an
/// MLP) scaled to train on two CPU cores in minutes: four 3x3 stride-2 convolutions
/// (16, 32, 64, 64 channels; leaky ReLU), flatten, a 256-unit hidden layer and a sigmoid
/// output per parameter. The recurrent layer is replaced by the dense layer because our
/// synths' parameters are global (one value per note).
public struct EstimatorConfiguration: Sendable, Hashable, Codable {
    public var channels: [Int] = [16, 32, 64, 64]
    public var kernel = 3
    public var stride = 2
    public var hidden = 256
    public var slope = LeakyReLU.defaultSlope

    public init() {}

    /// The layers for a `[1, frames, mels]` input and `outputs` parameters.
    public func layers(outputs: Int) -> [LayerSpec] {
        var specs: [LayerSpec] = []
        for c in channels { specs += [.conv2d(channels: c, kernel: kernel, stride: stride, padding: kernel / 2), .leakyReLU(slope: slope)] }
        specs += [.flatten, .dense(outputs: hidden), .leakyReLU(slope: slope), .dense(outputs: outputs), .sigmoid]
        return specs
    }
}

public enum EstimatorError: Error, CustomStringConvertible {
    case unsupportedSynth(String)
    case incompatible(String)
    public var description: String {
        switch self {
        case .unsupportedSynth(let m), .incompatible(let m): return m
        }
    }
}

/// Audio in, normalised synth parameters out: log-mel features (standardised by the
/// training set's mean and deviation, stored with the model) through a `Sequential` network.
///
/// Works for synths whose parameters are all global (one value per note: subtractive, FM,
/// modal, ADSR...), whose controls are exactly the network's output vector.
public struct ParameterEstimator: Sendable {
    public let synthName: String
    public let parameters: [ParameterSpec]
    public let sampleRate: Double
    /// The audio length the network reads; `fitted(_:)` trims or zero-pads to it.
    public let sampleCount: Int
    public let configuration: EstimatorConfiguration
    public let network: Sequential
    /// Log-mel standardisation: `(logmel - featureMean) / featureDeviation`.
    public var featureMean: Float
    public var featureDeviation: Float
    public var weights: [Float]
    /// Log-mel frames and bands of the network's input.
    public let featureShape: (frames: Int, mels: Int)

    public var layout: ControlLayout { ControlLayout(parameters: parameters, frameCount: 1) }

    public init(synthName: String, parameters: [ParameterSpec], sampleRate: Double, sampleCount: Int,
                configuration: EstimatorConfiguration = .init(), seed: UInt64 = 0) throws {
        guard parameters.allSatisfy({ $0.rate == .global }) else {
            throw EstimatorError.unsupportedSynth("\(synthName) has per-frame parameters; the estimator predicts one value per parameter (global parameters only)")
        }
        guard let logMel = LogMel(sampleRate: sampleRate, sampleCount: sampleCount, hopSize: LogMel.hopSize(forSampleCount: sampleCount)) else {
            throw EstimatorError.incompatible("estimator: \(sampleCount) samples is too short for a 1024-point log-mel frame")
        }
        self.synthName = synthName
        self.parameters = parameters
        self.sampleRate = sampleRate
        self.sampleCount = sampleCount
        self.configuration = configuration
        featureShape = (logMel.frameCount, logMel.melCount)
        network = try Sequential(input: [1, logMel.frameCount, logMel.melCount], configuration.layers(outputs: Self.outputCount(parameters)))
        weights = network.initialWeights(seed: seed).map { Float($0) }
        featureMean = 0
        featureDeviation = 1
    }

    /// Standardised log-mel features of a batch, as the network's `[1, B, frames, mels]` input.
    public func features(_ audio: AudioBatch<Float>) -> Tensor<Float> {
        precondition(audio.sampleCount == sampleCount, "estimator: audio has \(audio.sampleCount) samples, the model reads \(sampleCount)")
        let mean = featureMean, scale = 1 / featureDeviation
        let values = makeLogMel().compute(audio).map { ($0 - mean) * scale }
        return Tensor(shape: [1, audio.batchSize, featureShape.frames, featureShape.mels], values: values)
    }

    /// Sets the standardisation from a sample of training audio.
    public mutating func fitFeatureStatistics(_ audio: AudioBatch<Float>) {
        let raw = makeLogMel().compute(audio).map(Double.init)
        let mean = raw.reduce(0, +) / Double(raw.count)
        let variance = raw.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(raw.count)
        featureMean = Float(mean)
        featureDeviation = Float(max(variance.squareRoot(), 1e-3))
    }

    /// A fresh workspace (FFTW plans are cached, so this is cheap next to a batch).
    func makeLogMel() -> LogMel { LogMel(sampleRate: sampleRate, sampleCount: sampleCount, hopSize: LogMel.hopSize(forSampleCount: sampleCount))! }

    /// Normalised parameter estimates for a batch of audio (`sampleCount` samples each); a
    /// categorical parameter takes its likeliest choice.
    public func predict(_ audio: AudioBatch<Float>) -> Controls<Float> {
        controls(fromOutputs: network(features(audio), weights: weights).values, batchSize: audio.batchSize)
    }

    /// The estimate for one recording, read from its start (trimmed or zero-padded to the
    /// model's window, `fitted`).
    public func predict(recording: [Float]) -> Controls<Float> {
        controls(fromOutputs: outputs(recording: recording), batchSize: 1)
    }

    /// The network's raw outputs for one recording.
    func outputs(recording: [Float]) -> [Float] {
        network(features(AudioBatch(batchSize: 1, sampleCount: sampleCount, samples: fitted(recording))), weights: weights).values
    }

    /// The network's outputs: one per continuous parameter, one score per choice of a
    /// categorical one (trained against its one-of-N code by cross-entropy), in order.
    public var outputCount: Int { Self.outputCount(parameters) }
    static func outputCount(_ parameters: [ParameterSpec]) -> Int { parameters.reduce(0) { $0 + ($1.choiceCount ?? 1) } }
    var hasChoices: Bool { parameters.contains { $0.choiceCount != nil } }
    /// Per output: whether it scores a choice.
    var choiceOutputs: [Bool] { parameters.flatMap { spec in spec.choiceCount.map { [Bool](repeating: true, count: $0) } ?? [false] } }

    /// What the network should output for normalised parameters `params` (`batchSize` items):
    /// continuous values as they are, each choice as its one-of-N code.
    public func outputTargets(_ params: [Float], batchSize: Int) -> [Float] {
        guard hasChoices else { return params }
        var out: [Float] = []
        out.reserveCapacity(batchSize * outputCount)
        for b in 0..<batchSize {
            for (q, spec) in parameters.enumerated() {
                let u = params[b * parameters.count + q]
                if let count = spec.choiceCount {
                    let k = spec.choice(Double(u))
                    for c in 0..<count { out.append(c == k ? 1 : 0) }
                } else {
                    out.append(u)
                }
            }
        }
        return out
    }

    /// Normalised controls from network outputs: a categorical parameter takes its best-scored
    /// choice (the centre of that choice's bin).
    public func controls(fromOutputs outputs: [Float], batchSize: Int) -> Controls<Float> {
        guard hasChoices else { return Controls(layout: layout, batchSize: batchSize, values: outputs) }
        var values: [Float] = []
        values.reserveCapacity(batchSize * parameters.count)
        for b in 0..<batchSize {
            var o = b * outputCount
            for spec in parameters {
                if let count = spec.choiceCount {
                    let scores = outputs[o..<(o + count)]
                    let k = scores.indices.max { scores[$0] < scores[$1] }! - o
                    values.append(Float(spec.normalised(choice: k)))
                    o += count
                } else {
                    values.append(outputs[o]); o += 1
                }
            }
        }
        return Controls(layout: layout, batchSize: batchSize, values: values)
    }

    /// Gradient with respect to the outputs from one with respect to the controls: continuous
    /// parameters pass through; a choice has none (its bin is flat).
    func outputGradient(fromControls d: [Float], batchSize: Int) -> [Float] {
        guard hasChoices else { return d }
        var out = [Float](repeating: 0, count: batchSize * outputCount)
        for b in 0..<batchSize {
            var o = b * outputCount
            for (q, spec) in parameters.enumerated() {
                if let count = spec.choiceCount { o += count } else { out[o] = d[b * parameters.count + q]; o += 1 }
            }
        }
        return out
    }

    /// One item's choices of categorical parameter `q`, likeliest first, with their scores.
    public func rankedChoices(_ audio: [Float], parameter q: Int) -> [(choice: Int, score: Float)] {
        guard let count = parameters[q].choiceCount else { return [] }
        let outputs = outputs(recording: audio)
        let o = Self.outputCount(Array(parameters[..<q]))
        return (0..<count).map { ($0, outputs[o + $0]) }.sorted { $0.score > $1.score }
    }

    /// A recording made to the model's length (`MonoAudio.fitted`).
    public func fitted(_ samples: [Float]) -> [Float] { MonoAudio.fitted(samples, to: sampleCount) }
}
