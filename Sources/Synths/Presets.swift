import DSP

/// A named patch: the module it plays on and physical parameter values by name (anything
/// unnamed keeps the module's default). A preset is data, so it is also a matching target
/// and a dataset seed (`--sampling preset-jitter`).
public struct SynthPreset: Sendable {
    /// The name users ask for with `--synth` (`fm`, `subtractive`).
    public let family: String
    public let name: String
    /// The registry module the preset plays on (`fm-alg5`, `ddx7-strings`).
    public let module: String
    public let summary: String
    public let values: [String: Double]

    /// Normalised controls for `layout` (global parameters set; per-frame ones on every frame).
    public func controls<T: SynthScalar>(_ layout: ControlLayout, batchSize: Int = 1) throws -> Controls<T> {
        var c = Controls<T>(defaultsFor: layout, batchSize: batchSize)
        for (key, v) in values.sorted(by: { $0.key < $1.key }) {
            guard let p = layout.index(of: key) else { throw SynthError.unknownParameter(key, synth: module) }
            let spec = layout.parameters[p]
            guard spec.contains(v) else { throw SynthError.valueOutOfRange(parameter: key, value: v, range: spec.minimum...spec.maximum) }
            for b in 0..<batchSize { c.set(item: b, parameter: p, to: T(spec.normalised(v))) }
        }
        return c
    }
}

public enum PresetLibrary {
    public static func find(synth: String, preset: String) throws -> SynthPreset {
        let candidates = all.filter { $0.family == synth || $0.module == synth }
        guard let p = candidates.first(where: { $0.name == preset }) else {
            let names = candidates.isEmpty ? all.map { "\($0.family)/\($0.name)" } : candidates.map(\.name)
            throw SynthError.unknownPreset(preset, synth: synth, known: names)
        }
        return p
    }

    /// Values of an FM operator: level, ratio (learnable-ratio modules only), detune, envelope.
    static func op(_ i: Int, level: Double, ratio: Double? = nil, detune: Double = 0,
                   a: Double, d: Double, s: Double, r: Double) -> [String: Double] {
        var v = ["op\(i)_level": level, "op\(i)_detune": detune, "op\(i)_attack": a, "op\(i)_decay": d,
                 "op\(i)_sustain": s, "op\(i)_release": r]
        if let ratio { v["op\(i)_ratio"] = ratio }
        return v
    }

    static func merge(_ parts: [[String: Double]]) -> [String: Double] {
        parts.reduce(into: [:]) { $0.merge($1) { _, b in b } }
    }

    public static let all: [SynthPreset] = fm + ddx7 + subtractive + modal + wavetable + waveshaper

    /// Chebyshev presets: harmonic amplitudes set exactly through the first shaper (index 1).
    static func chebyshev(_ name: String, _ summary: String, _ h: [Double]) -> SynthPreset {
        var v: [String: Double] = ["f0": 220, "shaper1_index_gain": 1, "shaper1_index_bias": 0, "shaper1_norm_gain": 0.6, "shaper1_norm_bias": 0]
        for s in 2...4 { v["shaper\(s)_norm_gain"] = 0 }
        for k in 1...8 { v["shaper1_h\(k)"] = k <= h.count ? h[k - 1] : 0 }
        return SynthPreset(family: "waveshaper", name: name, module: "waveshaper", summary: summary, values: v)
    }

    /// A sine wavefolder on NEWT's MLP: shaper 1 computes sin(1.2 sin(1.5 sin(2 x))) through
    /// one path of the network (every other weight 0); the other shapers are muted.
    static func wavefolder(_ module: String) -> SynthPreset {
        var v: [String: Double] = ["f0": 220, "shaper1_index_gain": 1, "shaper1_index_bias": 0, "shaper1_norm_gain": 0.7, "shaper1_norm_bias": 0]
        for s in 2...4 { v["shaper\(s)_norm_gain"] = 0; v["shaper\(s)_norm_bias"] = 0 }
        for (name, _) in WaveshaperSynth.mlpParameterNames(width: 8) { v["shaper1_" + name] = 0 }
        v["shaper1_in_scale"] = 2; v["shaper1_w1_0"] = 1; v["shaper1_w2_0_0"] = 1.5; v["shaper1_w3_0"] = 1.2
        return SynthPreset(family: module, name: "wavefolder", module: module, summary: "sine wavefolder: sin(1.2 sin(1.5 sin(2x)))", values: v)
    }

    static let waveshaper: [SynthPreset] = [
        wavefolder("newt"), wavefolder("newt-fast"),
        chebyshev("clarinet", "odd harmonics 1, 1/3, 1/5, 1/7 (Chebyshev, exact)", [1, 0, 1.0 / 3, 0, 0.2, 0, 1.0 / 7]),
        chebyshev("bright", "all harmonics 1/k to 8", (1...8).map { 0.45 / Double($0) }),
    ]

