import RealModule

/// Between the `dx7` module's real-valued settings and DX7 patches: a patch's settings as the
/// module's physical values (import), and a match rounded to the DX7's integers (export).
extension DX7Synth {
    /// Frequency (Hz) of MIDI `note` as the engine tunes it (its Q24 note table).
    public static func frequency(ofNote note: Int) -> Double {
        Double.exp2(Double(DX7Law.logFrequency(note: note, fixed: false, coarse: 1, fine: 0, detune: 7)) / Double(1 << 24))
    }

    /// The module's physical values for `patch` played at MIDI `note` (transpose applied), and
    /// what of the patch the module does not model (to report; they are left out).
    public static func values(of patch: DX7Patch, note: Int) -> (values: [String: Double], unmodelled: [String]) {
        var v: [String: Double] = [:], unmodelled: [String] = []
        let key = max(0, min(127, note + patch.value("transpose") - 24))
        let f0 = frequency(ofNote: key)
        v["f0"] = min(max(f0, f0Range.lowerBound), f0Range.upperBound)
        v["feedback"] = Double(patch.value("feedback"))
        v["algorithm"] = Double(patch.algorithm)
        for op in 1...6 {
            let p = { (name: String) in patch.value(name, operator: op) }
            v["op\(op)_output_level"] = Double(p("output_level"))
            if p("fixed_frequency") == 1 {
                // A fixed frequency becomes the ratio that sounds it at this note.
                let hz = Double.exp2(Double(DX7Law.logFrequency(note: key, fixed: true, coarse: p("coarse"), fine: p("fine"), detune: p("detune"))) / Double(1 << 24))
                v["op\(op)_ratio"] = min(max(hz / f0, ratioRange.lowerBound), ratioRange.upperBound)
                unmodelled.append("operator \(op) fixed frequency (played as ratio \((hz / f0 * 1000).rounded() / 1000) at this note)")
            } else {
                v["op\(op)_ratio"] = min(DX7Law.ratio(coarse: p("coarse"), fine: p("fine")), ratioRange.upperBound)
            }
            v["op\(op)_detune"] = Double(p("detune") - 7)
            for i in 1...4 {
                v["op\(op)_rate\(i)"] = Double(p("rate\(i)"))
                v["op\(op)_level\(i)"] = Double(p("level\(i)"))
            }
            if p("left_depth") != 0 || p("right_depth") != 0 { unmodelled.append("operator \(op) keyboard level scaling") }
            if p("rate_scaling") != 0 { unmodelled.append("operator \(op) keyboard rate scaling") }
            if p("velocity_sensitivity") != 0 { unmodelled.append("operator \(op) velocity sensitivity") }
            if p("amp_mod_sensitivity") != 0 { unmodelled.append("operator \(op) amplitude-modulation sensitivity") }
        }
        if (1...4).contains(where: { patch.value("pitch_level\($0)") != 50 }) { unmodelled.append("pitch EG") }
        if patch.value("lfo_pitch_depth") != 0 || patch.value("lfo_amp_depth") != 0 { unmodelled.append("LFO") }
        return (v, unmodelled)
    }

    /// The coarse (0...31) and fine (0...99) settings whose ratio is nearest `ratio` (in log
    /// terms); ties go to the smaller fine setting.
    public static func coarseAndFine(nearest ratio: Double) -> (coarse: Int, fine: Int) {
        var best = (coarse: 1, fine: 0), bestError = Double.infinity
        for fine in 0...99 {
            for coarse in 0...31 {
                let error = abs(Double.log(DX7Law.ratio(coarse: coarse, fine: fine) / ratio))
                if error < bestError - 1e-12 { bestError = error; best = (coarse, fine) }
            }
        }
        return best
    }

    /// A DX7 patch playing the module's physical `values` (rounded to the DX7's integers), and
    /// the MIDI note it plays them at (the nearest to f0; transpose stays at C3). Everything the
    /// module does not model is neutral: no keyboard scaling, velocity or modulation
    /// sensitivity, a flat pitch EG, the LFO at depth 0, oscillator key sync on.
    public func patch(from values: [String: Double], name: String) throws -> (patch: DX7Patch, note: Int) {
        var patch = DX7Patch(name: name)
        func rounded(_ key: String, _ range: ClosedRange<Int>) throws -> Int {
            guard let x = values[key], x.isFinite else { throw SynthError.unknownParameter(key, synth: self.name) }
            return min(max(Int(x.rounded()), range.lowerBound), range.upperBound)
        }
        var number = algorithm.number
        if choosesAlgorithm {
            guard let a = values["algorithm"], a.isFinite else { throw SynthError.unknownParameter("algorithm", synth: self.name) }
            number = min(max(Int(a.rounded()), 1), 32)
        }
        try patch.set("algorithm", to: number - 1)
        try patch.set("feedback", to: rounded("feedback", 0...7))
        for i in 1...4 { try patch.set("pitch_level\(i)", to: 50); try patch.set("pitch_rate\(i)", to: 99) }
        try patch.set("lfo_speed", to: 35)
        try patch.set("lfo_pitch_depth", to: 0); try patch.set("lfo_amp_depth", to: 0)
        try patch.set("pitch_mod_sensitivity", to: 0)
        try patch.set("transpose", to: 24)
        guard let f0 = values["f0"], f0.isFinite, f0 > 0 else { throw SynthError.unknownParameter("f0", synth: name) }
        let note = min(127, max(0, Int((69 + 12 * Double.log2(f0 / 440)).rounded())))
        for op in 1...6 {
            try patch.set("output_level", operator: op, to: rounded("op\(op)_output_level", 0...99))
            guard let ratio = values["op\(op)_ratio"], ratio.isFinite, ratio > 0 else { throw SynthError.unknownParameter("op\(op)_ratio", synth: name) }
            let (coarse, fine) = Self.coarseAndFine(nearest: ratio)
            try patch.set("fixed_frequency", operator: op, to: 0)
            try patch.set("coarse", operator: op, to: coarse)
            try patch.set("fine", operator: op, to: fine)
            try patch.set("detune", operator: op, to: try rounded("op\(op)_detune", -7...7) + 7)
            for i in 1...4 {
                try patch.set("rate\(i)", operator: op, to: rounded("op\(op)_rate\(i)", 0...99))
                try patch.set("level\(i)", operator: op, to: rounded("op\(op)_level\(i)", 0...99))
            }
            try patch.set("break_point", operator: op, to: 39)
            for field in ["left_depth", "right_depth", "left_curve", "right_curve", "rate_scaling", "amp_mod_sensitivity", "velocity_sensitivity"] {
                try patch.set(field, operator: op, to: 0)
            }
        }
        return (patch, note)
    }

    /// The patch one item's normalised `controls` round to, and those controls with every DX7
    /// setting rounded (f0 and the key release kept): what Dexed plays, for re-scoring a match.
    public func rounded(_ controls: [Float], name: String) throws -> (patch: DX7Patch, note: Int, controls: [Float]) {
        let values = Dictionary(uniqueKeysWithValues: parameters.enumerated().map { ($1.name, $1.physical(Double(controls[$0]))) })
        let (patch, note) = try patch(from: values, name: name)
        let integers = Self.values(of: patch, note: note).values
        var rounded = controls
        for (p, spec) in parameters.enumerated() where spec.name != "f0" && spec.name != "note_off" {
            if let v = integers[spec.name] { rounded[p] = Float(spec.normalised(v)) }
        }
        return (patch, note, rounded)
    }
}
