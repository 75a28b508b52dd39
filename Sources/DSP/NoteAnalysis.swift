import RealModule

/// What a recording of one note holds, found before any gradient step: where the note starts,
/// how long it sounds, when the key was released and which pitch it plays. These fix the
/// render's length, the synth's note-off and its f0, so that matching works on timbre and
/// envelopes only (this project's f0 studies show gradients cannot find a pitch from more than
/// a few percent away).
///
/// Levels come from the RMS of consecutive 10 ms frames, in dB relative to the loudest frame:
/// - onset: the first sample whose magnitude reaches `onsetThresholdDB` (-40 dB) of the
///   loudest frame's RMS (leading silence and noise below it are dropped);
/// - end: the end of the last frame at or above `tailThresholdDB` (-60 dB), at most
///   `maximumDuration` seconds after the onset (`truncated` says when the cap cut the tail);
/// - note-off: the knee of the final decline. The dB envelope from the loudest frame to the
///   last frame above -50 dB is fitted by two straight lines that meet nowhere in particular
///   (least squares, every split point tried with prefix sums); the split with the smallest
///   error whose second line falls at least `releaseSlopeDBPerSecond` faster than the first
///   is the release's start. A held or slowly decaying level followed by a fast fall (a
///   trumpet let go, a piano's damper) has its knee at the key release. With no such knee the
///   note is taken as held to the end (`released == false`);
/// - pitch: YIN (`PitchTracker`) on the frames between onset and note-off whose level is
///   within 30 dB of the loudest; frames with aperiodicity below `voicingThreshold` are voiced,
///   and the note's f0 is the median of their f0 (in log frequency). A note with fewer than
///   three voiced frames, or under a third of its frames voiced, is unpitched (`f0 == nil`).
public struct NoteAnalysis: Sendable, Equatable {
    public struct Settings: Sendable, Hashable {
        public var onsetThresholdDB = -40.0
        public var tailThresholdDB = -60.0
        /// The longest stretch after the onset that is kept.
        public var maximumDuration = 8.0
        /// Shorter sounding notes are refused.
        public var minimumDuration = 0.05
        public var releaseSlopeDBPerSecond = 20.0
        public var voicingThreshold = 0.2
        public var pitch = PitchTracker()
        public init() {}
    }

    public var sampleRate: Double
    /// First sample of the note in the analysed signal.
    public var onsetSample: Int
    /// Samples kept from the onset on (the render's length).
    public var sampleCount: Int
    /// Seconds the note sounds above the tail threshold from its onset, before any cap.
    public var soundingSeconds: Double
    /// Whether `maximumDuration` cut the sounding note.
    public var truncated: Bool
    /// Key release in seconds from the onset (the end of the kept part when not `released`).
    public var noteOffSeconds: Double
    public var released: Bool
    /// The note's fundamental in Hz, nil when unpitched.
    public var f0: Double?
    /// Share of the analysed frames that are voiced.
    public var voicedFraction: Double
    /// Interquartile range of the voiced frames' pitch in cents (vibrato, glides, errors).
    public var pitchSpreadCents: Double?
    /// RMS of the loudest 10 ms frame.
    public var peakRMS: Double