    static let wavetable: [SynthPreset] = [
        SynthPreset(family: "wavetable", name: "saw", module: "wavetable-fixed", summary: "band-limited saw",
                    values: ["amplitude": 0.6, "mix_1": -8, "mix_2": -8, "mix_3": 8, "mix_4": -8, "f0": 220]),
        SynthPreset(family: "wavetable", name: "hollow", module: "wavetable-fixed", summary: "square and triangle, equal parts",
                    values: ["amplitude": 0.6, "mix_1": -8, "mix_2": 0, "mix_3": -8, "mix_4": 0, "f0": 220]),
        SynthPreset(family: "wavetable", name: "drawbars", module: "wavetable",
                    summary: "learnable tables set to organ drawbar sums, mixed evenly", values: {
            var v: [String: Double] = ["amplitude": 0.5, "f0": 220]
            let bars: [[Double]] = [[1], [1, 0.5], [1, 0, 0.6], [1, 0.7, 0, 0.5], [0.8, 0, 0.6, 0, 0.4], [1, 0.5, 0.33, 0.25],
                                    [0.6, 0.6, 0.6], [1, 0, 0, 0, 0, 0, 0, 0.5]]
            for (k, bar) in bars.enumerated() {
                v["mix_\(k + 1)"] = 0
                let table = (0..<512).map { i in bar.enumerated().reduce(0.0) { $0 + $1.1 * Double.sin(2 * Double.pi * Double(($1.0 + 1) * i) / 512) } }
                let peak = table.map(abs).max()!
                for (i, x) in table.enumerated() { v["table\(k + 1)_\(i)"] = x / peak }
            }
            return v
        }()),
    ]

    /// A modal preset: listed modes (ratio, T60, gain); the rest of the 32 are silent.
    static func modes(_ name: String, _ summary: String, f0: Double, _ modes: [(Double, Double, Double)]) -> SynthPreset {
        var v = ["f0": f0]
        for m in 1...32 {
            let (ratio, t60, gain) = m <= modes.count ? modes[m - 1] : (1.0, 0.1, 0.0)
            v["mode\(m)_ratio"] = ratio; v["mode\(m)_t60"] = t60; v["mode\(m)_gain"] = gain
        }
        return SynthPreset(family: "modal", name: name, module: "modal", summary: summary, values: v)
    }

    static let modal: [SynthPreset] = [
        // Free-free uniform bar (xylophone/marimba bar before tuning): Euler-Bernoulli ratios.
        modes("bar", "free-free bar: ratios 1, 2.756, 5.404, 8.933, ... (Euler-Bernoulli)", f0: 440,
              [1, 2.756, 5.404, 8.933, 13.345, 18.638, 24.813, 31.870].enumerated().map { k, r in
                  (r, 1.8 / r.squareRoot(), 0.35 / Double(k + 1)) }),
        // Church bell partials relative to the prime: hum, prime, tierce, quint, nominal, ...
        modes("bell", "church bell: hum 0.5, prime 1, minor-third tierce 1.183, quint 1.506, nominal 2, ...", f0: 330,
              [(0.5, 8, 0.14), (1, 6, 0.2), (1.183, 5, 0.18), (1.506, 4, 0.12), (2, 4, 0.2), (2.514, 3, 0.1),
               (2.662, 3, 0.08), (3.011, 2.5, 0.08), (4.166, 2, 0.06), (5.433, 1.5, 0.04), (6.796, 1.2, 0.03), (8.215, 1, 0.02)]),
        // Simply supported rectangular plate, aspect 1.4: f_mn ~ m^2 + (n / 1.4)^2.
        modes("plate", "rectangular plate (aspect 1.4): the 32 lowest (m, n) modes, f ~ m^2 + (n/1.4)^2", f0: 110, {
            var f: [(Double, Int, Int)] = []
            for a in 1...8 { for b in 1...8 { f.append((Double(a * a) + Double(b * b) / 1.96, a, b)) } }
            f.sort { $0.0 < $1.0 }
            let first = f[0].0
            return f.prefix(32).map { ($0.0 / first, 2.5 / ($0.0 / first).squareRoot(), 0.25 / Double($0.1 * $0.2)) }
        }()),
    ]

