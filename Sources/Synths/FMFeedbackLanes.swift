import DSP

extension FMSynth {
    /// Notes whose feedback loops run side by side: one per lane of an AVX register of floats.
    static let laneCount = 8

    /// The feedback loops of a group of up to `laneCount` notes, run together.
    ///
    /// A feedback loop is a recursion in time (each sample's phase needs the previous sample's
    /// output), so within one note it runs sample by sample, bound by the latency of one sine
    /// after another. Notes are independent, though: with eight of them in the eight lanes of
    /// a vector, one pass of the recursion does eight notes' work in about the time of one.
    /// Blocks of `blockLength` samples are copied into lane-interleaved buffers (sample-major,
    /// then lane), run, and copied back. Every lane does exactly the arithmetic the one-note
    /// loop did, in the same order, so results are bit-identical whatever the grouping (and a
    /// group of one is the plain loop); unused lanes hold zeros.
    struct FeedbackLanes<T: SynthScalar> {
        let voices: [Voice<T>]
        let states: [State<T>]
        static var blockLength: Int { 256 }

        /// Runs the loop operators of every note forwards, writing their phase arguments
        /// (modulation added) and outputs into the notes' states.
        func forward() {
            typealias Lanes = SIMD8<T>
            let w = FMSynth.laneCount, block = Self.blockLength
            let alg = voices[0].synth.algorithm, loop = alg.loop, n = voices[0].n
            // Per loop operator (j = 0 is the feedback destination, the last is the source):
            // phases, levels and outputs, [block][lane].
            let rows = block * w
            let theta = UnsafeMutablePointer<T>.allocate(capacity: loop.count * rows)
            let level = UnsafeMutablePointer<T>.allocate(capacity: loop.count * rows)
            let out = UnsafeMutablePointer<T>.allocate(capacity: loop.count * rows)
            defer { theta.deallocate(); level.deallocate(); out.deallocate() }
            theta.initialize(repeating: 0, count: loop.count * rows)
            level.initialize(repeating: 0, count: loop.count * rows)
            out.initialize(repeating: 0, count: loop.count * rows)
            var gain = Lanes(repeating: 0)
            for (k, voice) in voices.enumerated() { gain[k] = voice.feedbackGain }
            var previous = Lanes(repeating: 0)   // the source's output one sample earlier
            for start in stride(from: 0, to: n, by: block) {
                let length = min(block, n - start)
                for (j, op) in loop.enumerated() {
                    for (k, s) in states.enumerated() {
                        interleave(s.row(s.theta, op) + start, into: theta + j * rows + k, length)
                        interleave(s.row(s.level, op) + start, into: level + j * rows + k, length)
                    }
                }
                for i in 0..<length {
                    var above = previous
                    for j in 0..<loop.count {
                        // The destination's phase takes the source's previous output; down the
                        // chain, each operator is modulated by the one above it.
                        let at = j * rows + i * w
                        let x = Self.load(theta + at) + (j == 0 ? gain * above : above)
                        Self.store(x, theta + at)
                        above = Self.load(level + at) * sinTwoPi(x)
                        Self.store(above, out + at)
                    }
                    previous = above
                }
                for (j, op) in loop.enumerated() {
                    for (k, s) in states.enumerated() {
                        deinterleave(theta + j * rows + k, into: s.row(s.theta, op) + start, length)
                        deinterleave(out + j * rows + k, into: s.row(s.out, op) + start, length)
                    }
                }
            }
        }