    public var onsetSeconds: Double { Double(onsetSample) / sampleRate }
    /// The kept part of the analysed signal `x`: from the onset, `sampleCount` samples.
    public func note(in x: [Float]) -> [Float] { Array(x[onsetSample..<(onsetSample + sampleCount)]) }
    public var durationSeconds: Double { Double(sampleCount) / sampleRate }
    /// The nearest MIDI note and the remaining fine tune in cents (nil when unpitched).
    public var note: (midi: Int, cents: Double)? { f0.map { MIDINote.nearest(toHz: $0) } }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case notFinite
        case silent(peakDB: Double)
        case tooShort(seconds: Double, minimum: Double)
        public var description: String {
            switch self {
            case .notFinite: return "holds NaN or infinite samples"
            case .silent(let db): return "is silent (loudest 10 ms at \(Int(db.rounded())) dBFS); nothing to match"
            case let .tooShort(s, m): return "sounds for \(s) s, less than the \(m) s needed to analyse a note"
            }
        }
    }

    /// Analyses `x` (mono, at `sampleRate`).
    public static func analyse(_ x: [Float], sampleRate: Double, settings: Settings = .init()) throws -> NoteAnalysis {
        guard x.allSatisfy(\.isFinite) else { throw Failure.notFinite }
        let hop = Swift.max(1, Int((0.01 * sampleRate).rounded()))
        let levels = frameLevels(x, hop: hop)
        let peak = levels.max() ?? 0
        let peakDB = 20 * Double.log10(Swift.max(peak, 1e-12))
        guard peak > 1e-5 else { throw Failure.silent(peakDB: peakDB) }
        let onsetAmplitude = Float(peak * Double.exp10(settings.onsetThresholdDB / 20))
        let onset = x.firstIndex { abs($0) >= onsetAmplitude } ?? 0
        let tailLevel = peak * Double.exp10(settings.tailThresholdDB / 20)
        let lastLoud = levels.lastIndex { $0 >= tailLevel } ?? 0
        let soundingEnd = Swift.min(x.count, (lastLoud + 1) * hop)
        let sounding = Double(soundingEnd - onset) / sampleRate
        guard sounding >= settings.minimumDuration else { throw Failure.tooShort(seconds: sounding, minimum: settings.minimumDuration) }
        let kept = Swift.min(soundingEnd - onset, Int((settings.maximumDuration * sampleRate).rounded(.down)))
        let note = Array(x[onset..<(onset + kept)])

        let noteLevels = frameLevels(note, hop: hop)
        let (noteOff, released) = releaseStart(noteLevels, frameSeconds: Double(hop) / sampleRate, peak: peak,
                                               minimumDrop: settings.releaseSlopeDBPerSecond)
        let noteOffSeconds = released ? noteOff : Double(kept) / sampleRate

        // Pitch over the part before the release (plus 50 ms), where the level is within 30 dB of the peak.
        let frames = try settings.pitch.track(note, sampleRate: sampleRate)
        let loudEnough = peak * Double.exp10(-30.0 / 20)
        let analysed = frames.filter { frame in
            let level = noteLevels[Swift.min(noteLevels.count - 1, Swift.max(0, Int(frame.time * sampleRate) / hop))]
            return frame.time <= noteOffSeconds + 0.05 && level >= loudEnough
        }
        let voiced = analysed.filter { $0.aperiodicity < settings.voicingThreshold }.map { Double.log2($0.f0) }.sorted()
        let fraction = analysed.isEmpty ? 0 : Double(voiced.count) / Double(analysed.count)
        var f0: Double?, spread: Double?
        if voiced.count >= 3, fraction >= 1.0 / 3 {
            f0 = Double.exp2(quantile(voiced, 0.5))
            spread = 1200 * (quantile(voiced, 0.75) - quantile(voiced, 0.25))
        }
        return NoteAnalysis(sampleRate: sampleRate, onsetSample: onset, sampleCount: kept, soundingSeconds: sounding,
                            truncated: kept < soundingEnd - onset, noteOffSeconds: noteOffSeconds, released: released,
                            f0: f0, voicedFraction: fraction, pitchSpreadCents: spread, peakRMS: peak)
    }

    /// RMS of consecutive `hop`-sample frames (the last one partial).
    public static func frameLevels(_ x: [Float], hop: Int) -> [Double] {
        stride(from: 0, to: x.count, by: hop).map { start in
            let end = Swift.min(x.count, start + hop)
            var s = 0.0
            for i in start..<end { s += Double(x[i]) * Double(x[i]) }
            return (s / Double(end - start)).squareRoot()
        }
    }

    /// The knee of the final decline (seconds from the start of `levels`), or `(0, false)`.
    static func releaseStart(_ levels: [Double], frameSeconds: Double, peak: Double, minimumDrop: Double) -> (Double, Bool) {
        let db = levels.map { 20 * Double.log10(Swift.max($0, peak * 1e-6) / peak) }
        guard let top = db.indices.max(by: { db[$0] < db[$1] }),
              let last = db.lastIndex(where: { $0 >= -50 }), last - top >= 6 else { return (0, false) }
        // Prefix sums of t, y, t^2, t y, y^2 over frames top...last, for line fits in O(1).
        let m = last - top + 1
        var st = [0.0], sy = [0.0], stt = [0.0], sty = [0.0], syy = [0.0]
        for k in 0..<m {
            let t = Double(k) * frameSeconds, y = db[top + k]
            st.append(st[k] + t); sy.append(sy[k] + y); stt.append(stt[k] + t * t); sty.append(sty[k] + t * y); syy.append(syy[k] + y * y)
        }
        func fit(_ a: Int, _ b: Int) -> (slope: Double, error: Double) {   // frames a..<b
            let n = Double(b - a), t = st[b] - st[a], y = sy[b] - sy[a]
            let tt = stt[b] - stt[a], ty = sty[b] - sty[a], yy = syy[b] - syy[a]
            let vt = tt - t * t / n, cty = ty - t * y / n, vy = yy - y * y / n
            guard vt > 1e-12 else { return (0, Swift.max(0, vy)) }
            return (cty / vt, Swift.max(0, vy - cty * cty / vt))
        }
        var best: (error: Double, split: Int)?
        for split in 3...(m - 3) {
            let before = fit(0, split), after = fit(split, m)
            guard after.slope < before.slope - minimumDrop, after.slope < -minimumDrop else { continue }
            let error = before.error + after.error
            if best == nil || error < best!.error { best = (error, split) }
        }
        guard let best else { return (0, false) }
        return (Double(top + best.split) * frameSeconds, true)
    }

    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let x = q * Double(sorted.count - 1)
        let i = Int(x.rounded(.down)), j = Swift.min(i + 1, sorted.count - 1)
        return sorted[i] + (sorted[j] - sorted[i]) * (x - Double(i))
    }
}

/// MIDI note numbers and frequencies (A4 = note 69 = 440 Hz, equal temperament).
public enum MIDINote {
    public static func hz(_ note: Double) -> Double { 440 * Double.exp2((note - 69) / 12) }
    public static func number(ofHz f: Double) -> Double { 69 + 12 * Double.log2(f / 440) }
    /// The nearest note and the fine tune in cents that takes it to `f`.
    public static func nearest(toHz f: Double) -> (midi: Int, cents: Double) {
        let n = number(ofHz: f)
        let midi = Int(n.rounded())
        return (midi, 100 * (n - Double(midi)))
    }
    /// "A3", "C#4" (middle C = C4).
    public static func name(_ midi: Int) -> String {
        let names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
        return names[((midi % 12) + 12) % 12] + String(Int((Double(midi) / 12).rounded(.down)) - 1)
    }
}
