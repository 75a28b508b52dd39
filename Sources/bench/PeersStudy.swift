import ArgumentParser
import Datasets
import DSP
import Foundation
import Matching
import Synths

/// SynthMatch against the Python libraries on the same workloads, in one run (issue 17):
/// `Experiments/peers/run` times the peers (`Experiments/peers/time_peers.py`) and then this
/// command, which times SynthMatch on each workload at 1 and 2 threads and writes
/// `peers.csv`: workload, peer, peer x real time, ours, ours x real time, ratio, threads.
///
/// Workloads (batch 16, forward + backward to every control, as the peers):
/// - `harmonic`: the harmonic bank, 64 harmonics, 250 frames, 4 s at 16 kHz;
/// - `mrstft`: auraloss's `MultiResolutionSTFTLoss()` preset (3 resolutions), 1 s at 16 kHz;
/// - `fm_alg1`: six operators on DX7 algorithm 1, 4 s at 16 kHz, without feedback (the
///   peer's setting) and with it (the DX7's, which the peer leaves out);
/// - `biquad`: a fixed low-pass biquad over 4 s at 16 kHz, gradients to signal and
///   coefficients (torchaudio's `lfilter`);
/// - `torchsynth_voice`: torchsynth's default `Voice` against `TorchsynthVoice` (the same
///   signal flow, checked against torchsynth's renders), forward only, 4 s at 44.1 kHz;
/// - `match_step`: one refinement step of `match` (render + loss + pullback + Adam) on the
///   README example's setting; its peer is SynthMatch before issue 17 (`Experiments/peers/baseline`).
struct PeersStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract: "SynthMatch on the peers' workloads; merges the peers' timings into peers.csv.")

    @OptionGroup var options: StudyOptions
    @Option(parsing: .upToNextOption,
            help: "The peers' timings: CSVs from Experiments/peers/time_peers.py, or from `--record` of another build.")
    var peers: [String] = []
    @Option(help: "Also write our timings in the peers' format to this CSV (to time this build as another's peer).")
    var record: String?
    @Option(help: "The name our rows carry in --record's CSV.") var label = "SynthMatch"
    @Option(help: "Timed repetitions (median reported).") var repeats: Int = 5
    @Option(parsing: .upToNextOption, help: "Only these workloads (default: every workload the peers' CSV names).")
    var workloads: [String] = []

    static let batch = 16, sampleRate = 16000.0
    static let workloadNames = ["harmonic", "mrstft", "fm_alg1", "biquad", "torchsynth_voice", "match_step"]

    struct Ours { let workload: String; let name: String; let audioSeconds: Double; let step: () -> Void }

    func validate() throws {
        guard (1...1000).contains(repeats) else { throw ValidationError("--repeats must be within 1...1000") }
        guard !peers.isEmpty || record != nil else { throw ValidationError("give --peers (to compare) or --record (to be compared)") }
        for w in workloads where !Self.workloadNames.contains(w) {
            throw ValidationError("unknown workload '\(w)' (known: \(Self.workloadNames.joined(separator: ", ")))")
        }
    }

    func run() throws {
        let out = options.out ?? "results/bench"
        let peerRows = try peers.flatMap { try Self.readPeers($0) }
        // A partial run does not replace the full table.
        let name = workloads.isEmpty ? "peers.csv" : "peers-\(workloads.joined(separator: "-")).csv"
        var csv = CSVWriter(path: "\(out)/\(name)", header: [
            "workload", "peer", "peer_x_real_time", "ours", "ours_x_real_time", "ratio", "threads"])
        var recorded = record.map { CSVWriter(path: $0, header: ["workload", "peer", "threads", "seconds_per_call", "x_real_time"]) }
        for threads in [1, 2] {
            Parallelism.threadCount = threads
            for ours in ourWorkloads(Set(workloads.isEmpty ? Self.workloadNames : workloads)) {
                let t = medianSeconds(repeats: repeats, ours.step)
                let x = ours.audioSeconds / t
                recorded?.row([ours.workload, "\(label) \(ours.name)", threads, t, x])
                print(String(format: "%-10@ %d thread(s): %@ %.1fx real time (%.2f ms per call)", ours.workload, threads, ours.name, x, t * 1000))
                for peer in peerRows where peer.workload == ours.workload && peer.threads == threads {
                    csv.row([ours.workload, peer.peer, peer.xRealTime, ours.name, x, x / peer.xRealTime, threads])
                    print(String(format: "%-10@ %d thread(s): %@ %.1fx real time: ratio %.2f", ours.workload, threads, peer.peer, peer.xRealTime, x / peer.xRealTime))
                }
            }
        }
        if let record { try recorded!.finish(); print("wrote \(record)") }
        if !peerRows.isEmpty { try csv.finish(); print("wrote \(out)/\(name)") }
    }

    static func readPeers(_ path: String) throws -> [(workload: String, peer: String, threads: Int, xRealTime: Double)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read the peers' timings at \(path) (run Experiments/peers/time_peers.py)")
        }
        var rows: [(String, String, Int, Double)] = []
        for line in text.split(whereSeparator: \.isNewline).dropFirst() {
            // workload,peer,threads,seconds_per_call,x_real_time; the peer's name may hold commas in quotes.
            let fields = CSVWriter.fields(line)
            guard fields.count == 5, let threads = Int(fields[2]), let x = Double(fields[4]), x > 0 else {
                throw ValidationError("\(path): malformed row '\(line)'")
            }
            rows.append((fields[0], fields[1], threads, x))
        }
        return rows
    }

    /// The chosen workloads, set up (inputs made) before any timing.
    func ourWorkloads(_ chosen: Set<String>) -> [Ours] {
        let b = Self.batch, sr = Self.sampleRate
        var list: [Ours] = []
        // Harmonic bank: 64 harmonics, 250 frames over 4 s.
        if chosen.contains("harmonic") {
            let n = Int(4 * sr)
            let bank = HarmonicOscillatorBank(sampleRate: sr, harmonicCount: 64)
            var controls = GradientCheck.randomControls(layout: bank.layout(frameCount: 250), batchSize: b, seed: 1).converted(to: Float.self)
            for i in 0..<b { controls.set(item: i, parameter: bank.f0Index, to: Float(bank.parameters[bank.f0Index].normalised(100 + 300 * Double(i) / Double(b)))) }
            let weights = Self.weights(b, n, seed: 1)
            let request = RenderRequest(sampleCount: n)
            list.append(Ours(workload: "harmonic", name: "harmonic bank (64)", audioSeconds: Double(b) * 4) {
                let (_, pullback) = bank.valueWithPullback(controls, request)
                _ = pullback(weights)
            })
        }
        // auraloss's MRSTFT preset.
        if chosen.contains("mrstft") {
            let n = Int(sr)
            let loss = MultiScaleSpectralLoss.auraloss()
            let prediction = Self.weights(b, n, seed: 2), target = Self.weights(b, n, seed: 3)
            list.append(Ours(workload: "mrstft", name: "MultiScaleSpectralLoss.auraloss()", audioSeconds: Double(b)) {
                _ = loss.valuesWithGradient(prediction, target)
            })
        }
        // Six operators on algorithm 1, without and with feedback.
        for feedback in [0.0, 0.5] where chosen.contains("fm_alg1") {
            let n = Int(4 * sr)
            let fm = FMSynth(sampleRate: sr, algorithm: 1)
            let layout = fm.layout(frameCount: 1)
            var controls = Controls<Float>(defaultsFor: layout, batchSize: b)
            let fb = layout.index(of: "feedback")!, f0 = layout.index(of: "f0")!
            for i in 0..<b {
                controls.set(item: i, parameter: fb, to: Float(fm.parameters[fb].normalised(feedback)))
                controls.set(item: i, parameter: f0, to: Float(fm.parameters[f0].normalised(110 + 330 * Double(i) / Double(b))))
            }
            let weights = Self.weights(b, n, seed: 4)
            let request = RenderRequest(sampleCount: n)
            list.append(Ours(workload: "fm_alg1", name: feedback == 0 ? "fm-alg1, no feedback" : "fm-alg1, feedback 0.5", audioSeconds: Double(b) * 4) {
                let (_, pullback) = fm.valueWithPullback(controls, request)
                _ = pullback(weights)
            })
        }
        // (Experiments/peers/baseline drops the lines between these markers: APIs an earlier
        // commit lacks.) baseline-skip-begin
        // A fixed RBJ low-pass (1 kHz, Q 0.707) through the time-domain biquad and its adjoint,
        // gradients to the signal and the coefficients, 4 s at 16 kHz.
        if chosen.contains("biquad") {
            let n = Int(4 * sr)
            let filter = BiquadLowpass(cutoff: 1000, q: 0.7071, sampleRate: sr)
            let x = Self.weights(b, n, seed: 6), weights = Self.weights(b, n, seed: 7)
            list.append(Ours(workload: "biquad", name: "BiquadLowpass (time-domain biquad + adjoint)", audioSeconds: Double(b) * 4) {
                let (_, pullback) = filter.valueWithPullback(x)
                _ = pullback(weights)
            })
        }
        // torchsynth's Voice: 16 random patches (ranges as torchsynth's), 4 s at 44.1 kHz, forward.
        if chosen.contains("torchsynth_voice") {
            let voice = TorchsynthVoice(seconds: 4)
            let patches = (0..<b).map { Self.randomTorchsynthPatch(seed: UInt64($0)) }
            let noise = voice.noise(batchSize: b)
            list.append(Ours(workload: "torchsynth_voice", name: "TorchsynthVoice, forward", audioSeconds: Double(b) * 4) {
                _ = voice.render(patches, noise: noise)
            })
        }
        // baseline-skip-end
        // One refinement step of `match` as the README's example runs it: the subtractive
        // synth, 4 restarts on a 1.5 s note at 16 kHz, DDSP's loss plus the envelope term.
        // The target is a rendered random preset; `fit.step()` is render + loss + pullback + Adam.
        if chosen.contains("match_step") {
            let n = Int(1.5 * sr), restarts = 4
            let synth = try! SynthRegistry.make("subtractive", sampleRate: sr)
            let layout = ControlLayout(parameters: synth.parameters, frameCount: 1)
            let p = synth.parameters.count
            var rng = CounterRandom(seed: 5, index: 0, stream: 78)
            let preset = Controls<Float>(layout: layout, batchSize: 1, values: (0..<p).map { _ in Float(0.1 + 0.8 * rng.unit()) })
            let note = synth.render(preset, RenderRequest(sampleCount: n)).samples
            let targets = AudioBatch(batchSize: restarts, sampleCount: n, samples: Array((0..<restarts).map { _ in note }.joined()))
            let starts = Controls<Float>(layout: layout, batchSize: restarts, values: (0..<(p * restarts)).map { _ in Float(0.1 + 0.8 * rng.unit()) })
            var fit = ControlFit(synth: synth, loss: MatchOptions().objective(sampleRate: sr), target: targets, initial: starts,
                                 optimiser: Adam(learningRate: 0.05))
            // Its peer is SynthMatch before issue 17 (Experiments/peers/baseline).
            list.append(Ours(workload: "match_step", name: "match refinement step", audioSeconds: Double(restarts) * 1.5) {
                fit.step()
            })
        }
        return list
    }

    /// A fixed random batch (the upstream gradient, or a loss input).
    static func weights(_ b: Int, _ n: Int, seed: UInt64) -> AudioBatch<Float> {
        var rng = CounterRandom(seed: seed, index: 0, stream: 77)
        return AudioBatch(batchSize: b, sampleCount: n, samples: (0..<(b * n)).map { _ in Float(rng.normal()) })
    }

    // baseline-skip-begin
    /// A patch with every parameter uniform in torchsynth's range (its curves left out: the
    /// work per note does not depend on the values).
    static func randomTorchsynthPatch(seed: UInt64) -> TorchsynthVoice.Patch {
        var rng = CounterRandom(seed: 90, index: seed)
        func u(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * rng.unit() }
        func envelope() -> TorchsynthVoice.Patch.Envelope {
            .init(attack: u(0, 2), decay: u(0, 2), sustain: u(0, 1), release: u(0, 5), alpha: u(0.1, 6))
        }
        func lfo() -> TorchsynthVoice.Patch.LFO {
            .init(frequency: u(0, 20), modDepth: u(-10, 20), initialPhase: u(-.pi, .pi), shapes: (0..<5).map { _ in u(0, 1) })
        }
        return TorchsynthVoice.Patch(
            midiF0: u(0, 127), duration: u(0.01, 4),
            adsr1: envelope(), adsr2: envelope(), lfo1Amplitude: envelope(), lfo2Amplitude: envelope(), lfo1Rate: envelope(), lfo2Rate: envelope(),
            lfo1: lfo(), lfo2: lfo(), modulation: (0..<4).map { _ in (0..<5).map { _ in u(0, 1) } },
            vco1: .init(tuning: u(-24, 24), modDepth: u(-96, 96), initialPhase: u(-.pi, .pi)),
            vco2: .init(tuning: u(-24, 24), modDepth: u(-96, 96), initialPhase: u(-.pi, .pi), shape: u(0, 1)),
            mixer: (0..<3).map { _ in u(0, 1) })
    }
    // baseline-skip-end
}
