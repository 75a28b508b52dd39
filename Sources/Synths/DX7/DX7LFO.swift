import RealModule

/// The DX7's LFO as Dexed's engine runs it: one value and one delay ramp per 64-sample block, in
/// the engine's fixed point (phase Q32, outputs Q24 in 0...1), read by the voice for vibrato
/// (pitch depth x pitch-modulation sensitivity) and tremolo (amplitude depth x each operator's
/// amplitude-modulation sensitivity).
///
/// Speeds follow the engine's table of LFO frequencies per setting (0.06-49 Hz, scaled by its
/// 4437500000 / 2^32 phase constant); the delay is a two-slope ramp (silent for the first half,
/// then fading in); waveforms: triangle, saw down, saw up, square, sine, sample-and-hold (the
/// engine's 8-bit congruential generator). With LFO key sync on, every note starts the wave at
/// the same point; with it off the engine continues from wherever its free-running LFO was, which
/// a single render cannot know: here it starts at phase 0.
struct DX7LFO {
    /// LFO frequency (Hz, before the engine's phase constant) of speed settings 0...99.
    static let speedHz: [Double] = [
        0.062541, 0.125031, 0.312393, 0.437120, 0.624610, 0.750694, 0.936330, 1.125302, 1.249609, 1.436782,
        1.560915, 1.752081, 1.875117, 2.062494, 2.247191, 2.374451, 2.560492, 2.686728, 2.873976, 2.998950,
        3.188013, 3.369840, 3.500175, 3.682224, 3.812065, 4.000800, 4.186202, 4.310716, 4.501260, 4.623209,
        4.814636, 4.930480, 5.121901, 5.315191, 5.434783, 5.617346, 5.750431, 5.946717, 6.062811, 6.248438,
        6.431695, 6.564264, 6.749460, 6.868132, 7.052186, 7.250580, 7.375719, 7.556294, 7.687577, 7.877738,
        7.993605, 8.181967, 8.372405, 8.504848, 8.685079, 8.810573, 8.986341, 9.122423, 9.300595, 9.500285,
        9.607994, 9.798158, 9.950249, 10.117361, 11.251125, 11.384335, 12.562814, 13.676149, 13.904338, 15.092062,
        16.366612, 16.638935, 17.869907, 19.193858, 19.425019, 20.833333, 21.034918, 22.502250, 24.003841, 24.260068,
        25.746653, 27.173913, 27.578599, 29.052876, 30.693677, 31.191516, 32.658393, 34.317090, 34.674064, 36.416606,
        38.197097, 38.550501, 40.387722, 40.749796, 42.625746, 44.326241, 44.883303, 46.772685, 48.590865, 49.261084,
    ]
    /// Pitch-modulation sensitivity 0...7 as a factor (of 255).
    static let pitchSensitivity: [Int64] = [0, 10, 20, 33, 55, 92, 153, 255]
    /// Amplitude-modulation sensitivity 0...3 as a Q24 factor.
    static let ampSensitivity: [UInt64] = [0, 4_342_338, 7_171_437, 16_777_216]

    let delta: UInt32, delayIncrement: UInt32, delayIncrementLate: UInt32, waveform: Int
    var phase: UInt32 = 0, delayState: UInt32 = 0, random: UInt8 = 0

    /// The LFO of `patch` at `sampleRate`, keyed down (a note starts).
    init(_ patch: DX7Patch, sampleRate: Double) {
        // The engine stores these in 32 bits; at the lowest rates the product would not fit.
        let ratio = UInt32(min(4_437_500_000.0 * Double(DX7Law.blockSize) / sampleRate, Double(UInt32.max)))
        delta = UInt32(min(Self.speedHz[patch.value("lfo_speed")] * Double(ratio), Double(UInt32.max)))
        let unit = UInt32(Int32(Double(DX7Law.blockSize * 25_190_424) / sampleRate + 0.5))
        var a = 99 - patch.value("lfo_delay")
        if a == 99 {
            delayIncrement = .max; delayIncrementLate = .max
        } else {
            a = (16 + (a & 15)) << (1 + (a >> 4))
            delayIncrement = unit &* UInt32(a)
            delayIncrementLate = unit &* UInt32(max(0x80, a & 0xff80))
        }
        waveform = patch.value("lfo_wave")
        if patch.value("lfo_sync") != 0 { phase = (1 << 31) - 1 }
    }

    /// The next block's (wave value, delay ramp), both Q24 in 0...1.
    mutating func next() -> (value: Int64, delay: Int64) {
        phase &+= delta
        let value: Int64
        switch waveform {
        case 0:   // triangle
            var x = Int32(bitPattern: phase >> 7)
            x ^= -Int32(bitPattern: phase >> 31)
            value = Int64(x & ((1 << 24) - 1))
        case 1: value = Int64((~phase ^ (1 << 31)) >> 8)   // saw down
        case 2: value = Int64((phase ^ (1 << 31)) >> 8)    // saw up
        case 3: value = Int64(((~phase) >> 7) & (1 << 24))  // square
        case 4:   // sine
            value = (1 << 23) + (Int64((Double.sin(2 * Double.pi * Double(phase >> 8) / Double(1 << 24)) * Double(1 << 24)).rounded()) >> 1)
        default:  // sample and hold
            if phase < delta { random = UInt8(truncatingIfNeeded: Int(random) &* 179 &+ 17) }
            value = Int64((Int(random) ^ 0x80) + 1) << 16
        }
        let step = delayState < (1 << 31) ? delayIncrement : delayIncrementLate
        let d = UInt64(delayState) + UInt64(step)
        guard d <= UInt64(UInt32.max) else { return (value, 1 << 24) }
        delayState = UInt32(d)
        return (value, d < (1 << 31) ? 0 : Int64((d >> 7) & ((1 << 24) - 1)))
    }

    /// Vibrato in Q24 octaves for the patch's pitch depth and sensitivity.
    static func pitchModulation(_ lfo: (value: Int64, delay: Int64), depth: Int, sensitivity: Int) -> Int64 {
        let pmd = Int64((depth * 165) >> 6) * lfo.delay
        let sens = Int64(Int32(truncatingIfNeeded: pitchSensitivity[sensitivity] * (lfo.value - (1 << 23))))
        let amount = abs((pmd * sens) >> 39)
        return sens < 0 ? -amount : amount
    }

    /// The tremolo's modulation amount (Q24), before each operator's sensitivity.
    static func ampModulation(_ lfo: (value: Int64, delay: Int64), depth: Int) -> UInt64 {
        let amd = UInt64(((Int64((depth * 165) >> 6) * lfo.delay) >> 8))
        return (amd * UInt64((1 << 24) - lfo.value)) >> 24
    }

    /// An operator's level (Q24 octaves) lowered for modulation `amount` and sensitivity `ams`
    /// (1...3); at amount 0 the engine still lowers it by 1.2 %.
    static func modulated(level: Int64, amount: UInt64, ams: Int) -> Int64 {
        let sensed = (amount * ampSensitivity[ams]) >> 24
        let pt = UInt64(Double.exp(Double(Float(sensed) / 262_144) * 0.07 + 12.2))
        return level - Int64((UInt64(max(level, 0)) * (pt << 4)) >> 28)
    }
}
