import DSP
import RealModule

/// Differentiable wavetable synthesis (Shan et al. 2022): K single-cycle tables of length L
/// read by one phase accumulator and mixed per frame.
///
///     p[n]  = frac(sum_{m < n} f[m] / sr)                  (exclusive cumsum in cycles, as DDSP's wavetable)
///     w_k[n] = interp(T_k, p[n] L)                          (linear, or 4-point cubic Hermite)
///     y[n]  = A[n] sum_k pi_k[n] w_k[n],   pi[f] = softmax(mix logits[f]),  A, pi, f upsampled per sample
///
/// Tables are either learnable (K x L global parameters in [-1, 1]: Shan et al.'s setting, no
/// band-limiting, so bright tables alias at high f0) or fixed: built from harmonic amplitude
/// lists and band-limited per octave (a mipmap: the level read for frequency f holds only the
/// harmonics below Nyquist for 2f; the level switches at octave boundaries, where the f0
/// gradient ignores the switch).
///
/// Adjoint: dL/dA, dL/dpi (through the softmax Jacobian to the logits), dL/dT_k (scatter-add
/// with the interpolation weights) and dL/dp[n] = A sum_k pi_k dw_k/dp (the interpolant's
/// slope), then dL/df[m] = (1/sr) sum_{n > m} dL/dp[n] and the upsamplers' adjoints. With
/// linear interpolation dw/dp is piecewise constant (it jumps at table points); cubic is C1.
public struct WavetableSynth: Synth {
    public enum Interpolation: String, Sendable, Hashable, Codable { case linear, cubic }

    public enum Tables: Sendable, Hashable {
        case learnable(count: Int)
        /// One harmonic amplitude list per table (sine phase), band-limited per octave.
        case fixed([[Double]])
    }

    public let name: String
    public let sampleRate: Double
    public let tableLength: Int
    public let tableCount: Int
    public let interpolation: Interpolation
    public let learnable: Bool
    /// Fixed tables: [table][level][sample]; level l serves f < 20 * 2^(l + 1) Hz.
    public let mipmaps: [[[Double]]]
    public let parameters: [ParameterSpec]

    public static let f0Range: ClosedRange<Double> = 20...4000
    static let lowestLevelFrequency = 20.0

    /// The classic shapes as harmonic amplitude lists (sine phase): sine, triangle, saw, square.
    public static func basicShapes(harmonics h: Int = 255) -> [[Double]] {
        let sine = [1.0]
        let triangle: [Double] = (1...h).map { (k: Int) -> Double in
            guard k % 2 == 1 else { return 0 }
            let sign: Double = k % 4 == 1 ? 1 : -1
            return sign * 8 / (Double.pi * Double.pi * Double(k * k))
        }
        let saw: [Double] = (1...h).map { (k: Int) -> Double in 2 / (Double.pi * Double(k)) }
        let square: [Double] = (1...h).map { (k: Int) -> Double in k % 2 == 1 ? 4 / (Double.pi * Double(k)) : 0 }
        return [sine, triangle, saw, square]
    }

    public init(sampleRate: Double = 16000, tables: Tables = .learnable(count: 8), tableLength: Int = 512,
                interpolation: Interpolation = .linear, name: String? = nil) {
        precondition(tableLength >= 4, "wavetable: tables need at least 4 samples")
        self.sampleRate = sampleRate
        self.tableLength = tableLength
        self.interpolation = interpolation
        switch tables {
        case .learnable(let count):
            precondition(count >= 1, "wavetable: at least one table")
            tableCount = count; learnable = true; mipmaps = []
            self.name = name ?? "wavetable"
        case .fixed(let lists):
            precondition(!lists.isEmpty, "wavetable: at least one table")
            tableCount = lists.count; learnable = false
            mipmaps = lists.map { Self.mipmap($0, length: tableLength, sampleRate: sampleRate) }
            self.name = name ?? "wavetable-fixed"
        }
        var specs = [ParameterSpec("amplitude", range: 0...1, rate: .perFrame, defaultNormalised: 0.5, meaning: "loudness per frame")]
        for k in 1...tableCount {
            specs.append(ParameterSpec("mix_\(k)", unit: "logit", range: -8...8, rate: .perFrame, defaultNormalised: 0.5,
                                       meaning: "weight of table \(k) in the per-frame softmax mix"))
        }
        specs.append(ParameterSpec("f0", unit: "Hz", range: Self.f0Range, scale: .logarithmic, rate: .perFrame, default: 220,
                                   meaning: "the note's fundamental per frame"))
        if learnable {
            // Default tables: table k holds harmonic k (sine, octave, ...), a neutral start.
            for k in 0..<tableCount {
                for i in 0..<tableLength {
                    let v = Double.sin(2 * Double.pi * Double((k + 1) * i) / Double(tableLength))
                    specs.append(ParameterSpec("table\(k + 1)_\(i)", range: -1...1, defaultNormalised: (v + 1) / 2,
                                               meaning: "sample \(i) of learnable wavetable \(k + 1) (one period)"))
                }
            }
        }
        parameters = specs
    }

