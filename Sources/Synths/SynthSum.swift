import DSP

/// Several modules played in parallel and summed: `y = sum_i synth_i(controls_i)`.
///
/// The parameter list is the concatenation of the parts' lists (names must be unique),
/// so a composite is one module on the protocol; its pullback sends the same dL/dy to
/// every part and concatenates their gradients. DDSP's harmonic-plus-noise model is
/// `SynthSum([HarmonicOscillatorBank(), FilteredNoise()])`.
public struct SynthSum: Synth {
    public let name: String
    public let parts: [any Synth]
    public let parameters: [ParameterSpec]
    public var sampleRate: Double { parts[0].sampleRate }

    public init(name: String, parts: [any Synth]) {
        precondition(!parts.isEmpty, "\(name): no parts")
        precondition(Set(parts.map(\.sampleRate)).count == 1, "\(name): parts disagree on the sample rate")
        let all = parts.flatMap(\.parameters)
        precondition(Set(all.map(\.name)).count == all.count, "\(name): parameter names collide")
        self.name = name
        self.parts = parts
        self.parameters = all
    }

    /// Each part's slice of a controls batch.
    func split<T>(_ controls: Controls<T>) -> [Controls<T>] { controls.split(parts.map(\.parameters)) }

    public func render<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>) {
        precondition(controls.layout.parameters == parameters, "\(name): controls were laid out for another module")
        let pieces = split(controls)
        parts[0].render(pieces[0], request, into: &audio)
        var scratch = AudioBatch<T>(zeros: controls.batchSize, sampleCount: request.sampleCount)
        for (part, piece) in zip(parts.dropFirst(), pieces.dropFirst()) {
            part.render(piece, request, into: &scratch)
            for i in audio.samples.indices { audio.samples[i] += scratch.samples[i] }
        }
    }

    public func valueWithPullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest)
        -> (value: AudioBatch<T>, pullback: (AudioBatch<T>) -> Controls<T>) {
        precondition(controls.layout.parameters == parameters, "\(name): controls were laid out for another module")
        let results = zip(parts, split(controls)).map { $0.valueWithPullback($1, request) }
        var audio = results[0].value
        for r in results.dropFirst() { for i in audio.samples.indices { audio.samples[i] += r.value.samples[i] } }
        let layout = controls.layout
        let pullbacks = results.map(\.pullback)
        return (audio, { dAudio in Controls(concatenating: pullbacks.map { $0(dAudio) }, layout: layout) })
    }
}
