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
        var phase = [T](repeating: 0, count: count)
        phase.withUnsafeMutableBufferPointer { p in
            for n in 0..<count {   // element-wise: vectorises (a `map` appending does not)
                let x = Double(n + 1) * cycles
                p[n] = T(2 * Double.pi * (x - roundedToNearest(x)))
            }
        }
        return phase
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

    /// A constant-frequency tone's per-block rotation table: cos and sin of `l w`, l < block length.
    struct SteadyTone {
        let cosines: [T], sines: [T]
        let limit: T

        init?(_ frequency: [T], sampleRate: Double, nyquist: T, harmonics h: Int) {
            guard let f = frequency.first, frequency.allSatisfy({ $0 == f }) else { return nil }
            // e^{i l w} by repeated rotation in float64 (error ~l ulp, far below T's): 2 trig
            // calls instead of 256.
            let w = 2 * Double.pi * Double(f) / sampleRate
            let cw = Double.cos(w), sw = Double.sin(w)
            var c = 1.0, s = 0.0
            var cosines = [T](), sines = [T]()
            cosines.reserveCapacity(harmonicBlockLength); sines.reserveCapacity(harmonicBlockLength)
            for _ in 0..<harmonicBlockLength {
                cosines.append(T(c)); sines.append(T(s))
                (c, s) = (c * cw - s * sw, s * cw + c * sw)
            }
            (self.cosines, self.sines) = (cosines, sines)
            limit = AdditiveKernel.harmonicLimit(f, nyquist, h)
        }
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
        func load(start: Int, count: Int, phase: [T], frequency: [T], nyquist: T, harmonics h: Int,
                  steady: SteadyTone? = nil) -> (top: Int, bottom: T) {
            if let steady {
                // Constant frequency: e^{i phi[start + l]} = e^{i phi[start]} e^{i l w}, one complex
                // multiply per sample from a table instead of two polynomial sines.
                let p0 = Double(phase[start]), s0 = T(Double.sin(p0)), c0 = T(Double.cos(p0))
                let ct = steady.cosines, st = steady.sines
                for l in 0..<count {
                    s1[l] = s0 * ct[l] + c0 * st[l]; c1[l] = c0 * ct[l] - s0 * st[l]
                    s[l] = s1[l]; c[l] = c1[l]; limit[l] = steady.limit
                }
                return (Int(steady.limit), steady.limit)
            }
            var top: T = 0, bottom = T(h)
            let cycles = T(1 / (2 * Double.pi))
            for l in 0..<count {
                let x = phase[start + l] * cycles
                s1[l] = sinTwoPi(x); c1[l] = cosTwoPi(x)
                s[l] = s1[l]; c[l] = c1[l]
            }
            for l in 0..<count { limit[l] = AdditiveKernel.harmonicLimit(frequency[start + l], nyquist, h) }   // vectorises
            for l in 0..<count { top = Swift.max(top, limit[l]); bottom = Swift.min(bottom, limit[l]) }
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
    ///
    /// `Float` (production) runs `FloatKernel`: eight samples per SIMD register, rotation and
    /// sums in registers. Other types (the float64 gradient checks) run element-wise loops,
    /// two harmonics per pass. (Generic `SIMD8<T>` code is several times slower than either:
    /// its operators do not specialise.)
    func synthesise(amplitudes amps: UnsafePointer<T>, frequency: [T], phase: [T],
                    output: UnsafeMutablePointer<T>, accumulate: Bool) {
        let h = harmonicCount
        let block = Block(capacity: harmonicBlockLength)
        defer { block.deallocate() }
        let w0 = upsampler.leftWeight, w1 = upsampler.rightWeight
        let s1 = block.s1, c1 = block.c1, s = block.s, c = block.c, limit = block.limit
        let steady = SteadyTone(frequency, sampleRate: sampleRate, nyquist: nyquist, harmonics: h)
        forEachBlock { start, count, left, right in
            let (top, bottom) = block.load(start: start, count: count, phase: phase, frequency: frequency, nyquist: nyquist, harmonics: h, steady: steady)
            let a0 = amps + left * h, a1 = amps + right * h
            if T.self == Float.self {
                FloatKernel.synthesise(block: Float.rebind(UnsafePointer(s1)), Float.rebind(UnsafePointer(c1)), Float.rebind(UnsafePointer(limit)), count: count,
                                       harmonics: top, unmasked: Int(bottom),
                                       amplitudes: Float.rebind(a0), Float.rebind(a1),
                                       weights: Float.rebind(w0, start), Float.rebind(w1, start),
                                       output: Float.rebind(output + start), accumulate: accumulate)
                return
            }
            let sum0 = block.a, sum1 = block.b
            for l in 0..<count { sum0[l] = 0; sum1[l] = 0 }
            var k = 0
            while k < top {
                let kA = T(k + 1), kB = T(k + 2), pair = k + 1 < top
                let xA0 = a0[k], xA1 = a1[k]
                let xB0: T = pair ? a0[k + 1] : 0, xB1: T = pair ? a1[k + 1] : 0
                if kB <= bottom {
                    for l in 0..<count {
                        let sA = s[l], cA = c[l], sn = s1[l], cn = c1[l]
                        let sB = sA * cn + cA * sn, cB = cA * cn - sA * sn
                        sum0[l] += xA0 * sA + xB0 * sB
                        sum1[l] += xA1 * sA + xB1 * sB
                        s[l] = sB * cn + cB * sn
                        c[l] = cB * cn - sB * sn
                    }
                } else {
                    for l in 0..<count {
                        let sA = s[l], cA = c[l], sn = s1[l], cn = c1[l]
                        let sB = sA * cn + cA * sn, cB = cA * cn - sA * sn
                        let vA: T = kA <= limit[l] ? sA : 0, vB: T = kB <= limit[l] ? sB : 0
                        sum0[l] += xA0 * vA + xB0 * vB
                        sum1[l] += xA1 * vA + xB1 * vB
                        s[l] = sB * cn + cB * sn
                        c[l] = cB * cn - sB * sn
                    }
                }
                k += 2
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
        let acc0 = UnsafeMutablePointer<T>.allocate(capacity: (h + 1) * cap), acc1 = UnsafeMutablePointer<T>.allocate(capacity: (h + 1) * cap)
        let g0 = UnsafeMutablePointer<T>.allocate(capacity: cap), g1 = UnsafeMutablePointer<T>.allocate(capacity: cap)
        let lanes = UnsafeMutableRawPointer.allocate(byteCount: 2 * (h + 1) * 64, alignment: 64)   // FloatKernel's SIMD sums
        defer { block.deallocate(); acc0.deallocate(); acc1.deallocate(); g0.deallocate(); g1.deallocate(); lanes.deallocate() }
        let w0 = upsampler.leftWeight, w1 = upsampler.rightWeight
        let s1 = block.s1, c1 = block.c1, s = block.s, c = block.c, limit = block.limit
        let steady = SteadyTone(frequency, sampleRate: sampleRate, nyquist: nyquist, harmonics: h)
        forEachBlock { start, count, left, right in
            let (top, bottom) = block.load(start: start, count: count, phase: phase, frequency: frequency, nyquist: nyquist, harmonics: h, steady: steady)
            for l in 0..<count { g0[l] = dy[start + l] * w0[start + l]; g1[l] = dy[start + l] * w1[start + l] }
            let phi0 = block.a, phi1 = block.b
            for l in 0..<count { phi0[l] = 0; phi1[l] = 0 }
            let a0 = amps + left * h, a1 = amps + right * h
            if T.self == Float.self {
                FloatKernel.backward(block: Float.rebind(UnsafePointer(s1)), Float.rebind(UnsafePointer(c1)), Float.rebind(UnsafePointer(limit)),
                                     count: count, top: top, amplitudes: Float.rebind(a0), Float.rebind(a1),
                                     cotangents: Float.rebind(UnsafePointer(g0)), Float.rebind(UnsafePointer(g1)),
                                     scratch: lanes, dLeft: Float.rebind(dAmps + left * h), dRight: Float.rebind(dAmps + right * h),
                                     dPhase: Float.rebind(dPhase + start))
                return
            }
            var k = 0
            while k < top {
                let kA = T(k + 1), kB = T(k + 2), pair = k + 1 < top
                let xA0 = kA * a0[k], xA1 = kA * a1[k]
                let xB0: T = pair ? kB * a0[k + 1] : 0, xB1: T = pair ? kB * a1[k + 1] : 0
                let pA0 = acc0 + k * cap, pA1 = acc1 + k * cap, pB0 = acc0 + (k + 1) * cap, pB1 = acc1 + (k + 1) * cap
                if kB <= bottom {
                    for l in 0..<count {
                        let sA = s[l], cA = c[l], sn = s1[l], cn = c1[l]
                        let sB = sA * cn + cA * sn, cB = cA * cn - sA * sn
                        pA0[l] = g0[l] * sA; pA1[l] = g1[l] * sA
                        pB0[l] = g0[l] * sB; pB1[l] = g1[l] * sB
                        phi0[l] += xA0 * cA + xB0 * cB
                        phi1[l] += xA1 * cA + xB1 * cB
                        s[l] = sB * cn + cB * sn
                        c[l] = cB * cn - sB * sn
                    }
                } else {
                    for l in 0..<count {
                        let sA = s[l], cA = c[l], sn = s1[l], cn = c1[l]
                        let sB = sA * cn + cA * sn, cB = cA * cn - sA * sn
                        let onA = kA <= limit[l], onB = kB <= limit[l]
                        let vsA: T = onA ? sA : 0, vcA: T = onA ? cA : 0, vsB: T = onB ? sB : 0, vcB: T = onB ? cB : 0
                        pA0[l] = g0[l] * vsA; pA1[l] = g1[l] * vsA
                        pB0[l] = g0[l] * vsB; pB1[l] = g1[l] * vsB
                        phi0[l] += xA0 * vcA + xB0 * vcB
                        phi1[l] += xA1 * vcA + xB1 * vcB
                        s[l] = sB * cn + cB * sn
                        c[l] = cB * cn - sB * sn
                    }
                }
                k += 2
            }
            for k in 0..<top {
                dAmps[left * h + k] += blockSum(acc0 + k * cap, count)
                dAmps[right * h + k] += blockSum(acc1 + k * cap, count)
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

    /// Number of harmonics `k` with `k f < nyquist` (at most `h`), as a lane value:
    /// `ceil(q) - 1` for `q = nyquist / f` (so `k f == nyquist` is masked, as DDSP's `f >= sr/2`).
    /// Branch-free (`roundedToNearest`, a select) so that the block loads vectorise.
    @inlinable
    static func harmonicLimit(_ f: T, _ nyquist: T, _ h: Int) -> T {
        let q = nyquist / Swift.max(f, T.leastNormalMagnitude)
        let r = roundedToNearest(Swift.min(q, T(h + 1)))
        let ceiling = r < q ? r + 1 : r
        return Swift.max(Swift.min(ceiling - 1, T(h)), 0)
    }
}

extension Float {
    /// The same memory seen as `Float` (callers check `T.self == Float.self` first).
    @inline(__always)
    static func rebind<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
    }
    @inline(__always)
    static func rebind<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
        UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
    }
    @inline(__always)
    static func rebind<T>(_ a: [T], _ offset: Int) -> UnsafePointer<Float> {
        a.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress! + offset).assumingMemoryBound(to: Float.self) }
    }
}

/// The additive kernel's inner loops for `Float`, on concrete SIMD types.
enum FloatKernel {
    typealias V = SIMD8<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ m: Int) -> V {
        if m == 8 { return UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        var v = V(repeating: 0)
        for j in 0..<m { v[j] = p[j] }
        return v
    }

    /// `harmonics`: the block's highest audible harmonic; `unmasked`: below it every sample
    /// of the block hears every harmonic (no mask needed).
    static func synthesise(block s1: UnsafePointer<Float>, _ c1: UnsafePointer<Float>, _ limit: UnsafePointer<Float>, count: Int,
                           harmonics top: Int, unmasked full: Int,
                           amplitudes a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>,
                           weights w0: UnsafePointer<Float>, _ w1: UnsafePointer<Float>,
                           output: UnsafeMutablePointer<Float>, accumulate: Bool) {
        var l = 0
        while l < count {
            let m = Swift.min(8, count - l)
            let s1v = load(s1 + l, m), c1v = load(c1 + l, m), lim = load(limit + l, m)
            var sv = s1v, cv = c1v
            var sum0 = V(repeating: 0), sum1 = V(repeating: 0)
            var k = 0
            // Groups of 8 unmasked harmonics: inside a group sin(k phi) follows the three-term
            // recurrence s_{k+1} = 2 cos(phi) s_k - s_{k-1} (one multiply-subtract instead of a
            // complex rotation); the group's anchor (sin, cos of k phi) advances exactly by
            // e^{i 8 phi}, so rounding errors cannot grow beyond a group (~8 ulp).
            if full >= 8 {
                let c2 = c1v * c1v - s1v * s1v, s2 = 2 * s1v * c1v
                let c4 = c2 * c2 - s2 * s2, s4 = 2 * s2 * c2
                let c8 = c4 * c4 - s4 * s4, s8 = 2 * s4 * c4
                let twoC = 2 * c1v
                while k + 8 <= full {
                    var previous = sv * c1v - cv * s1v   // sin(k phi) for harmonic k + 1 = sv
                    var current = sv
                    for j in 0..<8 {
                        sum0 += a0[k + j] * current
                        sum1 += a1[k + j] * current
                        let next = twoC * current - previous
                        previous = current
                        current = next
                    }
                    let sn = sv * c8 + cv * s8
                    cv = cv * c8 - sv * s8
                    sv = sn
                    k += 8
                }
            }
            while k < full {   // every lane below Nyquist: no mask
                sum0 += a0[k] * sv
                sum1 += a1[k] * sv
                let sn = sv * c1v + cv * s1v
                cv = cv * c1v - sv * s1v
                sv = sn
                k += 1
            }
            while k < top {
                let v = sv.replacing(with: 0, where: lim .< Float(k + 1))
                sum0 += a0[k] * v
                sum1 += a1[k] * v
                let sn = sv * c1v + cv * s1v
                cv = cv * c1v - sv * s1v
                sv = sn
                k += 1
            }
            let y = load(w0 + l, m) * sum0 + load(w1 + l, m) * sum1
            for j in 0..<m { if accumulate { output[l + j] += y[j] } else { output[l + j] = y[j] } }
            l += m
        }
    }
}

extension FloatKernel {
    /// Backward pass over one block: per-harmonic gradient sums accumulate lane-wise in
    /// `scratch` (2 x top x 8 floats, L1-resident) and are reduced across lanes once per block;
    /// the phase gradient's sums stay in registers.
    static func backward(block s1: UnsafePointer<Float>, _ c1: UnsafePointer<Float>, _ limit: UnsafePointer<Float>,
                         count: Int, top: Int, amplitudes a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>,
                         cotangents g0: UnsafePointer<Float>, _ g1: UnsafePointer<Float>, scratch: UnsafeMutableRawPointer,
                         dLeft: UnsafeMutablePointer<Float>, dRight: UnsafeMutablePointer<Float>, dPhase: UnsafeMutablePointer<Float>) {
        let acc = scratch.bindMemory(to: V.self, capacity: 2 * top)
        for k in 0..<(2 * top) { acc[k] = V(repeating: 0) }
        var l = 0
        while l < count {
            let m = Swift.min(8, count - l)
            let s1v = load(s1 + l, m), c1v = load(c1 + l, m), lim = load(limit + l, m)
            let g0v = load(g0 + l, m), g1v = load(g1 + l, m)
            var sv = s1v, cv = c1v
            var phi0 = V(repeating: 0), phi1 = V(repeating: 0)
            for k in 0..<top {
                let off = lim .< Float(k + 1)
                let vs = sv.replacing(with: 0, where: off), vc = cv.replacing(with: 0, where: off)
                acc[2 * k] += g0v * vs
                acc[2 * k + 1] += g1v * vs
                let kk = Float(k + 1)
                phi0 += (kk * a0[k]) * vc
                phi1 += (kk * a1[k]) * vc
                let sn = sv * c1v + cv * s1v
                cv = cv * c1v - sv * s1v
                sv = sn
            }
            let d = g0v * phi0 + g1v * phi1
            for j in 0..<m { dPhase[l + j] += d[j] }
            l += m
        }
        for k in 0..<top {
            dLeft[k] += acc[2 * k].sum()
            dRight[k] += acc[2 * k + 1].sum()
        }
    }
}
