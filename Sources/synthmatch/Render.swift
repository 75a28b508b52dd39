import ArgumentParser
import Datasets
import DSP
import Foundation
import Synths

/// `synthmatch render`: one note from a module at its defaults or with parameters set
/// by name, to a WAV file.
struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a note from a synth module to a WAV file.",
        discussion: """
            Parameters not set with --set keep the preset's values (or the module's defaults). Examples:
              synthmatch render --synth harmonic --note 69 --set amplitude=0.3 --out a440.wav
              synthmatch render --synth fm --preset epiano --note 60 --out epiano.wav
            """)

    @Option(help: "Module name (see `synthmatch synths`).") var synth: String
    @Option(help: "A preset of that module (see `synthmatch synths --presets`).") var preset: String?
    @Option(help: "MIDI note; sets the module's f0 parameter if it has one.") var note: Double?
    @Option(help: "Duration in seconds.") var duration: Double = 2
    @Option(help: "Sample rate in Hz.") var sampleRate: Double = 16000
    @Option(help: "Control frames per second.") var frameRate: Double = 250
    @Option(parsing: .upToNextOption, help: "Physical parameter values, NAME=VALUE (for every frame).")
    var set: [String] = []
    @Option(help: "Noise key (renders are a pure function of parameters and key).") var seed: UInt64 = 0
    @Option(help: "Output WAV (32-bit float).") var out: String

    func run() throws {
        guard duration > 0, duration <= 600 else { throw ValidationError("--duration must be in (0, 600] seconds") }
        guard sampleRate >= 1000, sampleRate <= 384_000 else { throw ValidationError("--sample-rate must be within 1000...384000 Hz") }
        let patch = try preset.map { try PresetLibrary.find(synth: synth, preset: $0) }
        let module = try SynthRegistry.make(patch?.module ?? synth, sampleRate: sampleRate)
        let frames = max(1, Int((duration * frameRate).rounded()))
        let hop = Int((duration * sampleRate / Double(frames)).rounded(.up))
        let samples = frames * hop
        let layout = module.layout(frameCount: frames)
        var controls: Controls<Float> = try patch?.controls(layout) ?? Controls(defaultsFor: layout, batchSize: 1)
        var assignments = set
        if let note {
            guard note.isFinite, (0...127).contains(note) else { throw ValidationError("--note must be a MIDI note in 0...127") }
            if layout.index(of: "f0") != nil { assignments.insert("f0=\(440 * pow(2, (note - 69) / 12))", at: 0) }
        }
        for assignment in assignments {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Double(parts[1]) else { throw ValidationError("expected NAME=VALUE, got '\(assignment)'") }
            guard let p = layout.index(of: parts[0]) else { throw SynthError.unknownParameter(parts[0], synth: synth) }
            let spec = layout.parameters[p]
            guard spec.contains(value) else { throw SynthError.valueOutOfRange(parameter: spec.name, value: value, range: spec.minimum...spec.maximum) }
            controls.set(item: 0, parameter: p, to: Float(spec.normalised(value)))
        }
        let audio = module.render(controls, RenderRequest(sampleCount: samples, noiseKeys: [seed]))
        try AudioFile.write(MonoAudio(samples: audio.samples, sampleRate: sampleRate), to: out)
        let peak = audio.samples.map { abs($0) }.max() ?? 0
        guard audio.samples.allSatisfy(\.isFinite) else { throw ValidationError("the render is not finite (a bug: please report the command)") }
        print("wrote \(out): \(module.name)\(patch.map { " preset \($0.name)" } ?? ""), \(samples) samples at \(Int(sampleRate)) Hz, peak \(String(format: "%.3f", peak))")
    }
}
