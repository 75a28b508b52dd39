import DSP

/// Samples per block of the kernels: the per-harmonic work runs as element-wise loops over a
/// block (independent samples, so LLVM vectorises them once specialised), and the rotation
/// recurrence runs across harmonics in the outer loop.
let harmonicBlockLength = 128

/// The additive oscillator shared by every harmonic module (DDSP harmonic bank, subtractive):
///
///     y[n] = sum_k [k f[n] < sr/2] a_k[n] sin(k phi[n]),   a_k[n] = w0[n] A[j[n], k] + w1[n] A[j[n]+1, k]
///
/// with frame-major amplitudes `A` (frames x harmonics) upsampled by any two-tap
/// `FrameUpsampler` rule. `sin(k phi)` comes from the rotation `e^{i k phi} = e^{i (k-1) phi}
/// e^{i phi}` (one complex multiply per harmonic instead of a `sin` call, error ~k ulp).
///
/// Adjoint: dL/dA[j, k] = sum_n w[n] g[n] sin(k phi[n]) over the samples touching frame j;
/// dL/dphi[n] = g[n] sum_k k a_k[n] cos(k phi[n]). The Nyquist masks are hard: their
/// derivative with respect to f is 0 almost everywhere and undefined where a harmonic
/// crosses sr/2 (no smoothing, as in DDSP).
struct AdditiveKernel<T: SynthScalar> {
    let harmonicCount: Int
    let nyquist: T
    let sampleRate: Double
    let upsampler: FrameUpsampler<T>

    init(harmonicCount: Int, sampleRate: Double, upsampler: FrameUpsampler<T>) {
        self.harmonicCount = harmonicCount
        self.sampleRate = sampleRate
        self.nyquist = T(sampleRate / 2)
        self.upsampler = upsampler
    }

    /// Wrapped phase `phi[n] = sum_{m <= n} 2 pi f[m] / sr` (inclusive cumsum, float64 accumulator).
    static func phases(_ frequency: [T], sampleRate: Double) -> [T] {
        var phase = [T](repeating: 0, count: frequency.count)
        let scale = 2 * Double.pi / sampleRate
        var acc = 0.0
        for i in 0..<frequency.count {
            acc += scale * Double(frequency[i])
            if acc >= Double.pi || acc < -Double.pi { acc -= 2 * Double.pi * (acc / (2 * Double.pi)).rounded() }
            phase[i] = T(acc)
        }
        return phase
    }

    /// Phase of a constant frequency: `phi[n] = (n + 1) 2 pi f / sr`, wrapped, exact in float64.
    static func phases(constant f: Double, count: Int, sampleRate: Double) -> [T] {
        let cycles = f / sampleRate
        return (0..<count).map { n in
            let x = Double(n + 1) * cycles
            return T(2 * Double.pi * (x - x.rounded()))
        }
    }

    /// dL/df[m] = 2 pi / sr * sum_{n >= m} dL/dphi[n]  (reverse cumsum, float64).
    static func frequencyGradient(_ dPhase: [T], sampleRate: Double) -> [T] {
        var dFrequency = [T](repeating: 0, count: dPhase.count)
        var running = 0.0
        let scale = 2 * Double.pi / sampleRate
        for i in stride(from: dPhase.count - 1, through: 0, by: -1) {
            running += Double(dPhase[i])
            dFrequency[i] = T(running * scale)
        }
        return dFrequency
    }

    /// Per-block scratch: the fundamental's sin/cos, the running sin/cos of harmonic k,
    /// each sample's harmonic limit, and accumulators.
    struct Block {
        let capacity: Int
        let s1, c1, s, c, limit, sk, a, b: UnsafeMutablePointer<T>
        init(capacity: Int) {
            self.capacity = capacity
            let all = UnsafeMutablePointer<T>.allocate(capacity: 8 * capacity)
            all.initialize(repeating: 0, count: 8 * capacity)
            (s1, c1, s, c) = (all, all + capacity, all + 2 * capacity, all + 3 * capacity)
            (limit, sk, a, b) = (all + 4 * capacity, all + 5 * capacity, all + 6 * capacity, all + 7 * capacity)
        }
        func deallocate() { s1.deallocate() }

        /// Loads sin/cos of the phase and the harmonic limits of `count` samples from `start`.
        /// Returns the largest and smallest limit.
        func load(start: Int, count: Int, phase: [T], frequency: [T], nyquist: T, harmonics h: Int) -> (top: Int, bottom: T) {
            var top: T = 0, bottom = T(h)
            for l in 0..<count {
                let i = start + l
                s1[l] = T.sin(phase[i]); c1[l] = T.cos(phase[i])
                s[l] = s1[l]; c[l] = c1[l]
                limit[l] = AdditiveKernel.harmonicLimit(frequency[i], nyquist, h)
                top = Swift.max(top, limit[l]); bottom = Swift.min(bottom, limit[l])
            }
            return (Int(top), bottom)
        }

        /// Advances (s, c) from harmonic k to k + 1: one complex multiply by e^{i phi}.
        @inline(__always)
        func rotate(_ count: Int) {
            for l in 0..<count {
                let sn = s[l] * c1[l] + c[l] * s1[l]
                c[l] = c[l] * c1[l] - s[l] * s1[l]
                s[l] = sn
            }
        }
    }