    /// Classic DX7-style patches (after the ROM1A voices; rates and levels re-expressed as
    /// seconds and linear levels, key scaling, LFO and pitch envelope left out).
    static let fm: [SynthPreset] = [
        SynthPreset(family: "fm", name: "epiano", module: "fm-alg5",
                    summary: "E.PIANO 1-style: three 2-op stacks, a 14:1 tine on the first", values: merge([
            ["f0": 261.63, "feedback": 0.3, "note_off": 0.7],
            op(1, level: 0.9, ratio: 1, detune: 3, a: 0.002, d: 1.8, s: 0.15, r: 0.4),
            op(2, level: 0.12, ratio: 14, a: 0.001, d: 0.12, s: 0, r: 0.2),
            op(3, level: 0.85, ratio: 1, a: 0.002, d: 2.5, s: 0.2, r: 0.5),
            op(4, level: 0.3, ratio: 1, a: 0.002, d: 1.2, s: 0.1, r: 0.4),
            op(5, level: 0.6, ratio: 1, detune: -7, a: 0.002, d: 2.5, s: 0.2, r: 0.5),
            op(6, level: 0.25, ratio: 1, detune: 7, a: 0.002, d: 1.0, s: 0.1, r: 0.4),
        ])),
        SynthPreset(family: "fm", name: "bell", module: "fm-alg5",
                    summary: "tubular-bell-style: inharmonic 3.5 and 1.41 ratios, long decay", values: merge([
            ["f0": 523.25, "feedback": 0.0, "note_off": 0.3],
            op(1, level: 0.8, ratio: 1, a: 0.001, d: 3.5, s: 0, r: 3),
            op(2, level: 0.35, ratio: 3.5, a: 0.001, d: 2.0, s: 0, r: 2),
            op(3, level: 0.6, ratio: 1, detune: 4, a: 0.001, d: 2.5, s: 0, r: 2.5),
            op(4, level: 0.3, ratio: 1.41, a: 0.001, d: 1.5, s: 0, r: 1.5),
            op(5, level: 0.4, ratio: 2.0, a: 0.001, d: 1.2, s: 0, r: 1.2),
            op(6, level: 0.2, ratio: 5.19, a: 0.001, d: 0.8, s: 0, r: 0.8),
        ])),
        SynthPreset(family: "fm", name: "bass", module: "fm-alg16",
                    summary: "BASS 1-style: three modulator branches on one carrier, fast decaying brightness", values: merge([
            ["f0": 65.41, "feedback": 0.6, "note_off": 0.6],
            op(1, level: 0.95, ratio: 1, a: 0.002, d: 1.5, s: 0.5, r: 0.15),
            op(2, level: 0.3, ratio: 1, a: 0.001, d: 0.25, s: 0.1, r: 0.1),
            op(3, level: 0.2, ratio: 3, a: 0.001, d: 0.4, s: 0.1, r: 0.1),
            op(4, level: 0.15, ratio: 5, a: 0.001, d: 0.2, s: 0, r: 0.1),
            op(5, level: 0.25, ratio: 1, a: 0.001, d: 0.3, s: 0.2, r: 0.1),
            op(6, level: 0.3, ratio: 9, a: 0.001, d: 0.1, s: 0, r: 0.1),
        ])),
        SynthPreset(family: "fm", name: "brass", module: "fm-alg22",
                    summary: "BRASS 1-style: op6 with feedback drives three carriers, slow attack", values: merge([
            ["f0": 220, "feedback": 0.8, "note_off": 0.75],
            op(1, level: 0.7, ratio: 1, a: 0.06, d: 0.5, s: 0.85, r: 0.2),
            op(2, level: 0.3, ratio: 1, a: 0.08, d: 0.4, s: 0.7, r: 0.2),
            op(3, level: 0.75, ratio: 1, detune: -2, a: 0.05, d: 0.4, s: 0.9, r: 0.2),
            op(4, level: 0.75, ratio: 1, a: 0.05, d: 0.4, s: 0.9, r: 0.2),
            op(5, level: 0.7, ratio: 1, detune: 1, a: 0.05, d: 0.4, s: 0.9, r: 0.2),
            op(6, level: 0.28, ratio: 1, a: 0.09, d: 0.3, s: 0.8, r: 0.2),
        ])),
        SynthPreset(family: "fm", name: "organ", module: "fm-alg32",
                    summary: "E.ORGAN-style: six carriers as drawbars (0.5, 1, 2, 3, 4, 6)", values: merge([
            ["f0": 196, "feedback": 0.15, "note_off": 0.8],
            op(1, level: 0.7, ratio: 0.5, a: 0.005, d: 0.1, s: 1, r: 0.05),
            op(2, level: 0.9, ratio: 1, a: 0.005, d: 0.1, s: 1, r: 0.05),
            op(3, level: 0.6, ratio: 2, a: 0.005, d: 0.1, s: 1, r: 0.05),
            op(4, level: 0.4, ratio: 3, a: 0.005, d: 0.1, s: 1, r: 0.05),
            op(5, level: 0.3, ratio: 4, a: 0.005, d: 0.1, s: 1, r: 0.05),
            op(6, level: 0.2, ratio: 6, a: 0.005, d: 0.1, s: 1, r: 0.05),
        ])),
    ]

