import RealModule

/// The DX7's integer laws as Dexed's engine (music-synthesizer-for-android's `msfa`) evaluates
/// them: levels, envelope rates, keyboard scaling, velocity and pitch. Written from the engine's
/// documented behaviour and constants (see `REFERENCES.md` section 10); no code is taken from it.
///
/// Units: envelope levels are in *steps* of 1/256 octave (0.0235 dB); an operator whose level is
/// `l` steps has gain 2^(l/256 - 14), in cycles of phase when it modulates and in half output
/// units when it is a carrier (level 3840 steps, the most a patch reaches, is full scale).
public enum DX7Law {
    /// The engine computes envelopes and gains once per block of 64 samples.
    public static let blockSize = 64
    /// Envelope rates are defined at 44.1 kHz; other sample rates scale the per-block increment.
    public static let referenceRate = 44100.0

    /// Output and EG levels 0...19 follow this table (the DX7 curve is steeper there); from 20 on
    /// the scaled level is 28 + L.
    static let lowLevelTable = [0, 5, 9, 13, 17, 20, 23, 25, 27, 29, 31, 33, 35, 37, 39, 41, 42, 43, 45, 46]

    /// The DX7's level scale (0...127) of a 0...99 level.
    public static func scaledLevel(_ level: Int) -> Int { level >= 20 ? 28 + level : lowLevelTable[max(0, level)] }

    /// The operator's output-level term of the envelope target (steps): output level through the
    /// level table, plus keyboard level scaling, capped at 127, plus the velocity offset.
    public static func outputTerm(outputLevel: Int, levelScaling: Int, velocityOffset: Int) -> Int {
        max(0, (min(127, scaledLevel(outputLevel) + levelScaling) << 5) + velocityOffset)
    }

    /// Envelope target (steps) of EG level `level` (0...99) for an operator with `outputTerm`.
    public static func envelopeTarget(level: Int, outputTerm: Int) -> Int {
        max(16, ((scaledLevel(level) >> 1) << 6) + outputTerm - 4256)
    }

    /// The engine's rate index 0...63 of EG rate 0...99 with keyboard rate scaling added.
    public static func rateIndex(rate: Int, rateScaling: Int) -> Int { min(63, (rate * 41) >> 6 + rateScaling) }

    /// Envelope increment per 64-sample block at 44.1 kHz, in 2^-16 steps (the engine's Q24
    /// level units): 4...7 times a power of two, doubling every 4 rate indices.
    public static func increment(rateIndex q: Int) -> Int64 { Int64(4 + (q & 3)) << (2 + 6 + (q >> 2)) }

    /// The increment at `sampleRate`, truncated as the engine does (its Q24 rate multiplier).
    public static func increment(rateIndex q: Int, sampleRate: Double) -> Int64 {
        let multiplier = Int64(UInt32(referenceRate / sampleRate * Double(1 << 24)))
        return (increment(rateIndex: q) * multiplier) >> 24
    }

    /// Keyboard rate scaling: rate-index offset for `note` with sensitivity 0...7.
    public static func rateScaling(note: Int, sensitivity: Int) -> Int {
        (sensitivity * min(31, max(0, note / 3 - 7))) >> 3
    }

