import DSP
import RealModule

/// Waveshaping synthesis (Le Brun 1979) with NEWT's per-frame affine control (Hayes et al. 2021):
///
///     e[n]   = sin(phi[n]),  phi = inclusive cumsum 2 pi f / sr          (a sinusoidal exciter)
///     x_s[n] = a_s[n] e[n] + b_s[n]                                       (index gain and bias)
///     y[n]   = sum_s ( c_s[n] shaper_s(x_s[n]) + d_s[n] )                  (normalisation gain and bias)
///
/// with a, b, c, d and f0 per frame (linearly upsampled) and a bank of S shapers whose own
/// parameters are global (learnable). Shapers (`Shaper`):
/// - `chebyshev(order:)`: `sum_k h_k T_k(x)`. With `a = 1, b = 0`, `T_k(sin phi) = cos(k (phi - pi/2))`,
///   so `h_k` sets harmonic k exactly. The input is clamped to [-1, 1], where the polynomials
///   live (gradient 0 outside).
/// - `mlp(width:)`: NEWT's sine MLP `1 -> W -> W -> 1` with a learned input scale and sin after
///   every layer, output included; parameters start from a seeded N(0, 1) draw (input scale
///   N(0, 1) x 10, as NEWT).
/// - `lookup(width:size:range:)`: FastNEWT. The same MLP tabulated on `size` points over
///   [-range, range] (spacing `2 range / (size - 1)`: NEWT's reference builds with that spacing
///   but indexes with `size / (2 range)`; we index consistently), read with linear
///   interpolation and clamped at the edges. Its gradient is exact for the tabulated function:
///   dL/dtable by the interpolation weights, then back through the MLP at the grid points
///   (so training through the table costs `size`, not N, MLP backward passes).
public struct WaveshaperSynth: Synth {
    public enum Shaper: Sendable, Hashable {
        case chebyshev(order: Int)
        case mlp(width: Int)
        case lookup(width: Int, size: Int, range: Double)
    }

    public let name: String
    public let sampleRate: Double
    public let shaper: Shaper
    public let shaperCount: Int
    public let parameters: [ParameterSpec]

    public static let f0Range: ClosedRange<Double> = 20...4000

    public init(sampleRate: Double = 16000, shaper: Shaper = .chebyshev(order: 8), shaperCount: Int = 4, name: String? = nil) {
        precondition(shaperCount >= 1, "waveshaper: at least one shaper")
        switch shaper {
        case .chebyshev(let k): precondition(k >= 1, "waveshaper: Chebyshev order >= 1")
        case .mlp(let w): precondition((1...64).contains(w), "waveshaper: MLP width in 1...64")
        case .lookup(let w, let size, let r): precondition((1...64).contains(w) && size >= 2 && r > 0, "waveshaper: bad lookup table")
        }
        self.sampleRate = sampleRate
        self.shaper = shaper
        self.shaperCount = shaperCount
        switch shaper {
        case .chebyshev: self.name = name ?? "waveshaper"
        case .mlp: self.name = name ?? "newt"
        case .lookup: self.name = name ?? "newt-fast"
        }
        var specs = [ParameterSpec("f0", unit: "Hz", range: Self.f0Range, scale: .logarithmic, rate: .perFrame, default: 220,
                                   meaning: "the sine exciter's frequency per frame")]
        for s in 1...shaperCount {
            func frame(_ n: String, _ r: ClosedRange<Double>, _ v: Double, _ meaning: String) -> ParameterSpec {
                ParameterSpec("shaper\(s)_\(n)", range: r, rate: .perFrame, defaultNormalised: (v - r.lowerBound) / (r.upperBound - r.lowerBound),
                              meaning: "shaper \(s): \(meaning)")
            }
            specs += [frame("index_gain", -4...4, 1, "gain on the exciter before the shaper (brightness)"),
                      frame("index_bias", -2...2, 0, "offset added to the exciter before the shaper"),
                      frame("norm_gain", -2...2, 0.5 / Double(shaperCount), "output gain of the shaper"),
                      frame("norm_bias", -1...1, 0, "output offset, subtracted as NEWT normalises")]
        }
        var rng = CounterRandom(key: 0x4E455754)   // "NEWT": a fixed, documented initialisation
        for s in 1...shaperCount {
            switch shaper {
            case .chebyshev(let order):
                for k in 1...order {
                    // Shaper s starts as harmonic s (the rest 0): a neutral, distinct bank.
                    let v = k == s ? 1.0 : 0.0
                    specs.append(ParameterSpec("shaper\(s)_h\(k)", range: -1...1, defaultNormalised: (v + 1) / 2,
                                               meaning: "shaper \(s): weight of Chebyshev polynomial T\(k) (harmonic \(k) of a full-scale sine)"))
                }
            case .mlp(let w), .lookup(let w, _, _):
                for (n, scale) in Self.mlpParameterNames(width: w) {
                    let r = n == "in_scale" ? -40.0...40.0 : -4.0...4.0
                    let v = Swift.min(Swift.max(rng.normal() * scale, r.lowerBound), r.upperBound)
                    specs.append(ParameterSpec("shaper\(s)_\(n)", range: r, defaultNormalised: (v - r.lowerBound) / (r.upperBound - r.lowerBound),
                                               meaning: "shaper \(s): weight \(n) of its sine MLP"))
                }
            }
        }
        parameters = specs
    }

