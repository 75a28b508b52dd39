import DSP

/// A named patch: the module it plays on and physical parameter values by name (anything
/// unnamed keeps the module's default). A preset is data, so it is also a matching target
/// and a dataset seed (`--sampling preset-jitter`).
public struct SynthPreset: Sendable {
    /// The name users ask for with `--synth` (`fm`, `subtractive`).
    public let family: String
    public let name: String
    /// The registry module the preset plays on (`fm-alg5`, `ddx7-strings`).
    public let module: String
    public let summary: String
    public let values: [String: Double]

    public init(family: String, name: String, module: String, summary: String, values: [String: Double]) {
        self.family = family
        self.name = name
        self.module = module
        self.summary = summary
        self.values = values
    }

    /// Normalised controls for `layout` (global parameters set; per-frame ones on every frame).
    public func controls<T: SynthScalar>(_ layout: ControlLayout, batchSize: Int = 1) throws -> Controls<T> {
        var c = Controls<T>(defaultsFor: layout, batchSize: batchSize)
        for (key, v) in values.sorted(by: { $0.key < $1.key }) {
            guard let p = layout.index(of: key) else { throw SynthError.unknownParameter(key, synth: module) }
            let spec = layout.parameters[p]
            guard spec.contains(v) else { throw SynthError.valueOutOfRange(parameter: key, value: v, range: spec.minimum...spec.maximum) }
            for b in 0..<batchSize { c.set(item: b, parameter: p, to: T(spec.normalised(v))) }
        }
        return c
    }
}

/// Every module's presets, gathered from the registry (each module's room defines its own).
public enum PresetLibrary {
    public static func find(synth: String, preset: String) throws -> SynthPreset {
        let candidates = all.filter { $0.family == synth || $0.module == synth }
        guard let p = candidates.first(where: { $0.name == preset }) else {
            let names = candidates.isEmpty ? all.map { "\($0.family)/\($0.name)" } : candidates.map(\.name)
            throw SynthError.unknownPreset(preset, synth: synth, known: names)
        }
        return p
    }

    /// In registry order; a preset shared by two entries (NEWT's wavefolder) is listed once per module it plays on.
    public static var all: [SynthPreset] { SynthRegistry.entries.flatMap(\.presets) }
}
