import RealModule

/// How control frames are interpolated to audio rate. Each reference library does it
/// differently, and matching a library sample for sample depends on picking its rule.
public enum FrameInterpolation: String, Sendable, Hashable, Codable, CaseIterable {
    /// DDSP `resample(method='linear')` (TF1 bilinear, `align_corners=False`, no half-pixel
    /// offset): source position `n * F / N`, last frame held.
    case ddspLinear
    /// PyTorch `F.interpolate(mode='linear', align_corners=False)` (DDX7, NEWT, diffsynth):
    /// source position `(n + 0.5) * F / N - 0.5`, clamped to the frame range.
    case halfPixel
    /// torchsynth (`align_corners=True`): source position `n * (F - 1) / (N - 1)`.
    case alignCorners
    /// DDSP `resample(method='window')` for amplitudes: overlapping Hann windows,
    /// `out[k*hop + m] = x[k] cos^2(pi m / 2hop) + x[k+1] sin^2(pi m / 2hop)`, `x[F] = x[F-1]`.
    /// Needs `N` to be a multiple of `F`.
    case ddspWindow
}

/// Frame-to-sample interpolation as a sparse linear map, with its exact adjoint.
///
/// Every rule above writes sample `n` as `w0[n] * x[j[n]] + w1[n] * x[min(j[n] + 1, F - 1)]`;
/// the weights are computed once per (frames, samples, rule) and the adjoint is the
/// transposed scatter-add. Every module upsamples through this one type.
public struct FrameUpsampler<T: SynthScalar>: Sendable {
    public let frameCount: Int
    public let sampleCount: Int
    public let interpolation: FrameInterpolation
    /// Left frame of each sample.
    public let leftFrame: [Int32]
    public let leftWeight: [T]
    public let rightWeight: [T]

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public init(frameCount: Int, sampleCount: Int, interpolation: FrameInterpolation) {
        precondition(frameCount >= 1 && sampleCount >= 1, "upsampler: empty shape")
        self.frameCount = frameCount
        self.sampleCount = sampleCount
        self.interpolation = interpolation
        var j = [Int32](repeating: 0, count: sampleCount)
        var w0 = [T](repeating: 1, count: sampleCount)
        var w1 = [T](repeating: 0, count: sampleCount)
        let f = Double(frameCount), n = Double(sampleCount)
        for i in 0..<sampleCount {
            var position: Double
            switch interpolation {
            case .ddspLinear:
                position = Double(i) * f / n
            case .halfPixel:
                position = max((Double(i) + 0.5) * f / n - 0.5, 0)
            case .alignCorners:
                position = sampleCount > 1 ? Double(i) * (f - 1) / (n - 1) : 0
            case .ddspWindow:
                precondition(sampleCount % frameCount == 0,
                             "window upsampling needs samples (\(sampleCount)) to be a multiple of frames (\(frameCount))")
                let hop = sampleCount / frameCount
                let m = Double(i % hop)
                let c = Double.cos(Double.pi * m / Double(2 * hop))
                j[i] = Int32(i / hop)
                w0[i] = T(c * c)
                w1[i] = T(1 - c * c)
                continue
            }
            position = min(position, f - 1)
            let left = Int(position.rounded(.down))
            let frac = position - Double(left)
            j[i] = Int32(left)
            w0[i] = T(1 - frac)
            w1[i] = T(frac)
        }
        leftFrame = j
        leftWeight = w0
        rightWeight = w1
    }

    /// `output[n] = w0 x[j] + w1 x[j+1]` for frames read at `frames[f * frameStride]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    @inlinable
    public func upsample(_ frames: UnsafePointer<T>, frameStride: Int = 1, into output: UnsafeMutablePointer<T>) {
        let last = frameCount - 1
        leftFrame.withUnsafeBufferPointer { lf in leftWeight.withUnsafeBufferPointer { w0 in rightWeight.withUnsafeBufferPointer { w1 in
            // Runs of samples share their two frames (the left frame only grows): one
            // element-wise, vectorisable loop per run instead of a gather per sample.
            var n = 0
            while n < sampleCount {
                let j = Int(lf[n])
                var end = n + 1
                while end < sampleCount, Int(lf[end]) == j { end += 1 }
                let a = frames[j * frameStride], b = frames[min(j + 1, last) * frameStride]
                for i in n..<end { output[i] = w0[i] * a + w1[i] * b }
                n = end
            }
        } } }
    }

    /// The adjoint: accumulates `dFrames += A^T dOutput`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    @inlinable
    public func accumulateAdjoint(_ dOutput: UnsafePointer<T>, into dFrames: UnsafeMutablePointer<T>, frameStride: Int = 1) {
        let last = frameCount - 1
        for n in 0..<sampleCount {
            let j = Int(leftFrame[n])
            let k = min(j + 1, last)
            dFrames[j * frameStride] += leftWeight[n] * dOutput[n]
            dFrames[k * frameStride] += rightWeight[n] * dOutput[n]
        }
    }

    /// Allocating convenience for tests and cold paths.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func upsample(_ frames: [T]) -> [T] {
        precondition(frames.count == frameCount)
        var out = [T](repeating: 0, count: sampleCount)
        frames.withUnsafeBufferPointer { f in out.withUnsafeMutableBufferPointer { o in upsample(f.baseAddress!, into: o.baseAddress!) } }
        return out
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func adjoint(_ dOutput: [T]) -> [T] {
        precondition(dOutput.count == sampleCount)
        var d = [T](repeating: 0, count: frameCount)
        dOutput.withUnsafeBufferPointer { g in d.withUnsafeMutableBufferPointer { o in accumulateAdjoint(g.baseAddress!, into: o.baseAddress!) } }
        return d
    }
}