    /// MLP parameter names in layout order, with the initial standard deviation of each.
    static func mlpParameterNames(width w: Int) -> [(String, Double)] {
        var names = [("in_scale", 10.0)]
        for i in 0..<w { names.append(("w1_\(i)", 1)) }
        for i in 0..<w { names.append(("b1_\(i)", 1)) }
        for o in 0..<w { for i in 0..<w { names.append(("w2_\(o)_\(i)", 1 / Double(w).squareRoot())) } }
        for i in 0..<w { names.append(("b2_\(i)", 1)) }
        for i in 0..<w { names.append(("w3_\(i)", 1 / Double(w).squareRoot())) }
        names.append(("b3", 1))
        return names
    }

    /// Global parameters per shaper.
    var shaperParameterCount: Int {
        switch shaper {
        case .chebyshev(let k): return k
        case .mlp(let w), .lookup(let w, _, _): return 1 + 3 * w + w * w + w + 1
        }
    }
    /// Index of shaper s's first per-frame parameter, and of its first global parameter.
    func frameIndex(_ s: Int) -> Int { 1 + 4 * s }
    func globalIndex(_ s: Int) -> Int { 1 + 4 * shaperCount + s * shaperParameterCount }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func render<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>) {
        let up = FrameUpsampler<T>(frameCount: controls.layout.frameCount, sampleCount: request.sampleCount, interpolation: .halfPixel)
        renderEachItem(controls, request, into: &audio) { b, out in
            Voice(self, up, controls, item: b).run(output: out, cotangent: nil, gradient: nil)
        }
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
        let n = request.sampleCount
        let up = FrameUpsampler<T>(frameCount: controls.layout.frameCount, sampleCount: n, interpolation: .halfPixel)
        return pullbackEachItem(controls, request, dAudio) { b, dy, g in
            let scratch = UnsafeMutablePointer<T>.allocate(capacity: n)
            defer { scratch.deallocate() }
            Voice(self, up, controls, item: b).run(output: scratch, cotangent: dy, gradient: g)
        }
    }
}

extension WaveshaperSynth {
    /// One shaper's function, value and derivative, and (backward) its parameter gradient.
    struct MLP<T: SynthScalar> {
        let w: Int
        let p: [T]   // in_scale, w1, b1, w2 (row-major out x in), b2, w3, b3

