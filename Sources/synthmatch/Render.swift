import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
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
              synthmatch render --preset-file match/preset.json --note 64 --duration 3 --velocity 100 --out e4.wav
              synthmatch render --syx BANK.syx --voice 3 --note 60 --out x.wav
            A DX7 voice (--syx) plays as Dexed plays it (LFO not modelled), at 44.1 kHz unless --sample-rate says
            otherwise, the key held for --hold seconds (default 3/4 of --duration).
            A preset file (written by `synthmatch match`) plays at its matched note, length, velocity and sample rate
            unless --note, --duration, --velocity or --sample-rate say otherwise; at those it reproduces match.wav.
            """)

    @Option(help: "Module name (see `synthmatch synths`); not with --preset-file.") var synth: String?
    @Option(help: "A preset of that module (see `synthmatch synths --presets`).") var preset: String?
    @Option(help: "A preset file written by `synthmatch match` (preset.json).") var presetFile: String?
    @Option(help: "A DX7 .syx file (single voice or 32-voice bank).") var syx: String?
    @Option(help: "The voice of --syx to play, 1...32.") var voice: Int?
    @Option(help: "Seconds the key is held (--syx; default 3/4 of --duration).") var hold: Double?
    @Flag(help: "Round the DX7 output down to Dexed's 12-bit steps, as Dexed's engine delivers it (--syx).") var quantise = false
    @Option(help: "MIDI note; sets the module's f0 parameter if it has one.") var note: Double?
    @Option(help: "Duration in seconds (default 2, or the preset file's).") var duration: Double?
    @Option(help: "MIDI velocity 1...127 (preset files: relative to the matched velocity).") var velocity: Int?
    @Option(help: "Sample rate in Hz (default 16000, or the preset file's).") var sampleRate: Double?
    @Option(help: "Control frames per second.") var frameRate: Double = 250
    @Option(parsing: .upToNextOption, help: "Physical parameter values, NAME=VALUE (for every frame).")
    var set: [String] = []
    @Option(help: "Noise key (renders are a pure function of parameters and key).") var seed: UInt64 = 0
    @Option(help: "Output WAV (32-bit float).") var out: String

    func validate() throws {
        if let duration { guard duration.isFinite, duration > 0, duration <= 600 else { throw ValidationError("--duration must be in (0, 600] seconds") } }
        if let sampleRate { guard sampleRate.isFinite, sampleRate >= 1000, sampleRate <= 384_000 else { throw ValidationError("--sample-rate must be within 1000...384000 Hz") } }
        if let note { guard note.isFinite, (0...127).contains(note) else { throw ValidationError("--note must be a MIDI note in 0...127") } }
        if let velocity { guard (1...127).contains(velocity) else { throw ValidationError("--velocity must be within 1...127") } }
        guard frameRate.isFinite, frameRate >= 1, frameRate <= 1000 else { throw ValidationError("--frame-rate must be within 1...1000 frames per second") }
        guard !out.isEmpty else { throw ValidationError("--out must name a file") }
        if let hold { guard hold.isFinite, hold >= 0, hold <= 600 else { throw ValidationError("--hold must be within 0...600 seconds") } }
        if let voice { guard (1...32).contains(voice) else { throw ValidationError("--voice must be within 1...32") } }
        if syx != nil {
            guard synth == nil, preset == nil, presetFile == nil, set.isEmpty else { throw ValidationError("--syx plays a DX7 voice: it takes no --synth, --preset, --preset-file or --set") }
            if let note { guard note == note.rounded() else { throw ValidationError("--note must be a whole MIDI note with --syx") } }
            return
        }
        guard voice == nil, hold == nil, !quantise else { throw ValidationError("--voice, --hold and --quantise apply to --syx") }
        if presetFile != nil {
            guard synth == nil, preset == nil, set.isEmpty else { throw ValidationError("--preset-file plays a matched preset: it takes no --synth, --preset or --set") }
            if let note { guard note == note.rounded() else { throw ValidationError("--note must be a whole MIDI note with --preset-file") } }
        } else {
            guard synth != nil else { throw ValidationError("give --synth (and optionally --preset), or --preset-file") }
            guard velocity == nil else { throw ValidationError("--velocity applies to --preset-file and --syx") }
        }
    }

    func run() throws {
        try AtomicFile.checkWritable(out)
        if let syx {
            let voices = try readSysex(syx)
            let number = voice ?? 1
            guard number <= voices.count else { throw DX7Error.noSuchVoice(syx, voice: number, count: voices.count) }
            let rate = sampleRate ?? 44100, length = duration ?? 2, key = Int(note ?? 60)
            let audio = DX7Voice(voices[number - 1], sampleRate: rate).render(note: key, velocity: velocity ?? 100, noteOff: hold ?? 0.75 * length,
                                                                             duration: length, quantised: quantise)
            guard audio.allSatisfy(\.isFinite) else { throw CommandFailure("the render is not finite (a bug: please report the command)") }
            try AudioFile.write(MonoAudio(samples: audio, sampleRate: rate), to: out)
            let peak = audio.map { abs($0) }.max() ?? 0
            print("wrote \(out): DX7 voice \(number) '\(voices[number - 1].name)' of \(syx), note \(key), \(audio.count) samples at \(Int(rate)) Hz, peak \(String(format: "%.3f", peak))")
            return
        }
        if let presetFile {
            let file = try PresetFile.read(presetFile)
            let rate = sampleRate ?? file.sample_rate
            let audio = try file.render(note: note.map { Int($0) }, duration: duration, velocity: velocity, sampleRate: rate)
            guard audio.allSatisfy({ $0.isFinite }) else { throw CommandFailure("the render is not finite (a bug: please report the command)") }
            try AudioFile.write(MonoAudio(samples: audio, sampleRate: rate), to: out)
            let peak = audio.map { abs($0) }.max() ?? 0
            print("wrote \(out): \(file.synth) preset from \(presetFile), note \(note.map { Int($0) } ?? file.note), \(audio.count) samples at \(Int(rate)) Hz, peak \(String(format: "%.3f", peak))")
            return
        }
        let synth = self.synth!, duration = self.duration ?? 2, sampleRate = self.sampleRate ?? 16000
        let patch = try preset.map { try PresetLibrary.find(synth: synth, preset: $0) }
        let module = try SynthRegistry.make(patch?.module ?? synth, sampleRate: sampleRate)
        let frames = max(1, Int((duration * frameRate).rounded()))
        let hop = Int((duration * sampleRate / Double(frames)).rounded(.up))
        let samples = frames * hop
        let layout = module.layout(frameCount: frames)
        var controls: Controls<Float> = try patch?.controls(layout) ?? Controls(defaultsFor: layout, batchSize: 1)
        var assignments = set
        if let note {
            if layout.index(of: "f0") != nil { assignments.insert("f0=\(440 * pow(2, (note - 69) / 12))", at: 0) }
        }
        for assignment in assignments {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Double(parts[1]) else { throw CommandFailure("expected NAME=VALUE, got '\(assignment)'") }
            guard let p = layout.index(of: parts[0]) else { throw SynthError.unknownParameter(parts[0], synth: synth) }
            let spec = layout.parameters[p]
            guard spec.contains(value) else { throw SynthError.valueOutOfRange(parameter: spec.name, value: value, range: spec.minimum...spec.maximum) }
            controls.set(item: 0, parameter: p, to: Float(spec.normalised(value)))
        }
        let audio = module.render(controls, RenderRequest(sampleCount: samples, noiseKeys: [seed]))
        try AudioFile.write(MonoAudio(samples: audio.samples, sampleRate: sampleRate), to: out)
        let peak = audio.samples.map { abs($0) }.max() ?? 0
        guard audio.samples.allSatisfy(\.isFinite) else { throw CommandFailure("the render is not finite (a bug: please report the command)") }
        print("wrote \(out): \(module.name)\(patch.map { " preset \($0.name)" } ?? ""), \(samples) samples at \(Int(sampleRate)) Hz, peak \(String(format: "%.3f", peak))")
    }
}
