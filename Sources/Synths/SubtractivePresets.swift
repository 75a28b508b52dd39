extension SubtractiveSynth {
    public static let presets: [SynthPreset] = [
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
