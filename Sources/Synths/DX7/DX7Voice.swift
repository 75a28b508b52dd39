import RealModule

/// A DX7 voice played as Dexed's engine plays it: envelopes updated every 64 samples in the
/// engine's integer units, the level ramped linearly *in the log domain* across each block (so a
/// gain changes exponentially within the block; measured against dexed-py), six sine operators
/// phase-modulating each other along the algorithm, feedback from the average of the last two
/// outputs, the LFO's vibrato and tremolo per block (`DX7LFO`). What is not modelled: the
/// engine's fixed-point sine and exp2 tables (we use exact ones), the output's 12-bit
/// quantisation unless asked for, and the phase of a free-running (unsynced) LFO;
/// `Experiments/dx7_agreement.py` measures what that leaves.
///
/// This is the reference forward pass of the integer patch (`synthmatch render --syx`); the
/// differentiable `dx7` module relaxes the same laws.
public struct DX7Voice: Sendable {
    public let patch: DX7Patch
    public let sampleRate: Double

    public init(_ patch: DX7Patch, sampleRate: Double) {
        precondition(sampleRate.isFinite && sampleRate >= 1000, "DX7 voice: sample rate must be >= 1000 Hz")
        self.patch = patch
        self.sampleRate = sampleRate
    }

    /// The note sounding after the patch's transpose (24 = none).
    public func soundingNote(_ note: Int) -> Int { max(0, min(127, note + patch.value("transpose") - 24)) }

    /// `duration` seconds of MIDI `note` at `velocity`, the key released after `noteOff` seconds.
    /// `quantised` rounds the output down to Dexed's 12-bit steps (2^-12 of full scale), as
    /// dexed-py delivers it; without it the output is the engine's before that last step.
    public func render(note: Int, velocity: Int = 100, noteOff: Double, duration: Double, quantised: Bool = false) -> [Float] {
        let n = max(0, Int((duration * sampleRate).rounded()))
        let key = soundingNote(note)
        let algorithm = DX7Algorithm.number(patch.algorithm)
        var envelopes: [DX7EnvelopeGenerator] = [], baseFrequency: [Int32] = [], fixed: [Bool] = [], ampSensitivity: [Int] = []
        for op in 1...6 {
            let v = { (name: String) in patch.value(name, operator: op) }
            let scaling = DX7Law.levelScaling(note: key, breakPoint: v("break_point"), leftDepth: v("left_depth"), rightDepth: v("right_depth"),
                                              leftCurve: v("left_curve"), rightCurve: v("right_curve"))
            let term = DX7Law.outputTerm(outputLevel: v("output_level"), levelScaling: scaling,
                                         velocityOffset: DX7Law.velocityOffset(velocity: velocity, sensitivity: v("velocity_sensitivity")))
            envelopes.append(DX7EnvelopeGenerator(rates: (1...4).map { v("rate\($0)") }, levels: (1...4).map { v("level\($0)") },
                                                  outputTerm: term, rateScaling: DX7Law.rateScaling(note: key, sensitivity: v("rate_scaling")),
                                                  sampleRate: sampleRate))
            fixed.append(v("fixed_frequency") == 1)
            baseFrequency.append(DX7Law.logFrequency(note: key, fixed: fixed[op - 1], coarse: v("coarse"), fine: v("fine"), detune: v("detune")))
            ampSensitivity.append(v("amp_mod_sensitivity"))
        }
        var pitch = DX7PitchEnvelope(rates: (1...4).map { patch.value("pitch_rate\($0)") }, levels: (1...4).map { patch.value("pitch_level\($0)") },
                                     sampleRate: sampleRate)
        var lfo = DX7LFO(patch, sampleRate: sampleRate)
        let pitchDepth = patch.value("lfo_pitch_depth"), pitchSensitivity = patch.value("pitch_mod_sensitivity")
        let ampDepth = patch.value("lfo_amp_depth")
        let feedbackScale = DX7Law.feedbackScale(patch.value("feedback"), algorithm: patch.algorithm)
        let (fbSource, fbDestination) = algorithm.feedback
        let carriers = Set(algorithm.carriers)
        let releaseBlock = Int((noteOff * sampleRate / Double(DX7Law.blockSize)).rounded(.up))

        var out = [Float](repeating: 0, count: n)
        // Operator levels (Q24 octaves) at the start and end of the current block.
        var level = [Double](repeating: 0, count: 7), nextLevel = [Double](repeating: 0, count: 7)
        var phase = [Double](repeating: 0, count: 7), step = [Double](repeating: 0, count: 7)
        var y = [Double](repeating: 0, count: 7)
        var feedback = (0.0, 0.0)          // the feedback source's last two outputs
        let octave = Double(1 << 24)
        let silent = 14 * octave + Double.log2(1120) * octave - 24 * octave   // gain 1120 / 2^24: the engine skips quieter operators
        var block = 0
        while block * DX7Law.blockSize < n {
            if block == releaseBlock {
                for k in 0..<6 { envelopes[k].release() }
                pitch.release()
            }
            let wave = lfo.next()
            let tremolo = DX7LFO.ampModulation(wave, depth: ampDepth)
            let pitchOffset = pitch.next() + DX7LFO.pitchModulation(wave, depth: pitchDepth, sensitivity: pitchSensitivity)
            for op in 1...6 {
                var current = envelopes[op - 1].next()
                // Tremolo lowers the level (log domain) of an operator with amplitude-modulation
                // sensitivity; the engine lowers it by 1.2 % even when no modulation reaches it.
                if ampSensitivity[op - 1] != 0 { current = DX7LFO.modulated(level: current, amount: tremolo, ams: ampSensitivity[op - 1]) }
                nextLevel[op] = Double(current)
                let logFrequency = Double(baseFrequency[op - 1]) + (fixed[op - 1] ? 0 : Double(pitchOffset))
                step[op] = Double.exp2(logFrequency / Double(1 << 24)) / sampleRate
            }
            let start = block * DX7Law.blockSize, end = min(n, start + DX7Law.blockSize)
            for i in start..<end {
                let ramp = Double(i - start + 1) / Double(DX7Law.blockSize)
                var sample = 0.0
                for op in stride(from: 6, through: 1, by: -1) {
                    let l1 = level[op], l2 = nextLevel[op]
                    if l1 < silent && l2 < silent {
                        y[op] = 0
                    } else {
                        var modulation = 0.0
                        for m in algorithm.modulators[op] { modulation += y[m] }
                        if op == fbDestination { modulation += (feedback.0 + feedback.1) * feedbackScale }
                        let gain = Double.exp2((l1 + (l2 - l1) * ramp) / octave - 14)
                        y[op] = gain * Double.sin(2 * Double.pi * (phase[op] + modulation))
                    }
                    if op == fbSource { feedback = (feedback.1, y[op]) }
                    if carriers.contains(op) { sample += y[op] / 2 }
                    phase[op] += step[op]
                    phase[op] -= phase[op].rounded(.down)
                }
                out[i] = Float(quantised ? (sample * 4096).rounded(.down) / 4096 : sample)
            }
            for op in 1...6 { level[op] = nextLevel[op] }
            block += 1
        }
        return out
    }
}

