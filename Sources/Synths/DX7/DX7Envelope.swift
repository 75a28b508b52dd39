/// The DX7 operator envelope in continuous time, with derivatives: the engine's law (rising
/// segments jump to 1716 steps and then climb at 16 - k times the rate in octave k, falling
/// ones descend linearly, stage 3 holds until the key is released, release starts from
/// wherever the level is), but a stage that ends inside a block hands the rest of that block
/// to the next stage instead of wasting it, so levels are continuous in every setting. This
/// differs from the engine (`DX7EnvelopeGenerator`) by at most one 64-sample block per stage
/// (over 200 random envelopes: median per-block difference 0.04 dB, 90th percentile 0.52 dB;
/// starting each next stage half a block late, the engine's mean delay, gave 0.04 and 0.44 dB
/// but a worse whole-voice match, so it was left out).
///
/// Levels are in steps (1/256 octave); derivatives are carried forward (`Dual`) with respect to
/// the inputs' own tangents.
struct DX7ContinuousEnvelope {
    /// Targets of stages 1...4 (steps) and their speeds (steps per second).
    let targets: [Dual], speeds: [Dual]
    /// Key release time (seconds).
    let noteOff: Dual

    /// Levels at times `blockSeconds x k` for k = 1...count (the engine's block ends).
    func levels(blockSeconds: Double, count: Int) -> [Dual] {
        var out: [Dual] = []
        out.reserveCapacity(count)
        var k = 1
        /// Emits the levels of blocks that fall in [start, end) along `level + slope (t - start)`.
        func emit(from start: Dual, level: Dual, slope: Dual, until end: Double) {
            while k <= count, Double(k) * blockSeconds < end {
                let dt = Double(k) * blockSeconds - start.v
                out.append(Dual(level.v + slope.v * dt, level.d + slope.d * dt - start.d * slope.v))
                k += 1
            }
        }
        var t = Dual(0), level = Dual(0)
        var stage = 0, keyDown = true
        while k <= count {
            if stage == 3 && keyDown {
                // Holding at the sustain level until the key is released.
                emit(from: t, level: level, slope: Dual(0), until: noteOff.v)
                if noteOff.v > t.v { t = noteOff }
                keyDown = false
                continue
            }
            if stage >= 4 {
                emit(from: t, level: level, slope: Dual(0), until: .infinity)
                break
            }
            let target = targets[stage], speed = speeds[stage]
            var end: Dual, slope: Dual, reachesTarget = true
            if target.v > level.v {
                if level.v < 1716 {
                    level = Dual(1716)
                    if level.v >= target.v {      // the jump overshoots: the engine clamps to the target at once
                        level = target
                        stage = stage == 3 ? 4 : stage + 1
                        continue
                    }
                }
                let octave = (level.v / 256).rounded(.down)
                slope = (16 - octave) * speed
                let boundary = 256 * (octave + 1)
                if target.v > boundary { end = Dual(boundary); reachesTarget = false } else { end = target }
            } else {
                slope = Dual(0) - speed
                end = target
            }
            let finish = t + (end - level) / slope
            if keyDown && stage < 3 && noteOff.v < finish.v {
                // Released mid-stage: the release starts from the level reached.
                emit(from: t, level: level, slope: slope, until: noteOff.v)
                level = level + slope * (noteOff - t)
                t = noteOff
                keyDown = false
                stage = 3
                continue
            }
            emit(from: t, level: level, slope: slope, until: finish.v)
            t = finish
            level = end
            if reachesTarget { stage = stage == 3 ? 4 : stage + 1 }
        }
        return out
    }
}
