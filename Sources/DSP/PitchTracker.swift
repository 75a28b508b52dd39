import RealModule

/// YIN, the fundamental-frequency estimator of de Cheveigné & Kawahara (2002, JASA 111(4)).
///
/// For a frame starting at sample `s`, with a window of `W` samples and lags `tau` up to the
/// longest period searched:
///
///     d(tau)  = sum_{j=0}^{W-1} (x[s+j] - x[s+j+tau])^2                    difference function (eq. 6)
///     d'(tau) = d(tau) tau / sum_{k=1}^{tau} d(k),   d'(0) = 1               cumulative mean normalised (eq. 8)
///
/// The period is the smallest lag in `[sr / maximumF0, sr / minimumF0]` at a local minimum of
/// `d'` below `threshold` (the paper's absolute threshold, step 4); when there is none, the
/// global minimum (the paper's fallback). A parabola through the minimum and its two
/// neighbours refines the lag below one sample (step 5), so a 220 Hz tone at 16 kHz (period
/// 72.7 samples) is read to a fraction of a cent. The value of `d'` at the chosen lag is the
/// frame's aperiodicity: near 0 for a periodic frame, near 1 for noise.
///
/// Framing follows librosa's `yin` (`center=True`, zero padding, frames every `hopLength`
/// samples), so frame `f` is centred on sample `f * hopLength`; the window is the frame
/// length less the longest lag, so that every lag reads inside the frame. librosa's own
/// difference function differs slightly (it drops the frame's tail energy), so the two agree
/// to a fraction of a cent on clean tones, not bit for bit (`Experiments/reference/yin.py`).
///
/// Cost: `W x maximum lag` multiply-adds per frame, about 0.8 M for the defaults at 16 kHz.
public struct PitchTracker: Sendable, Hashable {
    public var minimumF0: Double
    public var maximumF0: Double
    /// YIN's absolute threshold on `d'` (the paper's 0.1).
    public var threshold: Double
    public var frameLength: Int
    public var hopLength: Int

    /// One frame's estimate.
    public struct Frame: Sendable, Hashable {
        /// The middle of the samples the estimate compares, in seconds: frame `f` is centred on
        /// `f * hopLength`, but its difference function reads `[0, W + lag)` of the frame,
        /// about 15 ms earlier for the defaults at 16 kHz.
        public var time: Double
        public var f0: Double
        /// `d'` at the chosen lag: below `threshold` for a periodic frame.
        public var aperiodicity: Double
    }

    /// The defaults search 30-2100 Hz (a piano's low A1 to C7) with 2048-sample frames.
    public init(minimumF0: Double = 30, maximumF0: Double = 2100, threshold: Double = 0.1,
                frameLength: Int = 2048, hopLength: Int = 256) {
        self.minimumF0 = minimumF0
        self.maximumF0 = maximumF0
        self.threshold = threshold
        self.frameLength = frameLength
        self.hopLength = hopLength
    }