/// The stage machine both DX7 envelopes share: stages 1-3 run while the key is down, stage 4
/// (release) starts when it is released, from wherever the level is; each call to `next()` is
/// one 64-sample block. Conformers say how a level rises and how a stage is entered.
protocol DX7Stages {
    var level: Int64 { get set }
    var target: Int64 { get }
    var increment: Int64 { get }
    var rising: Bool { get }
    var stage: Int { get }
    var keyDown: Bool { get set }
    mutating func advance(to stage: Int)
    /// The level one block further up.
    func risen(_ level: Int64) -> Int64
}

extension DX7Stages {
    /// The level after one more block.
    mutating func next() -> Int64 {
        guard stage < 3 || (stage < 4 && !keyDown) else { return level }
        if rising {
            level = risen(level)
            if level >= target { level = target; advance(to: stage + 1) }
        } else {
            level -= increment
            if level <= target { level = target; advance(to: stage + 1) }
        }
        return level
    }

    mutating func release() {
        guard keyDown else { return }
        keyDown = false
        advance(to: 3)
    }
}

/// The engine's operator envelope: four rates and levels, a log-domain level in Q24 octaves
/// updated once per block; rising segments approach 17 octaves exponentially (jumping first to
/// 1716 steps), falling ones are linear; stage 3 holds while the key is down; release starts
/// from wherever the level is.
struct DX7EnvelopeGenerator: DX7Stages {
    let rates: [Int], levels: [Int], outputTerm: Int, rateScaling: Int, sampleRate: Double
    var level: Int64 = 0, target: Int64 = 0, increment: Int64 = 0
    var rising = false, stage = 0, keyDown = true

    init(rates: [Int], levels: [Int], outputTerm: Int, rateScaling: Int, sampleRate: Double) {
        self.rates = rates; self.levels = levels; self.outputTerm = outputTerm
        self.rateScaling = rateScaling; self.sampleRate = sampleRate
        advance(to: 0)
    }

    mutating func advance(to newStage: Int) {
        stage = newStage
        guard stage < 4 else { return }
        target = Int64(DX7Law.envelopeTarget(level: levels[stage], outputTerm: outputTerm)) << 16
        rising = target > level
        increment = DX7Law.increment(rateIndex: DX7Law.rateIndex(rate: rates[stage], rateScaling: rateScaling), sampleRate: sampleRate)
    }

    func risen(_ level: Int64) -> Int64 {
        let from = max(level, 1716 << 16)
        return from + (((17 << 24) - from) >> 24) * increment
    }
}

/// The pitch EG: linear ramps between levels (±4 octaves around level 50), in Q24 octaves.
struct DX7PitchEnvelope: DX7Stages {
    let rates: [Int], levels: [Int], unit: Int64
    var level: Int64, target: Int64 = 0, increment: Int64 = 0
    var rising = false, stage = 0, keyDown = true

    init(rates: [Int], levels: [Int], sampleRate: Double) {
        self.rates = rates; self.levels = levels
        unit = Int64(Double(DX7Law.blockSize) * Double(1 << 24) / (21.3 * sampleRate) + 0.5)
        level = Int64(DX7Law.pitchLevelTable[levels[3]]) << 19
        advance(to: 0)
    }

    mutating func advance(to newStage: Int) {
        stage = newStage
        guard stage < 4 else { return }
        target = Int64(DX7Law.pitchLevelTable[levels[stage]]) << 19
        rising = target > level
        increment = Int64(DX7Law.pitchRateTable[rates[stage]]) * unit
    }

    func risen(_ level: Int64) -> Int64 { level + increment }
}
