import Datasets
import DSP
import Foundation
import Synths

/// An estimator (and optionally its training state) in one HDF5 file that h5py reads:
///
///     /weights          float32 [W]   the network's flat weights, layer by layer, with HDF5's
///                                     Fletcher-32 checksum (format 3), verified on every read
///     /adam_m, /adam_v  float32 [W]   Adam's moments (training checkpoints only)
///     attributes:  format = "synthmatch-estimator", format_version = 3, synth,
///                  parameters (JSON: name, unit, min, max, scale, rate of each output, in
///                  order: `ParameterDescription`, the schema datasets and presets use),
///                  configuration (JSON: channels, kernel, stride, hidden, slope),
///                  layers (JSON: the resolved layer list), sample_rate, sample_count,
///                  feature_mean, feature_deviation, synthmatch_version,
///                  training (JSON, training checkpoints only: stage, step, epoch, seeds)
///
/// Written to a temporary file and renamed, so an interrupted save never leaves a
/// half-written model. Loading checks that the synth's parameters match the ones stored.
public enum Checkpoint {
    public static let format = "synthmatch-estimator"
    /// 3: the weights carry a Fletcher-32 checksum, so damaged bytes are an error, not a model
    /// that silently estimates nonsense. 2 (parameters in the `ParameterDescription` schema, no
    /// checksum) still loads; 1 (`ParameterSpec`'s own Codable form) does not.
    public static let formatVersion: Int64 = 3
    public static let readableVersions: ClosedRange<Int64> = 2...3

    /// What training needs to continue exactly where it stopped.
    public struct TrainingState: Sendable, Codable, Equatable {
        public var stage: String
        public var step: Int
        public var seed: UInt64
        public var optimiserStep: Int
        public init(stage: String, step: Int, seed: UInt64, optimiserStep: Int) {
            (self.stage, self.step, self.seed, self.optimiserStep) = (stage, step, seed, optimiserStep)
        }
    }

