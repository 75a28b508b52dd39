extension ModalSynth {
    /// A modal preset: listed modes (ratio, T60, gain); the rest of the 32 are silent.
    static func modes(_ name: String, _ summary: String, f0: Double, _ modes: [(Double, Double, Double)]) -> SynthPreset {
        var v = ["f0": f0]
        for m in 1...32 {
            let (ratio, t60, gain) = m <= modes.count ? modes[m - 1] : (1.0, 0.1, 0.0)
            v["mode\(m)_ratio"] = ratio; v["mode\(m)_t60"] = t60; v["mode\(m)_gain"] = gain
        }
        return SynthPreset(family: "modal", name: name, module: "modal", summary: summary, values: v)
    }

    public static let presets: [SynthPreset] = [
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

}