        /// Runs the loop operators of every note backwards in time, from the notes' adjoints
        /// (dL/d(output) of the loop operators complete from below); writes their phase
        /// gradients and returns each note's dL/d(feedback gain).
        func backward(_ adjoints: [Voice<T>.Adjoint]) -> [T] {
            typealias Lanes = SIMD8<T>
            let w = FMSynth.laneCount, block = Self.blockLength
            let alg = voices[0].synth.algorithm, n = voices[0].n
            // The chain, source (lowest operator) first: each phase gradient feeds the one above.
            let chain = Array(alg.loop.reversed()), src = alg.feedback.source
            let rows = block * w, twoPi = T(2 * Double.pi)
            // Per chain operator, [block][lane]: dOut (in and out), dTheta (out), level, theta;
            // and the source's forward output one sample earlier.
            let dOut = UnsafeMutablePointer<T>.allocate(capacity: chain.count * rows)
            let dTheta = UnsafeMutablePointer<T>.allocate(capacity: chain.count * rows)
            let level = UnsafeMutablePointer<T>.allocate(capacity: chain.count * rows)
            let theta = UnsafeMutablePointer<T>.allocate(capacity: chain.count * rows)
            let earlier = UnsafeMutablePointer<T>.allocate(capacity: rows)
            defer { dOut.deallocate(); dTheta.deallocate(); level.deallocate(); theta.deallocate(); earlier.deallocate() }
            for p in [dOut, dTheta, level, theta] { p.initialize(repeating: 0, count: chain.count * rows) }
            earlier.initialize(repeating: 0, count: rows)
            var gain = Lanes(repeating: 0)
            for (k, voice) in voices.enumerated() { gain[k] = voice.feedbackGain }
            var dGain = Lanes(repeating: 0)
            var later = Lanes(repeating: 0)   // the destination's phase gradient one sample later
            var end = n
            while end > 0 {
                let start = max(0, end - block), length = end - start
                for (j, op) in chain.enumerated() {
                    for (k, s) in states.enumerated() {
                        interleave(adjoints[k].dOut + op * n + start, into: dOut + j * rows + k, length)
                        interleave(s.row(s.level, op) + start, into: level + j * rows + k, length)
                        interleave(s.row(s.theta, op) + start, into: theta + j * rows + k, length)
                    }
                }
                // Row i of `earlier` holds the source's output at start + i - 1 (none before 0).
                let first = start == 0 ? 1 : 0
                for (k, s) in states.enumerated() {
                    interleave(s.row(s.out, src) + start + first - 1, into: earlier + first * w + k, length - first)
                }
                for i in stride(from: length - 1, through: 0, by: -1) {
                    var below = Lanes(repeating: 0)
                    for j in 0..<chain.count {
                        let at = j * rows + i * w
                        var d = Self.load(dOut + at)
                        if j == 0 {
                            if start + i + 1 < n { d += gain * later }   // the source feeds the destination a sample later
                            d = d + 0   // (as the one-note loop: turns -0 into +0)
                        } else {
                            d = d + below
                        }
                        Self.store(d, dOut + at)
                        below = d * Self.load(level + at) * twoPi * cosTwoPi(Self.load(theta + at))
                        Self.store(below, dTheta + at)
                    }
                    later = below   // the chain's last operator is the destination
                    if start + i > 0 { dGain += below * Self.load(earlier + i * w) }
                }
                for (j, op) in chain.enumerated() {
                    for k in voices.indices {
                        deinterleave(dOut + j * rows + k, into: adjoints[k].dOut + op * n + start, length)
                        deinterleave(dTheta + j * rows + k, into: adjoints[k].dTheta + op * n + start, length)
                    }
                }
                end = start
            }
            return voices.indices.map { dGain[$0] }
        }

        @inline(__always)
        private static func load(_ p: UnsafeMutablePointer<T>) -> SIMD8<T> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<T>.self) }

        @inline(__always)
        private static func store(_ v: SIMD8<T>, _ p: UnsafeMutablePointer<T>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<T>.self) }

        /// Copies `count` samples of a note's row into every `laneCount`-th slot of `lanes`.
        @inline(__always)
        private func interleave(_ row: UnsafeMutablePointer<T>, into lanes: UnsafeMutablePointer<T>, _ count: Int) {
            for i in 0..<count { lanes[i * FMSynth.laneCount] = row[i] }
        }

        @inline(__always)
        private func deinterleave(_ lanes: UnsafeMutablePointer<T>, into row: UnsafeMutablePointer<T>, _ count: Int) {
            for i in 0..<count { row[i] = lanes[i * FMSynth.laneCount] }
        }
    }
}
