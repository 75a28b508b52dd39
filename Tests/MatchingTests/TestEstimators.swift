import DSP
@testable import Matching
import Synths

/// An untrained estimator small enough for unit tests (one 4-channel convolution, 8 hidden units).
func tinyEstimator(for synth: any Synth, sampleCount: Int, seed: UInt64 = 0) throws -> ParameterEstimator {
    var configuration = EstimatorConfiguration()
    configuration.channels = [4]
    configuration.hidden = 8
    return try ParameterEstimator(synthName: synth.name, parameters: synth.parameters, sampleRate: 16000,
                                  sampleCount: sampleCount, configuration: configuration, seed: seed)
}