    /// Layout indices: amplitude 0, mix logits 1...K, f0, then the learnable tables (global).
    public var f0Index: Int { tableCount + 1 }
    public var tableIndex: Int { tableCount + 2 }

    /// The mipmap level read at frequency f: the octave [20 * 2^l, 20 * 2^(l+1)), within 0..<levels.
    @inline(__always)
    public static func mipLevel(_ f: Double, levels: Int) -> Int {
        let l = Int(Double.log2(Swift.max(f, 1) / lowestLevelFrequency).rounded(.down))
        return Swift.min(Swift.max(l, 0), levels - 1)
    }

    /// Per-octave band-limited copies of one table, normalised by the full table's peak.
    static func mipmap(_ harmonics: [Double], length: Int, sampleRate: Double) -> [[Double]] {
        let levels = Int((Double.log2(f0Range.upperBound / lowestLevelFrequency)).rounded(.up))
        let maxHarmonic = length / 2 - 1
        func table(upTo top: Int) -> [Double] {
            (0..<length).map { i in
                var v = 0.0
                for (h, a) in harmonics.enumerated() where h + 1 <= top && a != 0 {
                    v += a * Double.sin(2 * Double.pi * Double((h + 1) * i) / Double(length))
                }
                return v
            }
        }
        let full = table(upTo: maxHarmonic)
        let peak = Swift.max(full.map(abs).max() ?? 1, 1e-12)
        return (0..<levels).map { l in
            let top = Swift.min(maxHarmonic, Int((sampleRate / 2 / (lowestLevelFrequency * Double.exp2(Double(l + 1)))).rounded(.down)))
            return table(upTo: Swift.max(top, 1)).map { $0 / peak }
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func render<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>) {
        let plan = Plan<T>(self, controls.layout.frameCount, request.sampleCount)
        renderEachItem(controls, request, into: &audio) { b, out in Voice(plan, controls, item: b).forward(out) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func valueWithPullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest)
        -> (value: AudioBatch<T>, pullback: (AudioBatch<T>) -> Controls<T>) {
        renderThenPullback(controls, request) { [self] in pullback($0, $1, $2) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func pullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, _ dAudio: AudioBatch<T>) -> Controls<T> {
        let plan = Plan<T>(self, controls.layout.frameCount, request.sampleCount)
        return pullbackEachItem(controls, request, dAudio) { b, dy, g in Voice(plan, controls, item: b).backward(dy, into: g) }
    }
}

extension WavetableSynth {
    struct Plan<T: SynthScalar> {
        let synth: WavetableSynth
        let frameCount: Int, sampleCount: Int
        let upsampler: FrameUpsampler<T>
        let frequencyUpsampler: FrameUpsampler<Double>
        /// Fixed tables in T, [table][level] flattened: (table * levels + level) * L.
        let fixed: [T]
        let levels: Int

        init(_ synth: WavetableSynth, _ frameCount: Int, _ sampleCount: Int) {
            self.synth = synth
            self.frameCount = frameCount
            self.sampleCount = sampleCount
            upsampler = FrameUpsampler(frameCount: frameCount, sampleCount: sampleCount, interpolation: .ddspLinear)
            frequencyUpsampler = FrameUpsampler(frameCount: frameCount, sampleCount: sampleCount, interpolation: .ddspLinear)
            levels = synth.mipmaps.first?.count ?? 0
            fixed = synth.mipmaps.flatMap { $0.flatMap { $0.map { T($0) } } }
        }

        /// Mipmap level for frequency f: the octave [20 * 2^l, 20 * 2^(l+1)).
        @inline(__always)
        func level(_ f: Double) -> Int { WavetableSynth.mipLevel(f, levels: levels) }
    }

    struct Voice<T: SynthScalar> {
        let plan: Plan<T>
        let controls: Controls<T>
        let item: Int

        init(_ plan: Plan<T>, _ controls: Controls<T>, item: Int) {
            (self.plan, self.controls, self.item) = (plan, controls, item)
        }

        var synth: WavetableSynth { plan.synth }

        /// Per-frame physical values: amplitude, mixture weights (frame-major F x K), f0, and slopes.
        /// (f0 is mapped and upsampled in float64: the phase multiplies its rounding error by the
        /// sample index.)
        func frames() -> (amp: [T], ampSlope: [T], pi: [T], logitSlope: [T], f0: [Double], f0Slope: [Double]) {
            let nF = plan.frameCount, k = synth.tableCount, specs = synth.parameters.map(\.mapping)   // numbers only
            var amp = [T](repeating: 0, count: nF), ampSlope = amp
            var f0 = [Double](repeating: 0, count: nF), f0Slope = f0
            var pi = [T](repeating: 0, count: nF * k), logitSlope = pi
            for f in 0..<nF {
                (amp[f], ampSlope[f]) = specs[0].physicalWithDerivative(controls[item: item, parameter: 0, frame: f])
                (f0[f], f0Slope[f]) = specs[synth.f0Index].physicalWithDerivative(Double(controls[item: item, parameter: synth.f0Index, frame: f]))
                var logits = [T](repeating: 0, count: k)
                for j in 0..<k { (logits[j], logitSlope[f * k + j]) = specs[1 + j].physicalWithDerivative(controls[item: item, parameter: 1 + j, frame: f]) }
                let top = logits.max()!
                let e = logits.map { T.exp($0 - top) }
                let sum = e.reduce(0, +)
                for j in 0..<k { pi[f * k + j] = e[j] / sum }
            }
            return (amp, ampSlope, pi, logitSlope, f0, f0Slope)
        }

        /// Learnable tables in physical units (K x L).
        func tables() -> (values: [T], slope: T) {
            guard synth.learnable else { return ([], 0) }
            let base = controls.index(item: item, parameter: synth.tableIndex)
            let count = synth.tableCount * synth.tableLength
            return ((0..<count).map { 2 * controls.values[base + $0] - 1 }, 2)
        }

        struct Signals {
            var amp: [T], pi: [T], frequency: [Double], phase: [T]   // per sample; pi table-major K x N
        }

        func signals(_ fr: (amp: [T], ampSlope: [T], pi: [T], logitSlope: [T], f0: [Double], f0Slope: [Double])) -> Signals {
            let n = plan.sampleCount, k = synth.tableCount
            let amp = plan.upsampler.upsample(fr.amp), frequency = plan.frequencyUpsampler.upsample(fr.f0)
            var pi = [T](repeating: 0, count: n * k)
            fr.pi.withUnsafeBufferPointer { p in
                pi.withUnsafeMutableBufferPointer { out in
                    for j in 0..<k { plan.upsampler.upsample(p.baseAddress! + j, frameStride: k, into: out.baseAddress! + j * n) }
                }
            }
            // Exclusive cumsum in cycles, float64, wrapped to [0, 1).
            var phase = [T](repeating: 0, count: n)
            var acc = 0.0
            let inv = 1 / synth.sampleRate
            for i in 0..<n {
                phase[i] = T(acc)
                acc += frequency[i] * inv
                acc -= acc.rounded(.down)
            }
            return Signals(amp: amp, pi: pi, frequency: frequency, phase: phase)
        }

        /// Per-sample read positions shared by every table: the offsets (mip level included) of
        /// the taps and the fraction. Linear uses taps 1 and 2; cubic 0...3.
        struct Taps {
            var index: [[Int32]]   // 4 x N
            var fraction: [T]
        }

        func taps(_ s: Signals) -> Taps {
            let n = plan.sampleCount, len = synth.tableLength, lenT = T(len)
            var index = [[Int32]](repeating: [Int32](repeating: 0, count: n), count: 4)
            var fraction = [T](repeating: 0, count: n)
            for i in 0..<n {
                let x = Double(s.phase[i] * lenT)
                let i0 = Swift.min(Int(x), len - 1)    // (via Double: the generic T -> Int conversion is slow)
                fraction[i] = T(x - Double(i0))
                let base = synth.learnable ? 0 : plan.level(s.frequency[i]) * len
                let im = i0 == 0 ? len - 1 : i0 - 1, i1 = i0 + 1 == len ? 0 : i0 + 1, i2 = i1 + 1 == len ? 0 : i1 + 1
                index[0][i] = Int32(base + im); index[1][i] = Int32(base + i0)
                index[2][i] = Int32(base + i1); index[3][i] = Int32(base + i2)
            }
            return Taps(index: index, fraction: fraction)
        }

        /// Interpolation weights and their d/d(position) at fraction a.
        @inline(__always)
        static func weights(_ a: T, cubic: Bool) -> (w: (T, T, T, T), d: (T, T, T, T)) {
            if !cubic { return ((0, 1 - a, a, 0), (0, -1, 1, 0)) }
            let a2 = a * a, a3 = a2 * a
            return (((-a3 + 2 * a2 - a) / 2, (3 * a3 - 5 * a2 + 2) / 2, (-3 * a3 + 4 * a2 + a) / 2, (a3 - a2) / 2),
                    ((-3 * a2 + 4 * a - 1) / 2, (9 * a2 - 10 * a) / 2, (-9 * a2 + 8 * a + 1) / 2, (3 * a2 - 2 * a) / 2))
        }

        /// Table j's storage (learned K x L, or fixed: all mip levels of table j).
        func tablePointer(_ j: Int, _ learned: UnsafePointer<T>, _ fixed: UnsafePointer<T>) -> UnsafePointer<T> {
            synth.learnable ? learned + j * synth.tableLength : fixed + j * plan.levels * synth.tableLength
        }

        func forward(_ out: UnsafeMutablePointer<T>) {
            let fr = frames(), s = signals(fr), (tv, _) = tables(), tp = taps(s)
            let n = plan.sampleCount, k = synth.tableCount, cubic = synth.interpolation == .cubic
            for i in 0..<n { out[i] = 0 }
            tv.withUnsafeBufferPointer { learned in plan.fixed.withUnsafeBufferPointer { fixed in
                let learned = learned.baseAddress ?? UnsafePointer(bitPattern: 1)!, fixed = fixed.baseAddress ?? UnsafePointer(bitPattern: 1)!
                let i0 = tp.index[0], i1 = tp.index[1], i2 = tp.index[2], i3 = tp.index[3]
                for j in 0..<k {   // table-major: one element-wise pass per table
                    let t = tablePointer(j, learned, fixed), pj = j * n
                    if cubic {
                        for i in 0..<n {
                            let (w, _) = Self.weights(tp.fraction[i], cubic: true)
                            out[i] += s.pi[pj + i] * (w.0 * t[Int(i0[i])] + w.1 * t[Int(i1[i])] + w.2 * t[Int(i2[i])] + w.3 * t[Int(i3[i])])
                        }
                    } else {
                        for i in 0..<n {
                            let a = tp.fraction[i], lo = t[Int(i1[i])], hi = t[Int(i2[i])]
                            out[i] += s.pi[pj + i] * (lo + a * (hi - lo))
                        }
                    }
                }
            } }
            for i in 0..<n { out[i] *= s.amp[i] }
        }

        func backward(_ dy: UnsafeMutablePointer<T>, into g: UnsafeMutablePointer<T>) {
            let fr = frames(), s = signals(fr), (tv, tableSlope) = tables(), tp = taps(s)
            let n = plan.sampleCount, k = synth.tableCount, nF = plan.frameCount, lenI = synth.tableLength, len = T(lenI)
            let cubic = synth.interpolation == .cubic
            var y = [T](repeating: 0, count: n), slope = y
            var dPi = [T](repeating: 0, count: n * k)
            var dTables = [T](repeating: 0, count: synth.learnable ? k * lenI : 0)
            y.withUnsafeMutableBufferPointer { y in slope.withUnsafeMutableBufferPointer { slope in
            dPi.withUnsafeMutableBufferPointer { dPi in dTables.withUnsafeMutableBufferPointer { dTables in
            tv.withUnsafeBufferPointer { learned in plan.fixed.withUnsafeBufferPointer { fixed in
                let learned = learned.baseAddress ?? UnsafePointer(bitPattern: 1)!, fixed = fixed.baseAddress ?? UnsafePointer(bitPattern: 1)!
                let i0 = tp.index[0], i1 = tp.index[1], i2 = tp.index[2], i3 = tp.index[3]
                for j in 0..<k {
                    let t = tablePointer(j, learned, fixed), pj = j * n
                    for i in 0..<n {
                        let (w, d) = Self.weights(tp.fraction[i], cubic: cubic)
                        let v0 = cubic ? t[Int(i0[i])] : 0, v1 = t[Int(i1[i])], v2 = t[Int(i2[i])], v3 = cubic ? t[Int(i3[i])] : 0
                        let value: T = (w.0 * v0 + w.1 * v1) + (w.2 * v2 + w.3 * v3)
                        let dv: T = (d.0 * v0 + d.1 * v1) + (d.2 * v2 + d.3 * v3)
                        let p: T = s.pi[pj + i]
                        y[i] += p * value
                        slope[i] += p * dv
                        dPi[pj + i] = dy[i] * s.amp[i] * value
                    }
                    if synth.learnable {
                        let dt = dTables.baseAddress! + j * lenI
                        for i in 0..<n {
                            let (w, _) = Self.weights(tp.fraction[i], cubic: cubic)
                            let c = dy[i] * s.amp[i] * s.pi[pj + i]
                            dt[Int(i1[i])] += c * w.1
                            dt[Int(i2[i])] += c * w.2
                            if cubic {
                                dt[Int(i0[i])] += c * w.0
                                dt[Int(i3[i])] += c * w.3
                            }
                        }
                    }
                }
            } } } } } }
            var dAmp = [T](repeating: 0, count: n), dPhase = [T](repeating: 0, count: n)
            for i in 0..<n {
                dAmp[i] = dy[i] * y[i]
                dPhase[i] = dy[i] * s.amp[i] * slope[i] * len
            }
            // p[n] = sum_{m < n} f[m] / sr  ->  dL/df[m] = (1/sr) sum_{n > m} dL/dp[n]
            var dFrequency = [Double](repeating: 0, count: n)
            var running = 0.0
            for i in stride(from: n - 1, through: 0, by: -1) {
                dFrequency[i] = running / synth.sampleRate
                running += Double(dPhase[i])
            }
            let layout = controls.layout
            let dAmpF = plan.upsampler.adjoint(dAmp), dF0 = plan.frequencyUpsampler.adjoint(dFrequency)
            var dPiF = [T](repeating: 0, count: nF * k)
            dPi.withUnsafeBufferPointer { d in
                dPiF.withUnsafeMutableBufferPointer { o in
                    for j in 0..<k { plan.upsampler.accumulateAdjoint(d.baseAddress! + j * n, into: o.baseAddress! + j, frameStride: k) }
                }
            }
            for f in 0..<nF {
                g[layout.offsets[0] + f] += dAmpF[f] * fr.ampSlope[f]
                g[layout.offsets[synth.f0Index] + f] += T(dF0[f] * fr.f0Slope[f])
                // softmax: dz_j = pi_j (dpi_j - sum_l pi_l dpi_l)
                var dot: T = 0
                for j in 0..<k { dot += fr.pi[f * k + j] * dPiF[f * k + j] }
                for j in 0..<k {
                    g[layout.offsets[1 + j] + f] += fr.pi[f * k + j] * (dPiF[f * k + j] - dot) * fr.logitSlope[f * k + j]
                }
            }
            if synth.learnable {
                let base = layout.offsets[synth.tableIndex]
                for t in 0..<(k * lenI) { g[base + t] += dTables[t] * tableSlope }
            }
        }
    }
}
