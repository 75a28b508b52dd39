import DSP

extension FMSynth {
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

    /// Classic DX7-style patches (after the ROM1A voices; rates and levels re-expressed as
    /// seconds and linear levels, key scaling, LFO and pitch envelope left out).
    public static let classicPresets: [SynthPreset] = [
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
    public static let ddx7Presets: [SynthPreset] = {
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


    /// The DDX7 preset that plays on fixed-ratio module `module`.
    public static func ddx7Presets(on module: String) -> [SynthPreset] { ddx7Presets.filter { $0.module == module } }
}