    /// DDX7's three patches on their fixed-ratio modules. DDX7 drives the levels with a
    /// network and has no envelopes or feedback; these hold steady levels within its I_max ~ 2
    /// (level 0.32) for modulators.
    static let ddx7: [SynthPreset] = {
        func steady(_ i: Int, _ level: Double) -> [String: Double] { op(i, level: level, a: 0.08, d: 0.5, s: 0.95, r: 0.15) }
        return [
            SynthPreset(family: "fm", name: "strings", module: "ddx7-strings",
                        summary: "DDX7 STRINGS 1: 6>5>4>3 and 2>1, ratios 1 1 1 1 3 14", values: merge([
                ["f0": 220, "feedback": 0, "note_off": 0.85], steady(1, 0.8), steady(2, 0.2), steady(3, 0.8),
                steady(4, 0.25), steady(5, 0.15), steady(6, 0.05),
            ])),
            SynthPreset(family: "fm", name: "ddx7-brass", module: "ddx7-brass",
                        summary: "DDX7 BRASS 3: 6>5>4>1, 3>1, 2>1, ratios 1 1 1 1 3.2 8.5", values: merge([
                ["f0": 220, "feedback": 0, "note_off": 0.85], steady(1, 0.9), steady(2, 0.3), steady(3, 0.25),
                steady(4, 0.2), steady(5, 0.1), steady(6, 0.05),
            ])),
            SynthPreset(family: "fm", name: "flute", module: "ddx7-flute",
                        summary: "DDX7 FLUTE 1: 6>5>1, 4>3>1, 2>1, ratios 1 1 1 2 2 1.5", values: merge([
                ["f0": 440, "feedback": 0, "note_off": 0.85], steady(1, 0.9), steady(2, 0.1), steady(3, 0.12),
                steady(4, 0.08), steady(5, 0.1), steady(6, 0.06),
            ])),
        ]
    }()

    static let subtractive: [SynthPreset] = [
        SynthPreset(family: "subtractive", name: "bass", module: "subtractive", summary: "plucky saw bass with a filter sweep", values: [
            "f0": 55, "amplitude": 0.9, "osc_mix": 0.1, "detune": 8, "noise": 0, "cutoff": 180, "q": 1.2, "cutoff_env": 3.5,
            "amp_attack": 0.002, "amp_decay": 0.6, "amp_sustain": 0.6, "amp_release": 0.1,
            "filter_attack": 0.002, "filter_decay": 0.25, "filter_sustain": 0.1, "filter_release": 0.1, "note_off": 0.7,
        ]),
        SynthPreset(family: "subtractive", name: "lead", module: "subtractive", summary: "square-ish lead, resonant", values: [
            "f0": 440, "amplitude": 0.8, "osc_mix": 0.7, "detune": 12, "noise": 0.01, "cutoff": 1800, "q": 1.6, "cutoff_env": 1,
            "amp_attack": 0.01, "amp_decay": 0.3, "amp_sustain": 0.8, "amp_release": 0.2,
            "filter_attack": 0.05, "filter_decay": 0.4, "filter_sustain": 0.4, "filter_release": 0.2, "note_off": 0.8,
        ]),
        SynthPreset(family: "subtractive", name: "pad", module: "subtractive", summary: "slow detuned saw pad", values: [
            "f0": 220, "amplitude": 0.7, "osc_mix": 0.05, "detune": 25, "noise": 0.03, "cutoff": 900, "q": 0.6, "cutoff_env": 1.5,
            "amp_attack": 0.8, "amp_decay": 1.0, "amp_sustain": 0.8, "amp_release": 1.5,
            "filter_attack": 1.2, "filter_decay": 1.0, "filter_sustain": 0.5, "filter_release": 1.5, "note_off": 0.7,
        ]),
        SynthPreset(family: "subtractive", name: "pluck", module: "subtractive", summary: "short bright pluck", values: [
            "f0": 330, "amplitude": 0.9, "osc_mix": 0.4, "detune": 5, "noise": 0.02, "cutoff": 400, "q": 0.9, "cutoff_env": 4,
            "amp_attack": 0.001, "amp_decay": 0.35, "amp_sustain": 0, "amp_release": 0.2,
            "filter_attack": 0.001, "filter_decay": 0.15, "filter_sustain": 0, "filter_release": 0.1, "note_off": 0.9,
        ]),
    ]
}
