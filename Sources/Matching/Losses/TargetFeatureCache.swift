import DSP
import Foundation
import Synchronization

/// The spectral loss's target side (magnitudes and their logarithms per resolution), kept
/// across calls for the targets scored most recently.
///
/// Refinement scores hundreds of predictions against one target, and every call used to
/// recompute the target's spectra: a third of the loss's FFTs. Entries are found by content
/// (the target's exact bytes, the loss's configuration and the scalar type), never by
/// identity, so a changed target can never be served stale features; a lookup costs one
/// `memcmp` of the target, which stops at the first differing byte for another target.
/// The least recently used entries go once the cache holds more than `budgetBytes`.
enum TargetFeatureCache {
    struct Entry: @unchecked Sendable {
        let loss: MultiScaleSpectralLoss
        let scalar: ObjectIdentifier
        let target: [UInt8]
        /// `[SingleResolution<T>.TargetFeatures]`, one per resolution.
        let features: Any
        let bytes: Int
    }

    struct State {
        var entries: [Entry] = []
        var enabled = true
    }

    /// Enough for a few 30 s targets under the DDSP loss's six resolutions.
    static let budgetBytes = 256 << 20
    static let state = Mutex(State())

    /// Turns the cache on or off (off: every call computes its target's features, as before
    /// the cache; tests compare the two). Turning it off empties it.
    static func setEnabled(_ on: Bool) {
        state.withLock { s in
            s.enabled = on
            if !on { s.entries.removeAll() }
        }
    }

    /// The features of `target` (`count` values) under `loss`, from the cache or made by `make`.
    static func features<T: SynthScalar>(loss: MultiScaleSpectralLoss, target: UnsafePointer<T>, count: Int,
                                         make: () -> [SingleResolution<T>.TargetFeatures]) -> [SingleResolution<T>.TargetFeatures] {
        let scalar = ObjectIdentifier(T.self), byteCount = count * MemoryLayout<T>.stride
        let found: [SingleResolution<T>.TargetFeatures]?? = state.withLock { s in
            guard s.enabled else { return .some(nil) }
            guard let i = s.entries.firstIndex(where: { e in
                e.scalar == scalar && e.target.count == byteCount && e.loss == loss
                    && e.target.withUnsafeBytes { memcmp($0.baseAddress!, target, byteCount) == 0 }
            }) else { return nil }
            let hit = s.entries.remove(at: i)
            s.entries.append(hit)   // most recently used last
            return .some(hit.features as? [SingleResolution<T>.TargetFeatures])
        }
        if case .some(.some(let features)) = found { return features }
        let features = make()
        if case .some(.none) = found { return features }   // disabled
        let kept = features.reduce(0) { $0 + ($1.magnitudes.count + $1.logarithms.count) * MemoryLayout<T>.stride }
        let entry = Entry(loss: loss, scalar: scalar,
                          target: Array(UnsafeRawBufferPointer(start: target, count: byteCount)),
                          features: features, bytes: kept + byteCount)
        state.withLock { s in
            guard s.enabled, entry.bytes <= budgetBytes else { return }
            s.entries.append(entry)
            var total = s.entries.reduce(0) { $0 + $1.bytes }
            while total > budgetBytes, let oldest = s.entries.first {
                total -= oldest.bytes
                s.entries.removeFirst()
            }
        }
        return features
    }
}

extension MultiScaleSpectralLoss {
    /// Whether target spectra are kept across calls (on by default; see `TargetFeatureCache`).
    /// Turning it off empties the cache.
    public static var cachesTargets: Bool {
        get { TargetFeatureCache.state.withLock { $0.enabled } }
        set { TargetFeatureCache.setEnabled(newValue) }
    }
}
