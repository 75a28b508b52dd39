import Datasets
import DSP
import Foundation

/// The nearest-neighbour baseline: a dataset's examples indexed by their log-mel spectrograms
/// (64 bands, the estimator's features), and for a target the parameters of the example whose
/// spectrogram is closest (Euclidean, on the first `sampleCount` samples of the target's note,
/// zero-padded). What a lookup table of presets gives, with no learning and no search.
public struct NearestNeighbours: Sendable {
    public let sampleRate: Double
    public let sampleCount: Int
    /// Row-major [examples, features] and [examples, parameters].
    let features: [Float], parameters: [Float]
    public let count: Int, featureCount: Int, parameterCount: Int

    /// Indexes the training split of `reader` (all of it if `limit` is nil), reading 64 rows at a time.
    public init(reader: DatasetReader, limit: Int? = nil, progress: ((Int, Int) -> Void)? = nil) throws {
        let info = reader.info
        guard let logMel = LogMel(sampleRate: info.sampleRate, sampleCount: info.sampleCount,
                                  hopSize: LogMel.hopSize(forSampleCount: info.sampleCount)) else {
            throw DatasetError.invalid("\(info.path): \(info.sampleCount) samples is too short for a 1024-point log-mel frame")
        }
        let rows = Array(reader.rows(.train).prefix(limit ?? Int.max))
        guard !rows.isEmpty else { throw DatasetError.invalid("\(info.path): its training split is empty") }
        var features: [Float] = [], parameters: [Float] = []
        var start = 0
        while start < rows.count {
            let batch = Array(rows[start..<min(start + 64, rows.count)])
            let (p, audio) = try reader.read(batch)
            features += logMel.compute(AudioBatch(batchSize: batch.count, sampleCount: info.sampleCount, samples: audio))
            parameters += p
            start += batch.count
            progress?(start, rows.count)
        }
        (sampleRate, sampleCount, count) = (info.sampleRate, info.sampleCount, rows.count)
        featureCount = features.count / rows.count
        parameterCount = info.parameterCount
        (self.features, self.parameters) = (features, parameters)
    }

    /// The normalised parameters of the example nearest `target` (audio at `sampleRate`).
    public func nearest(to target: [Float]) -> [Float] {
        let logMel = LogMel(sampleRate: sampleRate, sampleCount: sampleCount, hopSize: LogMel.hopSize(forSampleCount: sampleCount))!
        let query = logMel.compute(AudioBatch(batchSize: 1, sampleCount: sampleCount, samples: MonoAudio.fitted(target, to: sampleCount)))
        var best = (index: 0, distance: Float.infinity)
        features.withUnsafeBufferPointer { f in
            for i in 0..<count {
                var d: Float = 0
                let row = f.baseAddress! + i * featureCount
                for j in 0..<featureCount { let e = row[j] - query[j]; d += e * e }
                if d < best.distance { best = (i, d) }
            }
        }
        return Array(parameters[(best.index * parameterCount)..<((best.index + 1) * parameterCount)])
    }
}