    public enum SetupError: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String { if case .invalid(let s) = self { return s }; return "" }
    }

    /// The lag range in samples at `sampleRate`, checked against the frame length.
    public func lagRange(sampleRate: Double) throws -> ClosedRange<Int> {
        guard minimumF0.isFinite, maximumF0.isFinite, minimumF0 > 0, maximumF0 > minimumF0 else {
            throw SetupError.invalid("pitch tracker: need 0 < minimum f0 < maximum f0 (got \(minimumF0), \(maximumF0))")
        }
        guard maximumF0 < sampleRate / 2 else { throw SetupError.invalid("pitch tracker: maximum f0 \(maximumF0) Hz is not below Nyquist (\(sampleRate / 2) Hz)") }
        guard hopLength >= 1, frameLength >= 16 else { throw SetupError.invalid("pitch tracker: frame length >= 16 and hop >= 1 needed") }
        let shortest = Swift.max(2, Int((sampleRate / maximumF0).rounded(.down)))
        let longest = Int((sampleRate / minimumF0).rounded(.up))
        guard longest + 2 <= frameLength / 2 else {
            throw SetupError.invalid("pitch tracker: a \(frameLength)-sample frame is too short for \(minimumF0) Hz at \(sampleRate) Hz (needs \(2 * (longest + 2)))")
        }
        return shortest...longest
    }

    /// Frame-by-frame estimates over the whole signal.
    public func track(_ x: [Float], sampleRate: Double) throws -> [Frame] {
        let lags = try lagRange(sampleRate: sampleRate)
        let maxLag = lags.upperBound + 1   // one more lag for the parabola at the range's end
        let window = frameLength - maxLag
        let half = frameLength / 2
        // Zero-padded copy in Double: the difference function subtracts nearly equal sums.
        var padded = [Double](repeating: 0, count: x.count + 2 * half)
        for i in x.indices { padded[half + i] = Double(x[i]) }
        let frameCount = 1 + x.count / hopLength
        var d = [Double](repeating: 0, count: maxLag + 1)
        var cmnd = [Double](repeating: 1, count: maxLag + 1)
        var frames: [Frame] = []
        frames.reserveCapacity(frameCount)
        padded.withUnsafeBufferPointer { p in
            for f in 0..<frameCount {
                let s = f * hopLength
                guard s + window + maxLag <= p.count else { break }
                let base = p.baseAddress! + s
                for tau in 1...maxLag {
                    var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, j = 0
                    while j + 4 <= window {
                        let e0 = base[j] - base[j + tau], e1 = base[j + 1] - base[j + 1 + tau]
                        let e2 = base[j + 2] - base[j + 2 + tau], e3 = base[j + 3] - base[j + 3 + tau]
                        a0 += e0 * e0; a1 += e1 * e1; a2 += e2 * e2; a3 += e3 * e3
                        j += 4
                    }
                    while j < window { let e = base[j] - base[j + tau]; a0 += e * e; j += 1 }
                    d[tau] = (a0 + a1) + (a2 + a3)
                }
                var running = 0.0
                for tau in 1...maxLag {
                    running += d[tau]
                    cmnd[tau] = running > 0 ? d[tau] * Double(tau) / running : 1
                }
                let period = Self.period(cmnd, raw: d, lags: lags, threshold: threshold)
                // The samples compared span [0, window + lag) of the frame: their middle is the time read.
                let middle = Double(s - half) + (Double(window) + period.lag) / 2
                frames.append(Frame(time: middle / sampleRate, f0: sampleRate / period.lag, aperiodicity: period.value))
            }
        }
        return frames
    }

    /// Step 4 (absolute threshold on `d'`: first local minimum below it, else the global
    /// minimum) and step 5 (parabolic interpolation on the raw difference function `d`, as the
    /// paper does: the normalisation of `d'` tilts the minimum and biases the lag, by 2.6 cents
    /// at 880 Hz and 16 kHz when interpolating `d'`).
    static func period(_ cmnd: [Double], raw d: [Double], lags: ClosedRange<Int>, threshold: Double) -> (lag: Double, value: Double) {
        var chosen: Int?
        var tau = lags.lowerBound
        while tau <= lags.upperBound {
            if cmnd[tau] < threshold {
                while tau + 1 <= lags.upperBound, cmnd[tau + 1] < cmnd[tau] { tau += 1 }
                chosen = tau
                break
            }
            tau += 1
        }
        let best = chosen ?? lags.min { cmnd[$0] < cmnd[$1] }!
        // lags.lowerBound >= 2 and the tracker computes one lag past the range: both neighbours exist.
        let a = d[best - 1], b = d[best], c = d[best + 1]
        let curvature = a - 2 * b + c
        var shift = curvature > 0 ? 0.5 * (a - c) / curvature : 0
        if abs(shift) > 1 { shift = 0 }
        return (Double(best) + shift, cmnd[best])
    }
}
