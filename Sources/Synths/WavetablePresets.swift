extension WavetableSynth {
    static let allPresets: [SynthPreset] = [
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


    /// The presets that play on `module` (`wavetable` or `wavetable-fixed`).
    public static func presets(on module: String) -> [SynthPreset] { allPresets.filter { $0.module == module } }
}
