import DSP

/// Every synth module, found by name: the CLI, the dataset generator, the matcher and the
/// studies enumerate this list and nothing else. A module is one room: its own files (the
/// module, its presets, its optional compiler-autodiff twin in `AutodiffReference`, which
/// registers itself by conformance) and one line here.
public enum SynthRegistry {
    public struct Entry: Sendable {
        public let name: String
        public let summary: String
        public let make: @Sendable (_ sampleRate: Double) -> any Synth
        /// Presets that play on this module (or on one of its variants).
        public let presets: [SynthPreset]
        /// Other names of the same voice: presets written for them play on this module too
        /// (`fm` is DX7 algorithm 5, whose presets are written for `fm-alg5`).
        public let aliases: [String]
        /// A family of named variants (`fm-alg1` ... `fm-alg32`), if the module has one.
        public let variants: Variants?

        public init(name: String, summary: String, presets: [SynthPreset] = [], aliases: [String] = [],
                    variants: Variants? = nil, make: @escaping @Sendable (_ sampleRate: Double) -> any Synth) {
            self.name = name
            self.summary = summary
            self.presets = presets
            self.aliases = aliases
            self.variants = variants
            self.make = make
        }
    }

    /// Names a module answers to besides its own: `pattern` for help texts, `make` returns nil
    /// for names that are not variants.
    public struct Variants: Sendable {
        public let pattern: String
        public let summary: String
        public let make: @Sendable (_ name: String, _ sampleRate: Double) -> (any Synth)?
    }

    public static let entries: [Entry] = [
        Entry(name: "harmonic", summary: "DDSP harmonic-plus-noise: 64-harmonic oscillator bank + 65-band filtered noise") {
            harmonicPlusNoise(sampleRate: $0)
        },
        Entry(name: "harmonic-reverb", summary: "DDSP harmonic-plus-noise through DDSP's exponential-decay noise reverb (3 s)") {
            Reverberated(harmonicPlusNoise(sampleRate: $0), name: "harmonic-reverb")
        },
        Entry(name: "harmonic-bank", summary: "DDSP harmonic oscillator bank alone (64 harmonics)") {
            HarmonicOscillatorBank(sampleRate: $0)
        },
        Entry(name: "filtered-noise", summary: "DDSP filtered noise alone (65 bands, linear-phase FIR)") {
            FilteredNoise(sampleRate: $0)
        },
        Entry(name: "adsr", summary: "differentiable ADSR envelope alone, rendered as the signal (Masuda & Saito 2023)") {
            EnvelopeSynth(sampleRate: $0)
        },
        Entry(name: "subtractive", summary: "2 detuned saw/square oscillators + noise, resonant low-pass sampled at the harmonics, 2 ADSRs",
              presets: SubtractiveSynth.presets) {
            SubtractiveSynth(sampleRate: $0)
        },
        Entry(name: "subtractive-iir", summary: "the subtractive voice with a time-domain biquad (exact time-reversed adjoint)") {
            SubtractiveSynth(sampleRate: $0, filter: .timeDomain, name: "subtractive-iir")
        },
        Entry(name: "modal", summary: "32 two-pole resonators (ratio, T60, gain each) rung by an impulse; exact recursion + adjoint",
              presets: ModalSynth.presets) {
            ModalSynth(sampleRate: $0)
        },
        Entry(name: "modal-noise", summary: "the modal bank excited by a 10 ms noise burst") {
            ModalSynth(sampleRate: $0, excitation: .noiseBurst(seconds: 0.01), name: "modal-noise")
        },
        Entry(name: "modal-fft", summary: "the modal bank by frequency sampling (FFT of the summed transfer function)") {
            ModalSynth(sampleRate: $0, realisation: .frequencySampled(fftSize: nil), name: "modal-fft")
        },
        Entry(name: "modal-body", summary: "DDSP filtered noise (65 bands) as the input signal of a 32-mode modal body") {
            ResonatedSynth(FilteredNoise(sampleRate: $0), name: "modal-body")
        },
        Entry(name: "wavetable", summary: "8 learnable 512-sample wavetables, per-frame softmax mix, amplitude and f0 (Shan et al. 2022)",
              presets: WavetableSynth.presets(on: "wavetable")) {
            WavetableSynth(sampleRate: $0)
        },
        Entry(name: "wavetable-fixed", summary: "sine/triangle/saw/square wavetables band-limited per octave, per-frame mix",
              presets: WavetableSynth.presets(on: "wavetable-fixed")) {
            WavetableSynth(sampleRate: $0, tables: .fixed(WavetableSynth.basicShapes()))
        },
        Entry(name: "waveshaper", summary: "sine exciter through 4 Chebyshev shapers (order 8) with NEWT's per-frame affine index/normalisation",
              presets: WaveshaperSynth.presets(on: "waveshaper")) {
            WaveshaperSynth(sampleRate: $0)
        },
        Entry(name: "newt", summary: "NEWT: 4 learnable sine-MLP shapers (1-8-8-1) with per-frame affine control",
              presets: WaveshaperSynth.presets(on: "newt")) {
            WaveshaperSynth(sampleRate: $0, shaper: .mlp(width: 8))
        },
        Entry(name: "newt-fast", summary: "FastNEWT: the MLP shapers read from 4096-point tables over [-3, 3]",
              presets: WaveshaperSynth.presets(on: "newt-fast")) {
            WaveshaperSynth(sampleRate: $0, shaper: .lookup(width: 8, size: 4096, range: 3))
        },
        Entry(name: "fm", summary: "6-operator FM, DX7 algorithm 5 (three 2-op stacks), learnable ratios, feedback, 6 ADSRs; fm-alg1...fm-alg32 pick the algorithm",
              presets: FMSynth.classicPresets, aliases: ["fm-alg5"], variants: FMSynth.algorithmVariants) {
            FMSynth(sampleRate: $0, algorithm: 5, name: "fm")
        },
        Entry(name: "ddx7-strings", summary: "DDX7 strings: DX7 algorithm 2, fixed ratios 1 1 1 1 3 14",
              presets: FMSynth.ddx7Presets(on: "ddx7-strings")) {
            FMSynth(sampleRate: $0, algorithm: 2, fixedRatios: [1, 1, 1, 1, 3, 14], name: "ddx7-strings")
        },
        Entry(name: "ddx7-brass", summary: "DDX7 brass: DX7 algorithm 18, fixed ratios 1 1 1 1 3.2 8.5",
              presets: FMSynth.ddx7Presets(on: "ddx7-brass")) {
            FMSynth(sampleRate: $0, algorithm: 18, fixedRatios: [1, 1, 1, 1, 3.2, 8.5], name: "ddx7-brass")
        },
        Entry(name: "ddx7-flute", summary: "DDX7 flute: DX7 algorithm 16, fixed ratios 1 1 1 2 2 1.5",
              presets: FMSynth.ddx7Presets(on: "ddx7-flute")) {
            FMSynth(sampleRate: $0, algorithm: 16, fixedRatios: [1, 1, 1, 2, 2, 1.5], name: "ddx7-flute")
        },
        Entry(name: "dx7", summary: "a DX7 voice as Dexed plays it, settings relaxed to reals (levels, rates 0...99, ratios, detune, feedback) and the algorithm a choice; dx7-alg1...dx7-alg32 fix the algorithm",
              variants: DX7Synth.algorithmVariants) {
            DX7Synth(sampleRate: $0, algorithm: 1, choosesAlgorithm: true, name: "dx7")
        },
    ]