    /// Exponential keyboard-scaling curve, by group of 3 notes from the break point.
    static let exponentialScale = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 14, 16, 19, 23, 27, 33, 39, 47, 56, 66,
                                   80, 94, 110, 126, 142, 158, 174, 190, 206, 222, 238, 250]

    /// Keyboard level scaling (scaled-level units) of `note` for break point 0...99 (0 = A-1),
    /// depths 0...99 and curves 0...3 (-LIN, -EXP, +EXP, +LIN).
    public static func levelScaling(note: Int, breakPoint: Int, leftDepth: Int, rightDepth: Int, leftCurve: Int, rightCurve: Int) -> Int {
        let offset = note - breakPoint - 17
        func curve(_ group: Int, _ depth: Int, _ kind: Int) -> Int {
            let amount = kind == 0 || kind == 3 ? (group * depth * 329) >> 12 : (exponentialScale[min(group, 32)] * depth * 329) >> 15
            return kind < 2 ? -amount : amount
        }
        return offset >= 0 ? curve((offset + 1) / 3, rightDepth, rightCurve) : curve((1 - offset) / 3, leftDepth, leftCurve)
    }

    /// Velocity response, indexed by velocity / 2.
    static let velocityTable = [0, 70, 86, 97, 106, 114, 121, 126, 132, 138, 142, 148, 152, 156, 160, 163,
                                166, 170, 173, 174, 178, 181, 184, 186, 189, 190, 194, 196, 198, 200, 202,
                                205, 206, 209, 211, 214, 216, 218, 220, 222, 224, 225, 227, 229, 230, 232,
                                233, 235, 237, 238, 240, 241, 242, 243, 244, 246, 246, 248, 249, 250, 251,
                                252, 253, 254]

    /// The level offset (steps) of MIDI `velocity` for key-velocity sensitivity 0...7 (0 at
    /// velocity ~100 and for sensitivity 0).
    public static func velocityOffset(velocity: Int, sensitivity: Int) -> Int {
        let v = velocityTable[max(0, min(127, velocity)) >> 1] - 239
        return ((sensitivity * v + 7) >> 3) << 4
    }

    /// Log2 of the operator's frequency in Hz, in Q24 (the engine's `logfreq`), for ratio mode
    /// (MIDI note, coarse 0...31 with 0 meaning 0.5, fine 0...99 as +1 % steps of the coarse
    /// ratio, detune 0...14 around 7 scaled by the note's pitch) or fixed mode (10^(coarse mod 4 +
    /// fine/100) Hz; detune above 7 raises it slightly).
    public static func logFrequency(note: Int, fixed: Bool, coarse: Int, fine: Int, detune: Int) -> Int32 {
        if fixed {
            var logFrequency = (4458616 * Int64((coarse & 3) * 100 + fine)) >> 3
            if detune > 7 { logFrequency += 13457 * Int64(detune - 7) }
            return Int32(logFrequency)
        }
        var logFrequency = Int32(50857777 + 1398101 * note)          // MIDI note 0 = 8.1758 Hz
        let detuneRatio = 0.0209 * Double.exp(-0.396 * Double(logFrequency) / Double(1 << 24)) / 7
        logFrequency = Int32((Double(logFrequency) + detuneRatio * Double(logFrequency) * Double(detune - 7)).rounded(.down))
        // log2(coarse) and log2(1 + fine/100) in Q24, rounded.
        logFrequency += coarse == 0 ? -(1 << 24) : Int32((Double.log2(Double(coarse)) * Double(1 << 24)).rounded())
        if fine > 0 { logFrequency += Int32((Double(1 << 24) / Double.log(2) * Double.log(1 + 0.01 * Double(fine)) + 0.5).rounded(.down)) }
        return logFrequency
    }

    /// The frequency ratio of coarse and fine settings (ratio mode): coarse x (1 + fine/100),
    /// coarse 0 meaning 0.5.
    public static func ratio(coarse: Int, fine: Int) -> Double {
        (coarse == 0 ? 0.5 : Double(coarse)) * (1 + Double(fine) / 100)
    }

    /// Feedback 0...7 as the phase scale of the sum of the feedback source's last two outputs
    /// (0 = off): 2^(feedback - 9). Dexed plays algorithms 4, 6 and 32 two steps weaker (its
    /// default; measured with dexed-py, whose `normalize_feedback` option removes the difference).
    public static func feedbackScale(_ feedback: Int, algorithm: Int) -> Double {
        guard feedback > 0 else { return 0 }
        return Double.exp2(Double(feedback - 9 - ([4, 6, 32].contains(algorithm) ? 2 : 0)))
    }

    /// Pitch EG: level 0...99 to octaves / 32 (50 = no change, 0 and 99 = -4 and +4 octaves).
    static let pitchLevelTable = [-128, -116, -104, -95, -85, -76, -68, -61, -56, -52, -49, -46, -43,
                                  -41, -39, -37, -35, -33, -32, -31, -30, -29, -28, -27, -26, -25, -24,
                                  -23, -22, -21, -20, -19, -18, -17, -16, -15, -14, -13, -12, -11, -10,
                                  -9, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                  11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
                                  28, 29, 30, 31, 32, 33, 34, 35, 38, 40, 43, 46, 49, 53, 58, 65, 73,
                                  82, 92, 103, 115, 127]
    /// Pitch EG rate 0...99 to an increment multiplier.
    static let pitchRateTable = [1, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12,
                                 12, 13, 13, 14, 14, 15, 16, 16, 17, 18, 18, 19, 20, 21, 22, 23, 24,
                                 25, 26, 27, 28, 30, 31, 33, 34, 36, 37, 38, 39, 41, 42, 44, 46, 47,
                                 49, 51, 53, 54, 56, 58, 60, 62, 64, 66, 68, 70, 72, 74, 76, 79, 82,
                                 85, 88, 91, 94, 98, 102, 106, 110, 115, 120, 125, 130, 135, 141, 147,
                                 153, 159, 165, 171, 178, 185, 193, 202, 211, 232, 243, 254, 255]
}
