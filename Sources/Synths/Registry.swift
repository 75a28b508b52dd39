import DSP

/// Finds synth modules by name, for the command line and the dataset generator.
/// Adding a module is one line here.
public enum SynthRegistry {
    public struct Entry: Sendable {
        public let name: String
        public let summary: String
        public let make: @Sendable (_ sampleRate: Double) -> any Synth
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
    ]

    public static var names: [String] { entries.map(\.name) }

    public static func make(_ name: String, sampleRate: Double = 16000) throws -> any Synth {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw SynthError.unknownSynth(name, known: names)
        }
        return entry.make(sampleRate)
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

    public var description: String {
        switch self {
        case let .unknownSynth(name, known): return "unknown synth '\(name)'; known: \(known.joined(separator: ", "))"
        case let .unknownParameter(p, synth): return "synth '\(synth)' has no parameter '\(p)'"
        case let .valueOutOfRange(p, v, r): return "parameter \(p)=\(v) is outside \(r.lowerBound)...\(r.upperBound)"
        }
    }
}
