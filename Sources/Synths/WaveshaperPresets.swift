extension WaveshaperSynth {
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

    static let allPresets: [SynthPreset] = [
        wavefolder("newt"), wavefolder("newt-fast"),
        chebyshev("clarinet", "odd harmonics 1, 1/3, 1/5, 1/7 (Chebyshev, exact)", [1, 0, 1.0 / 3, 0, 0.2, 0, 1.0 / 7]),
        chebyshev("bright", "all harmonics 1/k to 8", (1...8).map { 0.45 / Double($0) }),
    ]


    /// The presets that play on `module` (`waveshaper`, `newt` or `newt-fast`).
    public static func presets(on module: String) -> [SynthPreset] { allPresets.filter { $0.module == module } }
}