    public static var names: [String] { entries.map(\.name) }

    public static func make(_ name: String, sampleRate: Double = 16000) throws -> any Synth {
        if let entry = entries.first(where: { $0.name == name }) { return entry.make(sampleRate) }
        for entry in entries { if let synth = entry.variants?.make(name, sampleRate) { return synth } }
        throw SynthError.unknownSynth(name, known: names + entries.compactMap { $0.variants?.pattern })
    }

    /// The presets that play on module `name`: written for it, or for another name of the same
    /// voice (`fm` takes those written for `fm-alg5`).
    public static func presets(for name: String) -> [SynthPreset] {
        var names: Set<String> = [name]
        if let entry = entries.first(where: { $0.name == name }) { names.formUnion(entry.aliases) }
        return PresetLibrary.all.filter { names.contains($0.module) }
    }

    /// DDSP's harmonic-plus-noise model as a composite.
    public static func harmonicPlusNoise(sampleRate: Double = 16000, harmonicCount: Int = 64, noiseBands: Int = 65) -> SynthSum {
        SynthSum(name: "harmonic", parts: [
            HarmonicOscillatorBank(sampleRate: sampleRate, harmonicCount: harmonicCount),
            FilteredNoise(sampleRate: sampleRate, bandCount: noiseBands),
        ])
    }
}

public enum SynthError: Error, CustomStringConvertible {
    case unknownSynth(String, known: [String])
    case unknownParameter(String, synth: String)
    case valueOutOfRange(parameter: String, value: Double, range: ClosedRange<Double>)
    case unknownPreset(String, synth: String, known: [String])

    public var description: String {
        switch self {
        case let .unknownSynth(name, known): return "unknown synth '\(name)'; known: \(known.joined(separator: ", "))"
        case let .unknownParameter(p, synth): return "synth '\(synth)' has no parameter '\(p)'"
        case let .valueOutOfRange(p, v, r): return "parameter \(p)=\(v) is outside \(r.lowerBound)...\(r.upperBound)"
        case let .unknownPreset(p, synth, known): return "no preset '\(p)' for '\(synth)'; known: \(known.joined(separator: ", "))"
        }
    }
}