    /// Writes (or adds, with `accumulate`) the oscillator's output for one item.
    func synthesise(amplitudes amps: UnsafePointer<T>, frequency: [T], phase: [T],
                    output: UnsafeMutablePointer<T>, accumulate: Bool) {
        let h = harmonicCount
        let block = Block(capacity: harmonicBlockLength)
        defer { block.deallocate() }
        let w0 = upsampler.leftWeight, w1 = upsampler.rightWeight
        forEachBlock { start, count, left, right in
            let (top, bottom) = block.load(start: start, count: count, phase: phase, frequency: frequency, nyquist: nyquist, harmonics: h)
            let sum0 = block.a, sum1 = block.b
            for l in 0..<count { sum0[l] = 0; sum1[l] = 0 }
            let a0 = amps + left * h, a1 = amps + right * h
            for k in 0..<top {
                if k > 0 { block.rotate(count) }
                let x0 = a0[k], x1 = a1[k], kk = T(k + 1)
                if kk <= bottom {
                    for l in 0..<count { sum0[l] += x0 * block.s[l]; sum1[l] += x1 * block.s[l] }
                } else {
                    for l in 0..<count {
                        let v = kk <= block.limit[l] ? block.s[l] : 0
                        sum0[l] += x0 * v; sum1[l] += x1 * v
                    }
                }
            }
            if accumulate {
                for l in 0..<count { output[start + l] += w0[start + l] * sum0[l] + w1[start + l] * sum1[l] }
            } else {
                for l in 0..<count { output[start + l] = w0[start + l] * sum0[l] + w1[start + l] * sum1[l] }
            }
        }
    }

    /// Adds dL/dA (frame-major) into `dAmplitudes` and dL/dphi into `dPhase`, given dL/dy.
    func backward(amplitudes amps: UnsafePointer<T>, frequency: [T], phase: [T], dy: UnsafePointer<T>,
                  dAmplitudes dAmps: UnsafeMutablePointer<T>, dPhase: UnsafeMutablePointer<T>) {
        let h = harmonicCount, cap = harmonicBlockLength
        let block = Block(capacity: cap)
        // Per-harmonic, per-sample products, reduced over samples once per block (element-wise
        // loops vectorise; a running scalar sum would not, floating-point sums being ordered).
        let acc0 = UnsafeMutablePointer<T>.allocate(capacity: h * cap), acc1 = UnsafeMutablePointer<T>.allocate(capacity: h * cap)
        let g0 = UnsafeMutablePointer<T>.allocate(capacity: cap), g1 = UnsafeMutablePointer<T>.allocate(capacity: cap)
        defer { block.deallocate(); acc0.deallocate(); acc1.deallocate(); g0.deallocate(); g1.deallocate() }
        let w0 = upsampler.leftWeight, w1 = upsampler.rightWeight
        forEachBlock { start, count, left, right in
            let (top, bottom) = block.load(start: start, count: count, phase: phase, frequency: frequency, nyquist: nyquist, harmonics: h)
            for l in 0..<count { g0[l] = dy[start + l] * w0[start + l]; g1[l] = dy[start + l] * w1[start + l] }
            let phi0 = block.a, phi1 = block.b
            for l in 0..<count { phi0[l] = 0; phi1[l] = 0 }
            let a0 = amps + left * h, a1 = amps + right * h
            for k in 0..<top {
                if k > 0 { block.rotate(count) }
                let kk = T(k + 1), x0 = kk * a0[k], x1 = kk * a1[k]
                let p0 = acc0 + k * cap, p1 = acc1 + k * cap
                if kk <= bottom {
                    for l in 0..<count {
                        p0[l] = g0[l] * block.s[l]; p1[l] = g1[l] * block.s[l]
                        phi0[l] += x0 * block.c[l]; phi1[l] += x1 * block.c[l]
                    }
                } else {
                    for l in 0..<count {
                        let on = kk <= block.limit[l]
                        let sv = on ? block.s[l] : 0, cv = on ? block.c[l] : 0
                        p0[l] = g0[l] * sv; p1[l] = g1[l] * sv
                        phi0[l] += x0 * cv; phi1[l] += x1 * cv
                    }
                }
            }
            for k in 0..<top {
                var s0: T = 0, s1: T = 0
                let p0 = acc0 + k * cap, p1 = acc1 + k * cap
                for l in 0..<count { s0 += p0[l]; s1 += p1[l] }
                dAmps[left * h + k] += s0
                dAmps[right * h + k] += s1
            }
            for l in 0..<count { dPhase[start + l] += g0[l] * phi0[l] + g1[l] * phi1[l] }
        }
    }

    /// Calls `body(start, count, leftFrame, rightFrame)` for blocks of up to
    /// `harmonicBlockLength` consecutive samples that share their amplitude frames.
    func forEachBlock(_ body: (Int, Int, Int, Int) -> Void) {
        let lf = upsampler.leftFrame, last = upsampler.frameCount - 1, n = upsampler.sampleCount
        var i = 0
        while i < n {
            let left = Int(lf[i])
            var count = 1
            while count < harmonicBlockLength, i + count < n, Int(lf[i + count]) == left { count += 1 }
            body(i, count, left, Swift.min(left + 1, last))
            i += count
        }
    }

    /// Number of harmonics `k` with `k f < nyquist` (at most `h`), as a lane value.
    @inlinable
    static func harmonicLimit(_ f: T, _ nyquist: T, _ h: Int) -> T {
        guard f > 0 else { return T(h) }
        let q = nyquist / f
        var k = Swift.min(T(h), q.rounded(.down))
        if k == q { k -= 1 }   // k f == nyquist is masked (DDSP: f >= sr/2)
        return Swift.max(k, 0)
    }
}