        @inline(__always) var inScale: T { p[0] }
        @inline(__always) func w1(_ i: Int) -> T { p[1 + i] }
        @inline(__always) func b1(_ i: Int) -> T { p[1 + w + i] }
        @inline(__always) func w2(_ o: Int, _ i: Int) -> T { p[1 + 2 * w + o * w + i] }
        @inline(__always) func b2(_ i: Int) -> T { p[1 + 2 * w + w * w + i] }
        @inline(__always) func w3(_ i: Int) -> T { p[1 + 3 * w + w * w + i] }
        @inline(__always) var b3: T { p[1 + 4 * w + w * w] }

        /// f(x) and f'(x); with `cotangent`, adds `cotangent * df/dp` into `dp` (float64).
        func evaluate(_ x: T, cotangent: T? = nil, into dp: UnsafeMutablePointer<Double>? = nil,
                      scratch: UnsafeMutablePointer<T>) -> (value: T, slope: T) {
            let z1 = scratch, h1 = scratch + w, z2 = scratch + 2 * w, h2 = scratch + 3 * w, dh = scratch + 4 * w, dz = scratch + 5 * w
            let u = inScale * x
            for i in 0..<w { z1[i] = w1(i) * u + b1(i); h1[i] = T.sin(z1[i]) }
            var z3 = b3
            for o in 0..<w {
                var s = b2(o)
                for i in 0..<w { s += w2(o, i) * h1[i] }
                z2[o] = s; h2[o] = T.sin(s)
                z3 += w3(o) * h2[o]
            }
            let y = T.sin(z3), dz3 = T.cos(z3)
            // Reverse mode with seed 1 for the slope (and `cotangent` for the parameters).
            for o in 0..<w { dh[o] = dz3 * w3(o) * T.cos(z2[o]) }          // d y / d z2[o]
            var slope: T = 0
            for i in 0..<w {
                var s: T = 0
                for o in 0..<w { s += dh[o] * w2(o, i) }
                dz[i] = s * T.cos(z1[i])                                     // d y / d z1[i]
                slope += dz[i] * w1(i)
            }
            let dydx = slope * inScale
            if let c = cotangent, let dp {
                let cd = Double(c)
                dp[0] += cd * Double(slope * x)
                for i in 0..<w {
                    dp[1 + i] += cd * Double(dz[i] * u)
                    dp[1 + w + i] += cd * Double(dz[i])
                }
                for o in 0..<w {
                    for i in 0..<w { dp[1 + 2 * w + o * w + i] += cd * Double(dh[o] * h1[i]) }
                    dp[1 + 2 * w + w * w + o] += cd * Double(dh[o])
                    dp[1 + 3 * w + w * w + o] += cd * Double(dz3 * h2[o])
                }
                dp[1 + 4 * w + w * w] += cd * Double(dz3)
            }
            return (y, dydx)
        }
    }

    struct Voice<T: SynthScalar> {
        let synth: WaveshaperSynth
        let up: FrameUpsampler<T>
        let controls: Controls<T>
        let item: Int

        init(_ synth: WaveshaperSynth, _ up: FrameUpsampler<T>, _ controls: Controls<T>, item: Int) {
            (self.synth, self.up, self.controls, self.item) = (synth, up, controls, item)
        }

        /// Per-frame physical values and slopes of a per-frame parameter.
        func frames(_ p: Int) -> (value: [T], slope: [T]) {
            let spec = synth.parameters[p]
            var v = [T](), d = [T]()
            for f in 0..<controls.layout.frameCount {
                let (x, s) = spec.physicalWithDerivative(controls[item: item, parameter: p, frame: f])
                v.append(x); d.append(s)
            }
            return (v, d)
        }

        func globals(_ s: Int) -> (value: [T], slope: [T]) {
            let base = synth.globalIndex(s)
            var v = [T](), d = [T]()
            for j in 0..<synth.shaperParameterCount {
                let (x, sl) = synth.parameters[base + j].physicalWithDerivative(controls[item: item, parameter: base + j, frame: 0])
                v.append(x); d.append(sl)
            }
            return (v, d)
        }

