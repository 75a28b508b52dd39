import RealModule
import Synchronization

/// How a signal is padded before framing; this is where the reference libraries differ.
public enum STFTPadding: String, Sendable, Hashable, Codable {
    /// `tf.signal.stft(pad_end=True)` (DDSP): no centring, zeros appended so that
    /// `ceil(N / hop)` frames cover the signal.
    case endZeros
    /// `torch.stft(center=True, pad_mode='reflect')` (auraloss, DDX7): `fftSize / 2`
    /// reflected samples each side, `1 + N / hop` frames. Needs `N > fftSize / 2`.
    case centerReflect
    /// Centred with zero padding (`torch.stft(center=True, pad_mode='constant')`).
    case centerZeros
    /// No padding: only whole frames, `1 + (N - fftSize) / hop`.
    case none
}

/// One STFT resolution. The window (periodic Hann of `windowLength`) is zero-padded
/// symmetrically to `fftSize`, as `torch.stft` does.
public struct STFTConfiguration: Sendable, Hashable, Codable {
    public var fftSize: Int
    public var hopSize: Int
    public var windowLength: Int
    public var padding: STFTPadding

    public init(fftSize: Int, hopSize: Int, windowLength: Int? = nil, padding: STFTPadding) {
        self.fftSize = fftSize
        self.hopSize = hopSize
        self.windowLength = windowLength ?? fftSize
        self.padding = padding
    }

    public var binCount: Int { fftSize / 2 + 1 }

    /// Number of frames for a signal of `n` samples, or nil when the signal is too short.
    public func frameCount(samples n: Int) -> Int? {
        switch padding {
        case .endZeros: return n > 0 ? (n + hopSize - 1) / hopSize : nil
        case .centerReflect: return n > fftSize / 2 ? 1 + n / hopSize : nil
        case .centerZeros: return n > 0 ? 1 + n / hopSize : nil
        case .none: return n >= fftSize ? 1 + (n - fftSize) / hopSize : nil
        }
    }
}

/// Periodic Hann window, `w[n] = 0.5 - 0.5 cos(2 pi n / N)` (every reference library's default).
public func periodicHann<T: SynthScalar>(_ length: Int) -> [T] {
    (0..<length).map { n in T(0.5 - 0.5 * Double.cos(2 * Double.pi * Double(n) / Double(length))) }
}

/// What an STFT needs that depends only on its configuration and signal length: the window
/// (periodic Hann of `windowLength`, zero-padded to `fftSize`, in float64) and, for each padded
/// position, the signal sample it reads (-1: a zero). Made once per process and shared: the
/// losses build a workspace per job and call, and the cosines and padding map were 4% of
/// a multi-resolution loss's time.
final class STFTGeometry: Sendable {
    let window: [Double]
    let sourceIndex: [Int32]

    private struct Key: Hashable { let configuration: STFTConfiguration; let sampleCount: Int }
    private static let cache = Mutex<[Key: STFTGeometry]>([:])

    static func shared(_ c: STFTConfiguration, sampleCount n: Int, frameCount frames: Int) -> STFTGeometry {
        let key = Key(configuration: c, sampleCount: n)
        if let known = cache.withLock({ $0[key] }) { return known }
        let made = STFTGeometry(c, sampleCount: n, frameCount: frames)
        return cache.withLock { cache in
            if cache.count >= 256 { cache.removeAll() }   // many signal lengths: start over
            if let known = cache[key] { return known }
            cache[key] = made
            return made
        }
    }

    private init(_ c: STFTConfiguration, sampleCount n: Int, frameCount frames: Int) {
        let hann: [Double] = periodicHann(c.windowLength)
        var w = [Double](repeating: 0, count: c.fftSize)
        let left = (c.fftSize - c.windowLength) / 2
        for i in 0..<c.windowLength { w[left + i] = hann[i] }
        window = w
        let paddedLength = (frames - 1) * c.hopSize + c.fftSize
        let offset = (c.padding == .centerReflect || c.padding == .centerZeros) ? c.fftSize / 2 : 0
        var source = [Int32](repeating: -1, count: paddedLength)
        for i in 0..<paddedLength {
            var s = i - offset
            if c.padding == .centerReflect {
                if s < 0 { s = -s }
                if s >= n { s = 2 * (n - 1) - s }
            }
            source[i] = (s >= 0 && s < n) ? Int32(s) : -1
        }
        sourceIndex = source
    }
}

/// Short-time Fourier transform of one configuration and signal length, with its exact
/// adjoint (for back-propagating spectral losses) and a weighted overlap-add inverse.
///
/// A workspace: buffers are allocated once here and reused, so hold one per thread.
/// Spectra are `frameCount x binCount` interleaved (re, im) pairs.
public final class ShortTimeFourierTransform<T: SynthScalar> {
    public let configuration: STFTConfiguration
    public let sampleCount: Int
    public let frameCount: Int
    public let window: [T]
    private let fft: RealFFT<T>
    /// For each padded position, the signal sample it reads (-1: a zero).
    private let sourceIndex: [Int32]
    private var padded: [T]
    private var frame: [T]
    private var bins: [T]

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public init?(_ configuration: STFTConfiguration, sampleCount n: Int) {
        let c = configuration
        guard c.fftSize >= 2, c.fftSize % 2 == 0, c.hopSize >= 1, c.windowLength >= 1,
              c.windowLength <= c.fftSize, let frames = c.frameCount(samples: n) else { return nil }
        self.configuration = c
        self.sampleCount = n
        self.frameCount = frames
        let geometry = STFTGeometry.shared(c, sampleCount: n, frameCount: frames)
        self.window = geometry.window.map { T($0) }
        self.fft = RealFFT(size: c.fftSize)
        self.sourceIndex = geometry.sourceIndex
        let paddedLength = geometry.sourceIndex.count
        self.padded = [T](repeating: 0, count: paddedLength)
        self.frame = [T](repeating: 0, count: c.fftSize)
        self.bins = [T](repeating: 0, count: 2 * c.binCount)
    }

