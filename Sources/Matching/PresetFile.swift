import Datasets
import DSP
import Foundation
import Synths

/// A matched preset as a file a musician keeps: `preset.json`, versioned, with every parameter's
/// physical value and unit in the schema datasets and models use (`ParameterDescription`), and
/// the pitch as a MIDI note plus a fine tune, so that it plays at any note like an instrument.
///
///     {
///       "format": "synthmatch-preset", "format_version": 1,
///       "synth": "subtractive", "module_version": 2,
///       "note": 57, "fine_tune_cents": -3.2, "velocity": 100,
///       "duration_seconds": 4.21, "sample_rate": 44100, "gain_db": -1.7,
///       "parameters": [{"name": "amplitude", "unit": "", "min": 0, "max": 1, "scale": "linear",
///                       "rate": "global", "value": 0.62}, ...],
///       "source": {...}, "scores": {...}        (what it was matched from, how well: informative)
///     }
///
/// Rendering (`render(note:duration:velocity:sampleRate:)`): the module's `f0` is
/// `hz(note) x 2^(fine_tune_cents / 1200)`, every other parameter takes its stored value, the
/// output is scaled by `gain_db` (set by `match` so that the note is as loud as its target) and
/// by the velocity relative to the matched one, `40 log10(velocity / preset velocity)` dB (the
/// General MIDI / DLS velocity curve). A preset without an `f0` parameter ignores the note.
/// At the stored note, duration, velocity and rate this is exactly what `match` wrote as
/// `match.wav` (tested).
public struct PresetFile: Codable, Sendable, Equatable {
    public static let formatName = "synthmatch-preset"
    public static let currentVersion = 1

    /// Free-form facts about the match (the target, the parts used, the analysis).
    public var format: String
    public var format_version: Int
    public var synth: String
    public var module_version: Int
    public var note: Int
    public var fine_tune_cents: Double
    public var velocity: Int
    public var duration_seconds: Double
    public var sample_rate: Double
    public var gain_db: Double
    /// Every parameter but f0, each with its `value`.
    public var parameters: [ParameterDescription]
    public var source: [String: String]?
    public var scores: [String: Double]?

    public init(synth: any Synth, controls: [Float], note: Int, fineTuneCents: Double, velocity: Int = 100,
                durationSeconds: Double, sampleRate: Double, gainDB: Double) {
        format = Self.formatName
        format_version = Self.currentVersion
        self.synth = synth.name
        module_version = synth.version
        self.note = note
        fine_tune_cents = fineTuneCents
        self.velocity = velocity
        duration_seconds = durationSeconds
        sample_rate = sampleRate
        gain_db = gainDB
        parameters = synth.parameters.enumerated().compactMap { q, spec in
            spec.name == "f0" ? nil : ParameterDescription(spec, value: spec.physical(Double(controls[q])))
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case invalid(String, reason: String)
        public var description: String {
            if case let .invalid(path, reason) = self { return "\(path): \(reason)" }
            return ""
        }
    }

    /// Reads and checks a preset file (format, version, synth, every value in range and finite).
    public static func read(_ path: String) throws -> PresetFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw Failure.invalid(path, reason: "cannot read the preset (\((error as NSError).localizedDescription))")
        }
        let preset: PresetFile
        do { preset = try JSONDecoder().decode(PresetFile.self, from: data) } catch {
            throw Failure.invalid(path, reason: "not a SynthMatch preset file (expected JSON with format \"\(formatName)\")")
        }
        guard preset.format == formatName else { throw Failure.invalid(path, reason: "format is \"\(preset.format)\", not \"\(formatName)\"") }
        guard preset.format_version == currentVersion else {
            throw Failure.invalid(path, reason: "preset format version \(preset.format_version); this SynthMatch reads \(currentVersion)")
        }
        _ = try preset.module(sampleRate: 16000, path: path)
        return preset
    }

    /// The module at `sampleRate`, checked against the preset (version, parameters, values).
    public func module(sampleRate: Double, path: String = "preset") throws -> any Synth {
        let module: any Synth
        do { module = try SynthRegistry.make(synth, sampleRate: sampleRate) } catch { throw Failure.invalid(path, reason: "\(error)") }
        guard module.version == module_version else {
            throw Failure.invalid(path, reason: "made for \(synth) version \(module_version); this SynthMatch has version \(module.version) (parameters changed meaning)")
        }
        guard (0...127).contains(note), fine_tune_cents.isFinite, abs(fine_tune_cents) <= 100, (1...127).contains(velocity),
              gain_db.isFinite, abs(gain_db) <= 120, duration_seconds.isFinite, duration_seconds > 0,
              sample_rate.isFinite, sample_rate >= 1000 else {
            throw Failure.invalid(path, reason: "note, fine tune, velocity, gain, duration or sample rate out of range")
        }
        for spec in module.parameters where spec.name != "f0" {
            guard let stored = parameters.first(where: { $0.name == spec.name }) else {
                throw Failure.invalid(path, reason: "no value for \(synth)'s parameter \(spec.name)")
            }
            guard stored.range == ParameterDescription(spec) else {
                throw Failure.invalid(path, reason: "\(spec.name)'s range or scale differs from \(synth)'s")
            }
            guard let value = stored.value, spec.contains(value) else {
                throw Failure.invalid(path, reason: "\(spec.name) = \(stored.value.map { "\($0)" } ?? "(missing)") is outside \(spec.minimum)...\(spec.maximum)")
            }
        }
        return module
    }

    /// The f0 of `note` with this preset's fine tune.
    public func f0(note: Int) -> Double { MIDINote.hz(Double(note)) * Double.exp2(fine_tune_cents / 1200) }

    /// Renders one note (defaults: the matched note, duration, velocity and rate).
    public func render(note: Int? = nil, duration: Double? = nil, velocity: Int? = nil, sampleRate: Double? = nil) throws -> [Float] {
        let rate = sampleRate ?? sample_rate
        let module = try self.module(sampleRate: rate)
        let layout = module.layout(frameCount: 1)
        var controls = Controls<Float>(defaultsFor: layout, batchSize: 1)
        for (q, spec) in module.parameters.enumerated() {
            let physical = spec.name == "f0" ? f0(note: note ?? self.note) : parameters.first { $0.name == spec.name }!.value!
            guard spec.name != "f0" || spec.contains(physical) else {
                throw Failure.invalid("preset", reason: "note \(note ?? self.note) is outside \(synth)'s f0 range \(spec.minimum)...\(spec.maximum) Hz")
            }
            controls.set(item: 0, parameter: q, to: Float(spec.normalised(physical)))
        }
        let count = Swift.max(1, Int(((duration ?? duration_seconds) * rate).rounded()))
        var audio = module.render(controls, RenderRequest(sampleCount: count)).samples
        let velocityDB = 40 * Double.log10(Double(velocity ?? self.velocity) / Double(self.velocity))
        let gain = Float(Double.exp10((gain_db + velocityDB) / 20))
        for i in audio.indices { audio[i] *= gain }
        return audio
    }

    public func encoded() throws -> Data {
        // JSON has no NaN: a non-finite value is named here, not left to the encoder's message.
        let numbers = [("fine_tune_cents", fine_tune_cents), ("duration_seconds", duration_seconds), ("sample_rate", sample_rate), ("gain_db", gain_db)]
            + parameters.map { ($0.name, $0.value ?? 0) } + (scores ?? [:]).map { ($0.key, $0.value) }
        if let bad = numbers.first(where: { !$0.1.isFinite }) {
            throw Failure.invalid("preset.json", reason: "\(bad.0) is \(bad.1), which a preset cannot store (a bug: please report the command)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
