import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import Synths

/// `synthmatch match`: the product's main job.
struct Match: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the synth preset that best reproduces a recorded note.",
        discussion: """
            Reads TARGET (any format libsndfile opens, any rate and channel count; downmixed to mono), analyses it
            (onset, sounding length, key release, pitch by YIN) and matches the whole note: leading silence is
            trimmed, the tail is kept until it falls 60 dB below the loudest 10 ms, up to --max-duration seconds (only the
            first --max-duration + 30 s of the file are decoded).
            The pitch is held at the detected note (or --note / --f0); the estimator network guesses the other
            parameters and gradient descent refines them, from the estimate and from perturbations of it, on the
            multi-scale spectral loss plus --envelope-weight x the loudness-contour difference (dB per 10 ms). FM
            operator ratios end as whole numbers, checked by ear (YIN) to sound at the note. Writes into --out (all files appear together, or none):
              preset.json   the preset: synth, module version, MIDI note + fine tune, every parameter's value
                            and unit (play it with `synthmatch render --preset-file`)
              match.wav     the preset played at the target's note, length and sample rate, as loud as the target
              refinement.csv  loss per step and restart
            With several targets (e.g. A2.wav A3.wav E4.wav) the timbre and envelope parameters are shared, each note
            keeps its own pitch and key release, and the mean loss over the notes is minimised; each note is also
            matched alone, and the table printed says how much worse each note fits in the joint preset. The preset
            is keyed to the first target's note; match-STEM.wav plays it at each target's note and length.
            The model is models/SYNTH.h5, found next to the executable, in $SYNTHMATCH_MODELS or in the
            repository the executable was built in; --no-model refines from random starts instead.
            Example: synthmatch match Examples/gm-saw-lead-45.wav --synth subtractive --out match-saw
            """)

    @Argument(help: "Target recording of one note; several recordings of one instrument at different pitches are matched jointly into one preset.")
    var targets: [String]
    var target: String { targets[0] }
    @Option(help: "Module name (see `synthmatch synths`).") var synth: String
    @Option(help: "Estimator model file (default: the shipped models/SYNTH.h5).") var model: String?
    @Flag(help: "Use no model: refine from random starts.") var noModel = false
    @Option(help: "Refinement steps (at most: see --time-limit).") var steps: Int = 200
    @Option(help: "Seconds the refinement may take (wall clock, both cores; 0: no limit): it stops at --steps or here, whichever comes first.") var timeLimit: Double = 15
    @Option(help: "Refinements run side by side (the estimate and perturbations of it), 1...64.") var restarts: Int = 4
    @Option(help: "Refinement learning rate (Adam, on the parameters' logits), in (0, 1].") var learningRate: Double = 0.05
    @Option(help: "Weight of the loudness-contour term (dB per 10 ms frame) added to the spectral loss, 0...100.") var envelopeWeight: Double = MatchOptions().envelopeWeight
    @Option(help: "Longest stretch of the note kept, in seconds (8...60).") var maxDuration: Double = 8
    @Option(help: "MIDI note of the target (0...127): overrides the pitch tracker.") var note: Int?
    @Option(help: "Fundamental of the target in Hz: overrides the pitch tracker.") var f0: Double?
    @Option(help: "Key release in seconds after the onset: overrides the analysis.") var noteOff: Double?
    @Flag(help: "Refine the key release from the analysed (or given) value instead of holding it.") var refineNoteOff = false
    @Option(help: "Sample rate of match.wav (default: the target's).") var sampleRate: Double?
    @Option(help: "Rate the synth is matched at when there is no model (the model's rate otherwise).") var matchRate: Double = 16000
    @Option(help: "Seed of the perturbations / random starts.") var seed: UInt64 = 0
    @Option(help: "Output folder (replaced as a whole when the match completes).") var out: String = "match"

    func validate() throws {
        guard (0...100_000).contains(steps) else { throw ValidationError("--steps must be within 0...100000") }
        guard (1...64).contains(restarts) else { throw ValidationError("--restarts must be within 1...64") }
        guard timeLimit.isFinite, timeLimit >= 0, timeLimit <= 86_400 else { throw ValidationError("--time-limit must be within 0...86400 seconds (0: none)") }
        guard learningRate.isFinite, learningRate > 0, learningRate <= 1 else { throw ValidationError("--learning-rate must be in (0, 1]") }
        guard envelopeWeight.isFinite, (0...100).contains(envelopeWeight) else { throw ValidationError("--envelope-weight must be within 0...100") }
        guard maxDuration.isFinite, maxDuration >= 8, maxDuration <= 60 else { throw ValidationError("--max-duration must be within 8...60 seconds") }
        if let note { guard (0...127).contains(note) else { throw ValidationError("--note must be a MIDI note in 0...127") } }
        if let f0 { guard f0.isFinite, f0 >= 8, f0 <= 20_000 else { throw ValidationError("--f0 must be within 8...20000 Hz") } }
        guard note == nil || f0 == nil else { throw ValidationError("give --note or --f0, not both") }
        if let noteOff { guard noteOff.isFinite, noteOff > 0, noteOff <= 60 else { throw ValidationError("--note-off must be in (0, 60] seconds") } }
        if let sampleRate { guard sampleRate.isFinite, sampleRate >= 8000, sampleRate <= 192_000 else { throw ValidationError("--sample-rate must be within 8000...192000 Hz") } }
        guard matchRate.isFinite, matchRate >= 8000, matchRate <= 48_000 else { throw ValidationError("--match-rate must be within 8000...48000 Hz") }
        guard !out.isEmpty else { throw ValidationError("--out must name a folder") }
        guard noModel == false || model == nil else { throw ValidationError("give --model or --no-model, not both") }
        guard (1...16).contains(targets.count) else { throw ValidationError("give 1 to 16 target recordings") }
        guard targets.count == 1 || (note == nil && f0 == nil && noteOff == nil) else {
            throw ValidationError("--note, --f0 and --note-off apply to a single target; with several, each is analysed")
        }
    }

    func run() throws {
        try OutputFolder.checkWritable(out)   // before the match, not after
        if targets.count > 1 { return try runJoint() }
        let (estimator, module, rate) = try loadModule()
        let (original, analysis, originalNote) = try readNote(target, rate: rate)
        let outputRate = sampleRate ?? original.sampleRate
        let (notePart, levelScale) = LoudnessMatch.workingLevel(originalNote)
        if levelScale != 1 { print(String(format: "level: the note peaks at %.3g; matched at a peak of 0.5 (%+.1f dB), match.wav restores its loudness", 0.5 / levelScale, -20 * log10(levelScale))) }
        let pitch = try choosePitch(analysis, module: module)
        let release = noteOff ?? analysis.noteOffSeconds

        var options = matchOptions()
        if let hz = pitch.hz { options.pinned["f0"] = hz }
        if module.parameters.contains(where: { $0.name == "note_off" }) {
            let value = ADSR.clampedNoteOff(release)
            if refineNoteOff { options.starts["note_off"] = value } else { options.pinned["note_off"] = value }
        }
        try options.loss.validate(sampleCount: notePart.count)

        let result = Matcher.match(target: notePart, synth: module, estimator: estimator, options: options)
        // A DX7 match is rounded to the DX7's integers, and what is kept (preset.json, match.wav,
        // preset.syx, the scores) is the rounded patch: what Dexed plays.
        var best = result.best.values, bestAudio = result.audio
        var dx7: (patch: DX7Patch, note: Int, refined: Double)?
        if let voice = module as? DX7Synth {
            let name = String(((target as NSString).lastPathComponent as NSString).deletingPathExtension.uppercased().prefix(10))
            let export = try voice.rounded(best, name: name)
            best = export.controls
            let layout = module.layout(frameCount: 1)
            bestAudio = module.render(Controls<Float>(layout: layout, batchSize: 1, values: best), RenderRequest(sampleCount: notePart.count)).samples
            dx7 = (export.patch, export.note, MatchMetrics.spectralDistance(result.audio, notePart, loss: options.loss))
        }
        let spectral = MatchMetrics.spectralDistance(bestAudio, notePart, loss: options.loss)
        let baseline = MatchMetrics.sineBaseline(target: notePart, f0: pitch.hz ?? 220, sampleRate: rate, loss: options.loss)
        let estimateSpectral: Double? = result.estimate.map {
            MatchMetrics.spectralDistance(module.render($0, RenderRequest(sampleCount: notePart.count)).samples, notePart, loss: options.loss)
        }

        // The preset keyed to the note; the gain makes match.wav as loud as the target's note.
        let f0Kept = module.parameters.firstIndex { $0.name == "f0" }.map { module.parameters[$0].physical(Double(best[$0])) }
        let key: (midi: Int, cents: Double) = f0Kept.map { MIDINote.nearest(toHz: $0) } ?? (pitch.note ?? 60, 0)
        var preset = PresetFile(synth: module, controls: best, note: key.midi, fineTuneCents: key.cents,
                                durationSeconds: Double(notePart.count) / rate, sampleRate: outputRate, gainDB: 0)
        let targetNote = try AudioFile.resample(MonoAudio(samples: originalNote, sampleRate: rate), to: outputRate).samples
        let unity = try preset.render()
        preset.gain_db = LoudnessMatch.gainDB(for: unity, toMatch: targetNote)
        preset.source = [
            "target": target, "onset_seconds": fmt(analysis.onsetSeconds), "used_seconds": fmt(analysis.durationSeconds),
            "sounding_seconds": fmt(analysis.soundingSeconds), "truncated": "\(analysis.truncated)",
            "note_off_seconds": fmt(release), "note_off_from": noteOff == nil ? (analysis.released ? "analysis" : "held to the end") : "--note-off",
            "pitch_from": pitch.from, "detected_f0_hz": analysis.f0.map(fmt) ?? "unpitched",
            "voiced_fraction": fmt(analysis.voicedFraction), "model": estimator == nil ? "none" : (model ?? "shipped \(synth).h5"),
            "match_sample_rate": fmt(rate),
        ]
        let standard = StandardMetrics.measure(bestAudio, notePart, sampleRate: rate)
        preset.scores = ["spectral_loss": spectral, "log_spectral_distance_db": standard.logSpectralAllDB,
                         "mel_cepstral_distance_db": standard.melCepstralDB, "spectral_convergence": standard.spectralConvergence,
                         "mfcc_l1": standard.mfccL1, "sine_baseline_spectral_loss": baseline,
                         "estimate_spectral_loss": estimateSpectral ?? .nan].filter { $0.value.isFinite }
        let wav = try preset.render()
        guard wav.allSatisfy({ $0.isFinite }) else { throw CommandFailure("the matched preset renders non-finite samples (a bug: please report the command)") }

        try OutputFolder.write(out) { folder in
            try AtomicFile.write(try preset.encoded(), to: (folder as NSString).appendingPathComponent("preset.json"))
            try AudioFile.write(MonoAudio(samples: wav, sampleRate: outputRate), to: (folder as NSString).appendingPathComponent("match.wav"))
            if let dx7 { try AtomicFile.write(Data(DX7Sysex.encodeVoice(dx7.patch)), to: (folder as NSString).appendingPathComponent("preset.syx")) }
            var csv = CSVWriter(path: (folder as NSString).appendingPathComponent("refinement.csv"), header: ["step", "restart", "loss"])
            csv.provenance = false   // the folder's preset.json says what made it
            for (s, losses) in result.history.enumerated() { for (r, l) in losses.enumerated() { csv.row([s, r, l]) } }
            try csv.finish()
        }

        print(String(format: "target: %@, note from %.3f s to %.3f s of %.3f s%@; key release %@",
                     target, analysis.onsetSeconds, analysis.onsetSeconds + analysis.durationSeconds, original.durationSeconds,
                     analysis.truncated ? String(format: " (cut at %.0f s: the note sounds %.2f s)", maxDuration, analysis.soundingSeconds) : "",
                     noteOff != nil ? String(format: "%.3f s (--note-off)", release)
                        : analysis.released ? String(format: "%.3f s after the onset", release) : "not heard (held to the end)"))
        if let hz = pitch.hz {
            let (n, c) = MIDINote.nearest(toHz: hz)
            print(String(format: "pitch (%@): %@ = MIDI %d %+.1f cents (%.2f Hz)", pitch.from, MIDINote.name(n), n, c, hz))
        } else {
            print("pitch: none found (\(Int((analysis.voicedFraction * 100).rounded()))% of frames voiced): f0 is refined with the rest; pass --note or --f0 if the note has a pitch")
        }
        if let e = estimateSpectral { print(String(format: "estimate: spectral loss %.4f", e)) }
        print(String(format: "refined (%d steps x %d restarts, %.1f s%@): spectral loss %.4f (a sine at the pitch with the target's envelope: %.4f), log-spectral distance %.2f dB, mel-cepstral distance %.2f dB (standard forms: see README)",
                     result.stepsTaken, restarts, result.seconds,
                     result.stepsTaken < steps ? String(format: "; stopped by --time-limit %g s before --steps %d", timeLimit, steps) : "",
                     spectral, baseline, standard.logSpectralAllDB, standard.melCepstralDB))
        if let dx7 {
            print(String(format: "DX7 patch '%@' (algorithm %d) at MIDI note %d: rounded to the DX7's integers the spectral loss goes from %.4f to %.4f; preset.syx is a single voice Dexed loads (play it at note %d; %+.1f cents of fine tune are not in the voice)",
                         dx7.patch.name, dx7.patch.algorithm, dx7.note, dx7.refined, spectral, dx7.note, key.cents))
        }
        print(String(format: "wrote %@/preset.json, %@match.wav (%.2f s at %.0f Hz, gain %+.1f dB), refinement.csv", out, dx7 == nil ? "" : "preset.syx, ",
                     Double(wav.count) / outputRate, outputRate, preset.gain_db) + (ProcessMemory.peakResidentSummary.map { "; \($0)" } ?? ""))
    }

    func fmt(_ x: Double) -> String { String(format: "%.4g", x) }

    /// The estimator (unless --no-model), the module at its rate, checked against each other.
    func loadModule() throws -> (ParameterEstimator?, any Synth, Double) {
        let estimator = try loadEstimator()
        let rate = estimator?.sampleRate ?? matchRate
        let module = try SynthRegistry.make(synth, sampleRate: rate)
        if let estimator, estimator.parameters.map({ ParameterDescription($0) }) != module.parameters.map({ ParameterDescription($0) }) {
            throw CommandFailure("\(model ?? "the model") was trained for another version of \(synth)'s parameters; retrain it (Experiments/train_models)")
        }
        return (estimator, module, rate)
    }

    /// Leading silence allowed before the note: with --max-duration, what is decoded of a file.
    static let leadingSilence = 30.0

    /// A target as read, its analysis at `rate`, and the kept note at `rate`.
    func readNote(_ path: String, rate: Double) throws -> (MonoAudio, NoteAnalysis, [Float]) {
        try Self.readNote(path, rate: rate, maxDuration: maxDuration)
    }

    static func readNote(_ path: String, rate: Double, maxDuration: Double) throws -> (MonoAudio, NoteAnalysis, [Float]) {
        let limit = maxDuration + Self.leadingSilence
        let original = try AudioFile.read(path, maxSeconds: limit)
        if let total = AudioFile.declaredSeconds(path), total > limit {
            print(String(format: "%@ lasts %.1f s: its first %.0f s are read (the note must start within %.0f s)", path, total, limit, Self.leadingSilence))
        }
        let audio = try AudioFile.resample(original, to: rate)
        var settings = NoteAnalysis.Settings()
        settings.maximumDuration = maxDuration
        let analysis: NoteAnalysis
        do { analysis = try NoteAnalysis.analyse(audio.samples, sampleRate: rate, settings: settings) } catch {
            throw CommandFailure("\(path) \(error)")
        }
        return (original, analysis, analysis.note(in: audio.samples))
    }

    /// The refinement options the command line sets.
    func matchOptions() -> MatchOptions {
        var options = MatchOptions()
        options.steps = steps
        options.restarts = restarts
        options.learningRate = learningRate
        options.seed = seed
        options.envelopeWeight = envelopeWeight
        options.timeBudget = timeLimit > 0 ? timeLimit : nil
        return options
    }

    func loadEstimator() throws -> ParameterEstimator? {
        if noModel {
            FileHandle.standardError.write("match: --no-model: refining from \(restarts) random starts\n".data(using: .utf8)!)
            return nil
        }
        let path = try model ?? ModelSearch.find(synth)
        try HDF5Probe.check(path, as: .model)
        let loaded = try Checkpoint.load(path)
        guard loaded.estimator.synthName == synth else { throw CommandFailure("\(path) is a model for \(loaded.estimator.synthName), not \(synth)") }
        return loaded.estimator
    }

    /// The pitch the synth is held at: --note, --f0, or the tracker's; nil leaves f0 to refinement.
    func choosePitch(_ analysis: NoteAnalysis, module: any Synth) throws -> (hz: Double?, note: Int?, from: String) {
        let hz: Double?, from: String
        if let note { hz = MIDINote.hz(Double(note)); from = "--note" }
        else if let f0 { hz = f0; from = "--f0" }
        else { hz = analysis.f0; from = hz == nil ? "none" : "YIN" }
        guard let hz else { return (nil, nil, from) }
        if let spec = module.parameters.first(where: { $0.name == "f0" }), !spec.contains(hz) {
            throw CommandFailure(String(format: "the pitch %.2f Hz (%@) is outside %@'s f0 range %.0f...%.0f Hz", hz, from, synth, spec.minimum, spec.maximum))
        }
        return (hz, MIDINote.nearest(toHz: hz).midi, from)
    }

    /// Several notes of one instrument into one preset (`JointMatcher`), each also matched alone.
    func runJoint() throws {
        let (estimator, module, rate) = try loadModule()
        guard let f0Spec = module.parameters.first(where: { $0.name == "f0" }) else { throw CommandFailure("\(synth) has no f0 parameter: joint matching needs notes at different pitches") }
        var notes: [JointMatcher.Note] = [], analyses: [NoteAnalysis] = [], originals: [[Float]] = []
        var outputRate = sampleRate
        for path in targets {
            let (original, analysis, note) = try readNote(path, rate: rate)
            outputRate = outputRate ?? original.sampleRate
            guard let hz = analysis.f0 else { throw CommandFailure("\(path): no pitch found; joint matching needs pitched notes (match it alone with --note)") }
            guard f0Spec.contains(hz) else { throw CommandFailure(String(format: "%@: the pitch %.2f Hz is outside %@'s f0 range", path, hz, synth)) }
            var pinned = ["f0": hz]
            if module.parameters.contains(where: { $0.name == "note_off" }) {
                pinned["note_off"] = ADSR.clampedNoteOff(analysis.noteOffSeconds)
            }
            originals.append(note)
            notes.append(.init(samples: LoudnessMatch.workingLevel(note).samples, pinned: pinned))
            analyses.append(analysis)
        }
        let options = matchOptions()
        for note in notes { try options.loss.validate(sampleCount: note.samples.count) }
        let joint = JointMatcher.match(notes: notes, synth: module, estimator: estimator, options: options)
        let alone: [Double] = notes.map { note in
            var single = options
            single.pinned = note.pinned
            return Matcher.match(target: note.samples, synth: module, estimator: estimator, options: single).bestLoss
        }

        let key = MIDINote.nearest(toHz: notes[0].pinned["f0"]!)
        let rateOut = outputRate ?? rate
        var preset = PresetFile(synth: module, controls: joint.best, note: key.midi, fineTuneCents: key.cents,
                                durationSeconds: Double(notes[0].samples.count) / rate, sampleRate: rateOut, gainDB: 0)
        let firstTarget = try AudioFile.resample(MonoAudio(samples: originals[0], sampleRate: rate), to: rateOut).samples
        preset.gain_db = LoudnessMatch.gainDB(for: try preset.render(), toMatch: firstTarget)
        preset.source = ["targets": targets.joined(separator: " "), "match": "joint over \(targets.count) notes",
                         "model": estimator == nil ? "none" : (model ?? "shipped \(synth).h5"), "match_sample_rate": fmt(rate)]
        preset.scores = ["mean_match_loss": joint.noteLosses.reduce(0, +) / Double(notes.count)]
        var renders: [(String, [Float])] = []
        for (j, path) in targets.enumerated() {
            let midi = MIDINote.nearest(toHz: notes[j].pinned["f0"]!).midi
            // Each note at its own note and length; the preset's fine tune is the first note's.
            let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            renders.append(("match-\(stem).wav", try preset.render(note: midi, duration: Double(notes[j].samples.count) / rate)))
        }
        try OutputFolder.write(out) { folder in
            try AtomicFile.write(try preset.encoded(), to: (folder as NSString).appendingPathComponent("preset.json"))
            try AudioFile.write(MonoAudio(samples: try preset.render(), sampleRate: rateOut), to: (folder as NSString).appendingPathComponent("match.wav"))
            for (name, audio) in renders { try AudioFile.write(MonoAudio(samples: audio, sampleRate: rateOut), to: (folder as NSString).appendingPathComponent(name)) }
            var csv = CSVWriter(path: (folder as NSString).appendingPathComponent("refinement.csv"), header: ["step", "restart", "mean_loss"])
            csv.provenance = false
            for (s, losses) in joint.history.enumerated() { for (r, l) in losses.enumerated() { csv.row([s, r, l]) } }
            try csv.finish()
            var table = CSVWriter(path: (folder as NSString).appendingPathComponent("notes.csv"),
                                  header: ["target", "midi_note", "f0_hz", "seconds", "alone_loss", "joint_loss", "ratio"])
            table.provenance = false
            for (j, path) in targets.enumerated() {
                let hz = notes[j].pinned["f0"]!
                table.row([(path as NSString).lastPathComponent, MIDINote.nearest(toHz: hz).midi, hz, analyses[j].durationSeconds,
                           alone[j], joint.noteLosses[j], joint.noteLosses[j] / alone[j]])
            }
            try table.finish()
        }
        print(String(format: "%-28@ %6@ %8@ %10@ %10@ %8@", "target", "note", "seconds", "alone", "joint", "ratio"))
        for (j, path) in targets.enumerated() {
            let (midi, cents) = MIDINote.nearest(toHz: notes[j].pinned["f0"]!)
            print(String(format: "%-28@ %6@ %8.2f %10.4f %10.4f %8.2f", (path as NSString).lastPathComponent,
                         MIDINote.name(midi) + String(format: "%+.0f", cents), analyses[j].durationSeconds, alone[j], joint.noteLosses[j], joint.noteLosses[j] / alone[j]))
        }
        print(String(format: "joint (%d steps x %d restarts, %.1f s): one preset keyed to %@; wrote %@/preset.json, notes.csv, match.wav and match-*.wav",
                     steps, restarts, joint.seconds, MIDINote.name(key.midi), out))
    }
}