    public var binCount: Int { configuration.binCount }
    /// Number of values (2 per complex bin) in a spectrum.
    public var spectrumCount: Int { 2 * frameCount * binCount }

    /// Writes the complex STFT of `signal` (`sampleCount` samples) to `spectrum`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func transform(_ signal: UnsafePointer<T>, into spectrum: UnsafeMutablePointer<T>) {
        let n = configuration.fftSize, hop = configuration.hopSize, stride = 2 * binCount
        padded.withUnsafeMutableBufferPointer { pad in
            sourceIndex.withUnsafeBufferPointer { src in
                for i in 0..<pad.count { let s = Int(src[i]); pad[i] = s >= 0 ? signal[s] : 0 }
            }
            frame.withUnsafeMutableBufferPointer { fr in
                bins.withUnsafeMutableBufferPointer { b in
                    window.withUnsafeBufferPointer { w in
                        for f in 0..<frameCount {
                            // A pointer to the frame's start keeps trapping index arithmetic
                            // out of the loop, which then vectorises.
                            let source = pad.baseAddress! + f * hop
                            for t in 0..<n { fr[t] = source[t] * w[t] }
                            // Through the aligned scratch row: a packed spectrum's odd rows sit
                            // off FFTW's SIMD boundary (float rows of n + 2 values), and the
                            // SIMD plan is 2-3x faster than the unaligned one.
                            fft.forward(fr.baseAddress!, b.baseAddress!)
                            (spectrum + f * stride).update(from: b.baseAddress!, count: stride)
                        }
                    }
                }
            }
        }
    }

    /// Accumulates into `dSignal` the adjoint of `transform` applied to `dSpectrum`
    /// (dLoss/dRe and dLoss/dIm per bin). `dSpectrum` is used as scratch.
    ///
    /// For a real input the r2c transform's adjoint is `dx[t] = Re sum_k G_k e^{i w k t}`
    /// over the stored half spectrum; a c2r transform computes that sum with every
    /// interior bin counted twice (Hermitian completion), so interior bins are halved first.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func accumulateAdjoint(_ dSpectrum: UnsafeMutablePointer<T>, into dSignal: UnsafeMutablePointer<T>) {
        let n = configuration.fftSize, hop = configuration.hopSize, stride = 2 * binCount
        padded.withUnsafeMutableBufferPointer { pad in
            for i in 0..<pad.count { pad[i] = 0 }
            frame.withUnsafeMutableBufferPointer { fr in
                bins.withUnsafeMutableBufferPointer { b in
                    window.withUnsafeBufferPointer { w in
                        for f in 0..<frameCount {
                            let g = dSpectrum + f * stride
                            b[0] = g[0]; b[1] = 0
                            for j in 2..<(stride - 2) { b[j] = g[j] / 2 }
                            b[stride - 2] = g[stride - 2]; b[stride - 1] = 0
                            fft.inverse(b.baseAddress!, fr.baseAddress!)
                            let target = pad.baseAddress! + f * hop
                            for t in 0..<n { target[t] += fr[t] * w[t] }
                        }
                    }
                }
            }
            sourceIndex.withUnsafeBufferPointer { src in
                for i in 0..<pad.count { let s = Int(src[i]); if s >= 0 { dSignal[s] += pad[i] } }
            }
        }
    }

    /// Weighted overlap-add inverse (`torch.istft` semantics): each frame is inverted,
    /// windowed and added, then divided by the summed squared window. Samples the
    /// window never covers come back as zero.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func inverse(_ spectrum: UnsafePointer<T>, into signal: UnsafeMutablePointer<T>) {
        let n = configuration.fftSize, hop = configuration.hopSize, stride = 2 * binCount
        var norm = [T](repeating: 0, count: padded.count)
        padded.withUnsafeMutableBufferPointer { pad in
            for i in 0..<pad.count { pad[i] = 0 }
            frame.withUnsafeMutableBufferPointer { fr in
                bins.withUnsafeMutableBufferPointer { b in
                    for f in 0..<frameCount {
                        for i in 0..<stride { b[i] = spectrum[f * stride + i] }
                        fft.inverse(b.baseAddress!, fr.baseAddress!)
                        let start = f * hop
                        for t in 0..<n {
                            pad[start + t] += fr[t] * window[t] / T(n)
                            norm[start + t] += window[t] * window[t]
                        }
                    }
                }
            }
            for i in 0..<sampleCount { signal[i] = 0 }
            let offset = (configuration.padding == .centerReflect || configuration.padding == .centerZeros) ? n / 2 : 0
            for s in 0..<sampleCount {
                let i = s + offset
                if i < pad.count, norm[i] > T(1e-11) { signal[s] = pad[i] / norm[i] }
            }
        }
    }

    /// Allocating convenience.
    public func transform(_ signal: [T]) -> [T] {
        precondition(signal.count == sampleCount, "STFT: expected \(sampleCount) samples, got \(signal.count)")
        var out = [T](repeating: 0, count: spectrumCount)
        signal.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { o in transform(s.baseAddress!, into: o.baseAddress!) } }
        return out
    }

    /// `|STFT x|^2`, frames x bins row-major (allocating; for metrics and studies, not hot loops).
    public func power(_ signal: [T]) -> [T] {
        let spectrum = transform(signal)
        return (0..<(frameCount * binCount)).map { i -> T in
            let re = spectrum[2 * i], im = spectrum[2 * i + 1]
            return re * re + im * im
        }
    }
}