        /// Forward (and, with a cotangent, backward into `gradient`).
        func run(output y: UnsafeMutablePointer<T>, cotangent dy: UnsafeMutablePointer<T>?, gradient g: UnsafeMutablePointer<T>?) {
            let n = up.sampleCount, layout = controls.layout
            // f0 in float64 for the phase (it multiplies rounding errors by the sample index).
            var f0d = [Double](), f0Slope = [Double]()
            for f in 0..<layout.frameCount {
                let (v, s) = synth.parameters[0].physicalWithDerivative(Double(controls[item: item, parameter: 0, frame: f]))
                f0d.append(v); f0Slope.append(s)
            }
            let upD = FrameUpsampler<Double>(frameCount: layout.frameCount, sampleCount: n, interpolation: .halfPixel)
            let frequency = upD.upsample(f0d)
            var phase = [T](repeating: 0, count: n)
            var acc = 0.0
            for i in 0..<n {
                acc += 2 * Double.pi * frequency[i] / synth.sampleRate
                acc -= 2 * Double.pi * (acc / (2 * Double.pi)).rounded()
                phase[i] = T(acc)
            }
            let exciter = phase.map { T.sin($0) }
            for i in 0..<n { y[i] = 0 }
            var dPhase = [T](repeating: 0, count: dy == nil ? 0 : n)
            let scratch = UnsafeMutablePointer<T>.allocate(capacity: 6 * 64 + 64)
            defer { scratch.deallocate() }
            for s in 0..<synth.shaperCount {
                let fi = synth.frameIndex(s)
                let (a, aSlope) = frames(fi), (b, bSlope) = frames(fi + 1), (c, cSlope) = frames(fi + 2), (d, dSlope) = frames(fi + 3)
                let au = up.upsample(a), bu = up.upsample(b), cu = up.upsample(c), du = up.upsample(d)
                let (params, pSlope) = globals(s)
                var dParams = [Double](repeating: 0, count: params.count)
                var da = [T](repeating: 0, count: dy == nil ? 0 : n), db = da, dc = da, dd = da
                let shape = ShapeFunction<T>(synth.shaper, params)
                var table: [T]? = nil
                var dTable = [T]()
                if case .lookup(_, let size, let range) = synth.shaper {
                    table = shape.tabulate(size: size, range: range, scratch: scratch)
                    dTable = [T](repeating: 0, count: dy == nil ? 0 : size)
                }
                dParams.withUnsafeMutableBufferPointer { dp in
                    for i in 0..<n {
                        let x = au[i] * exciter[i] + bu[i]
                        let (v, slope): (T, T)
                        if let table, case .lookup(_, let size, let range) = synth.shaper {
                            let r = ShapeFunction<T>.read(table, x, size: size, range: range)
                            (v, slope) = (r.value, r.slope)
                            if let dy {
                                let w = dy[i] * cu[i]
                                dTable[r.index] += w * r.weights.0
                                if r.index + 1 < size { dTable[r.index + 1] += w * r.weights.1 }
                            }
                        } else {
                            (v, slope) = shape.evaluate(x, cotangent: dy.map { $0[i] * cu[i] }, into: dp.baseAddress!, scratch: scratch)
                        }
                        y[i] += cu[i] * v + du[i]
                        if let dy {
                            let gi = dy[i]
                            dc[i] = gi * v; dd[i] = gi
                            let dx = gi * cu[i] * slope
                            da[i] = dx * exciter[i]; db[i] = dx
                            dPhase[i] += dx * au[i] * T.cos(phase[i])
                        }
                    }
                    // The table's gradient, back through the MLP at its grid points.
                    if dy != nil, case .lookup(_, let size, let range) = synth.shaper {
                        for j in 0..<size where dTable[j] != 0 {
                            let x = T(-range + 2 * range * Double(j) / Double(size - 1))
                            _ = shape.evaluate(x, cotangent: dTable[j], into: dp.baseAddress!, scratch: scratch)
                        }
                    }
                }
                guard let g else { continue }
                for (p, dv, slope) in [(fi, da, aSlope), (fi + 1, db, bSlope), (fi + 2, dc, cSlope), (fi + 3, dd, dSlope)] {
                    let dFrames = up.adjoint(dv)
                    for f in 0..<layout.frameCount { g[layout.offsets[p] + f] += dFrames[f] * slope[f] }
                }
                let base = synth.globalIndex(s)
                for j in 0..<params.count { g[layout.offsets[base + j]] += T(dParams[j]) * pSlope[j] }
            }
            guard let g else { return }
            // phi[n] = sum_{m <= n} 2 pi f[m] / sr  ->  dL/df[m] = 2 pi / sr sum_{n >= m} dL/dphi[n]
            var dFrequency = [Double](repeating: 0, count: n)
            var running = 0.0
            for i in stride(from: n - 1, through: 0, by: -1) {
                running += Double(dPhase[i])
                dFrequency[i] = running * 2 * Double.pi / synth.sampleRate
            }
            let dF0 = upD.adjoint(dFrequency)
            for f in 0..<layout.frameCount { g[layout.offsets[0] + f] += T(dF0[f] * f0Slope[f]) }
        }
    }