    public static func save(_ estimator: ParameterEstimator, to path: String,
                            training: (state: TrainingState, m: [Double], v: [Double])? = nil) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func json<E: Encodable>(_ value: E) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        try AtomicFile.write(to: path) { temporary in
            let file = try HDF5File.create(temporary)
            try file.setAttribute("format", format)
            try file.setAttribute("format_version", formatVersion)
            try file.setAttribute("synth", estimator.synthName)
            try file.setAttribute("parameters", json(estimator.parameters.map { ParameterDescription($0) }))
            try file.setAttribute("configuration", json(estimator.configuration))
            try file.setAttribute("layers", json(estimator.network.specs))
            try file.setAttribute("sample_rate", estimator.sampleRate)
            try file.setAttribute("sample_count", Int64(estimator.sampleCount))
            try file.setAttribute("feature_mean", Double(estimator.featureMean))
            try file.setAttribute("feature_deviation", Double(estimator.featureDeviation))
            try file.setAttribute("synthmatch_version", DatasetGenerator.version)
            try file.writeFloats("weights", estimator.weights, shape: [estimator.weights.count], checksum: true)
            if let training {
                try file.setAttribute("training", json(training.state))
                try file.writeFloats("adam_m", training.m.map { Float($0) }, shape: [training.m.count])
                try file.writeFloats("adam_v", training.v.map { Float($0) }, shape: [training.v.count])
            }
            try file.flush()
        }
    }

    public struct Loaded {
        public var estimator: ParameterEstimator
        public var training: (state: TrainingState, m: [Double], v: [Double])?
    }

    /// Loads a model; `expecting` (the synth's current parameters) must match the stored ones.
    public static func load(_ path: String, expecting parameters: [ParameterSpec]? = nil) throws -> Loaded {
        let file: HDF5File
        do { file = try HDF5File.open(path) } catch { throw EstimatorError.incompatible("\(path): cannot open the model (\(error))") }
        guard (try? file.stringAttribute("format")) == format else {
            throw EstimatorError.incompatible("\(path) is not a SynthMatch estimator (no format = \"\(format)\" attribute)")
        }
        let version: Int64
        do { version = try file.intAttribute("format_version") } catch { throw EstimatorError.incompatible("\(path): damaged model (\(error))") }
        guard readableVersions.contains(version) else {
            throw EstimatorError.incompatible("\(path): model format version \(version), this SynthMatch reads \(readableVersions.lowerBound)...\(readableVersions.upperBound)")
        }
        do { return try read(file, path: path, version: version, expecting: parameters) } catch let error as HDF5Error {
            throw EstimatorError.incompatible("\(path): damaged model (\(error.operation) failed)")
        } catch let error as DecodingError {
            throw EstimatorError.incompatible("\(path): damaged model (an attribute is not the JSON SynthMatch writes: \(error.localizedDescription))")
        } catch let error as NetworkError {
            throw EstimatorError.incompatible("\(path): the stored architecture is not usable: \(error)")
        }
    }

    /// Reads and checks every stored value before use: a file SynthMatch did not write (or a
    /// damaged one) ends in an error, never a trap or a giant allocation.
    static func read(_ file: HDF5File, path: String, version: Int64, expecting parameters: [ParameterSpec]?) throws -> Loaded {
        let decoder = JSONDecoder()
        func decode<D: Decodable>(_ type: D.Type, _ name: String) throws -> D {
            try decoder.decode(D.self, from: Data(try file.stringAttribute(name).utf8))
        }
        let synth = try file.stringAttribute("synth")
        let descriptions = try decode([ParameterDescription].self, "parameters")
        let specs = descriptions.compactMap(\.spec)
        guard specs.count == descriptions.count, !specs.isEmpty else {
            throw EstimatorError.incompatible("\(path): a parameter's range or scale is not one SynthMatch writes")
        }
        // A model is used with the module's own specs (with their defaults), which the file must
        // describe exactly: the caller's, else the registered module's of that name.
        let current = parameters ?? (try? SynthRegistry.make(synth))?.parameters
        let stored = current.map { $0.map { ParameterDescription($0) } == descriptions ? $0 : specs } ?? specs
        if let parameters, parameters.map { ParameterDescription($0) } != descriptions {
            let names = Set(parameters.map(\.name)).symmetricDifference(stored.map(\.name)).sorted()
            throw EstimatorError.incompatible("\(path) was trained for a different \(synth) parameter set" + (names.isEmpty ? " (ranges or scales differ)" : " (differs in \(names.joined(separator: ", ")))"))
        }
        let sampleRate = try file.doubleAttribute("sample_rate"), sampleCount = try file.intAttribute("sample_count")
        guard sampleRate.isFinite, (8000...192_000).contains(sampleRate) else { throw EstimatorError.incompatible("\(path): stored sample rate \(sampleRate) Hz is not in 8000...192000") }
        guard sampleCount >= 1024, Double(sampleCount) <= 60 * sampleRate else { throw EstimatorError.incompatible("\(path): stored window of \(sampleCount) samples is not in 1024 samples...60 s") }
        let featureMean = try file.doubleAttribute("feature_mean"), featureDeviation = try file.doubleAttribute("feature_deviation")
        guard featureMean.isFinite, featureDeviation.isFinite, featureDeviation > 0 else {
            throw EstimatorError.incompatible("\(path): stored feature statistics (mean \(featureMean), deviation \(featureDeviation)) are not usable")
        }
        var estimator = try ParameterEstimator(synthName: synth, parameters: stored, sampleRate: sampleRate, sampleCount: Int(sampleCount),
                                               configuration: try decode(EstimatorConfiguration.self, "configuration"))
        if version >= 3, try !file.hasChecksum("weights") { throw EstimatorError.incompatible("\(path): the weights have no checksum (format 3 stores one)") }
        let weights: [Float]
        do { weights = try file.readFloats("weights").values } catch let error as HDF5Error {
            throw EstimatorError.incompatible("\(path): the weights cannot be read (\(error.operation) failed: damaged bytes fail their checksum)")
        }
        guard weights.count == estimator.network.weightCount else {
            throw EstimatorError.incompatible("\(path): \(weights.count) weights stored, the architecture needs \(estimator.network.weightCount)")
        }
        guard weights.allSatisfy(\.isFinite) else { throw EstimatorError.incompatible("\(path): the stored weights contain NaN or infinity") }
        estimator.weights = weights
        estimator.featureMean = Float(featureMean)
        estimator.featureDeviation = Float(featureDeviation)
        var training: (TrainingState, [Double], [Double])?
        if file.contains("adam_m"), let state = try? decode(TrainingState.self, "training") {
            let m = try file.readFloats("adam_m").values.map(Double.init), v = try file.readFloats("adam_v").values.map(Double.init)
            if m.count == weights.count, v.count == weights.count { training = (state, m, v) }
        }
        return Loaded(estimator: estimator, training: training)
    }
}
