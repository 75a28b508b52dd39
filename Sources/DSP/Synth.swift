/// What a render needs besides the controls.
public struct RenderRequest: Sendable, Equatable {
    /// Output length in samples.
    public var sampleCount: Int
    /// One key per batch item for the module's noise sources. Noise is a pure function
    /// of (key, sample index), so an item renders the same alone or inside any batch.
    /// `nil` uses key 0 for every item.
    public var noiseKeys: [UInt64]?

    public init(sampleCount: Int, noiseKeys: [UInt64]? = nil) {
        precondition(sampleCount > 0, "render request: sampleCount must be positive")
        self.sampleCount = sampleCount
        self.noiseKeys = noiseKeys
    }

    @inlinable public func noiseKey(item b: Int) -> UInt64 { noiseKeys?[b] ?? 0 }
}

/// The one gradient protocol every synth module conforms to.
///
/// A module maps normalised controls (batch x parameters x frames, in [0, 1]) to a batch
/// of audio, and returns the vector-Jacobian product of that map: given dLoss/dAudio,
/// dLoss/dControls for the whole batch. The words follow Swift's `_Differentiation`
/// (`valueWithPullback`), so composition is composition of pullbacks:
/// network -> synth -> loss back-propagates with no special cases.
///
/// Implementations are generic over `T` so the float64 gradient checker runs the shipped
/// code; mark implementations `@_specialize(where T == Float)` and `Double`.
/// Batch items must be independent (no state shared between items) and results must
/// not depend on the thread count.
public protocol Synth: Sendable {
    /// The registry name (`"harmonic"`, `"fm"`, ...).
    var name: String { get }
    /// What the module reads, one spec per parameter, in layout order.
    var parameters: [ParameterSpec] { get }
    var sampleRate: Double { get }
    /// The version of what the parameters mean (units, ranges, layout): presets and models
    /// record it, and a change of meaning raises it so that old files are refused, not misread.
    var version: Int { get }

    /// Renders a batch into `audio` (resized to fit), saving nothing for a backward pass.
    func render<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest, into audio: inout AudioBatch<T>)

    /// Renders a batch and returns the pullback mapping dLoss/dAudio to dLoss/dControls.
    /// The pullback owns whatever the forward pass saved.
    func valueWithPullback<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest)
        -> (value: AudioBatch<T>, pullback: (AudioBatch<T>) -> Controls<T>)
}

extension Synth {
    public var version: Int { 1 }

    public func layout(frameCount: Int) -> ControlLayout {
        ControlLayout(parameters: parameters, frameCount: frameCount)
    }

    /// Convenience: render and return a new batch.
    public func render<T: SynthScalar>(_ controls: Controls<T>, _ request: RenderRequest) -> AudioBatch<T> {
        var audio = AudioBatch<T>(zeros: controls.batchSize, sampleCount: request.sampleCount)
        render(controls, request, into: &audio)
        return audio
    }
}