    /// A shaper's function given its global parameters.
    struct ShapeFunction<T: SynthScalar> {
        let kind: Shaper
        let params: [T]

        init(_ kind: Shaper, _ params: [T]) { (self.kind, self.params) = (kind, params) }

        func evaluate(_ x: T, cotangent: T?, into dp: UnsafeMutablePointer<Double>, scratch: UnsafeMutablePointer<T>) -> (T, T) {
            switch kind {
            case .chebyshev(let order):
                // T_k by recurrence, T_k' = k U_{k-1}; the input clamped to [-1, 1].
                let inside = x > -1 && x < 1
                let u = Swift.min(Swift.max(x, -1), 1)
                var t0: T = 1, t1 = u, u0: T = 1, u1 = 2 * u   // T_0, T_1, U_0, U_1
                var value: T = 0, slope: T = 0
                for k in 1...order {
                    let h = params[k - 1]
                    value += h * t1
                    slope += h * T(k) * u0
                    if let c = cotangent { dp[k - 1] += Double(c * t1) }
                    (t0, t1) = (t1, 2 * u * t1 - t0)
                    (u0, u1) = (u1, 2 * u * u1 - u0)
                }
                return (value, inside ? slope : 0)
            case .mlp(let w), .lookup(let w, _, _):
                return MLP(w: w, p: params).evaluate(x, cotangent: cotangent, into: dp, scratch: scratch)
            }
        }

        /// FastNEWT's table: the MLP on `size` points over [-range, range].
        func tabulate(size: Int, range: Double, scratch: UnsafeMutablePointer<T>) -> [T] {
            guard case .lookup(let w, _, _) = kind else { preconditionFailure("tabulate: not a lookup shaper") }
            let mlp = MLP(w: w, p: params)
            return (0..<size).map { j in mlp.evaluate(T(-range + 2 * range * Double(j) / Double(size - 1)), scratch: scratch).value }
        }

        /// Linear read of the table at x, clamped at the edges (slope 0 outside).
        @inline(__always)
        static func read(_ t: [T], _ x: T, size: Int, range: Double) -> (value: T, slope: T, index: Int, weights: (T, T)) {
            let step = T(2 * range / Double(size - 1))
            let pos = (x + T(range)) / step
            if pos <= 0 { return (t[0], 0, 0, (1, 0)) }
            if pos >= T(size - 1) { return (t[size - 1], 0, size - 1, (1, 0)) }
            let i = Int(pos), a = pos - T(i)
            return ((1 - a) * t[i] + a * t[i + 1], (t[i + 1] - t[i]) / step, i, (1 - a, a))
        }
    }
}
