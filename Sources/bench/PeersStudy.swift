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
///   peer's setting) and with it (the DX7's, which the peer leaves out).
struct PeersStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract: "SynthMatch on the peers' workloads; merges the peers' timings into peers.csv.")

    @OptionGroup var options: StudyOptions
    @Option(help: "The peers' timings (CSV from Experiments/peers/time_peers.py).") var peers: String
    @Option(help: "Timed repetitions (median reported).") var repeats: Int = 5

    static let batch = 16, sampleRate = 16000.0

    struct Ours { let workload: String; let name: String; let audioSeconds: Double; let step: () -> Void }

    func validate() throws {
        guard (1...1000).contains(repeats) else { throw ValidationError("--repeats must be within 1...1000") }
    }

    func run() throws {
        let out = options.out ?? "results/bench"
        let peerRows = try Self.readPeers(peers)
        var csv = CSVWriter(path: "\(out)/peers.csv", header: [
            "workload", "peer", "peer_x_real_time", "ours", "ours_x_real_time", "ratio", "threads"])
        for threads in [1, 2] {
            Parallelism.threadCount = threads
            for ours in workloads() {
                let t = medianSeconds(repeats: repeats, ours.step)
                let x = ours.audioSeconds / t
                for peer in peerRows where peer.workload == ours.workload && peer.threads == threads {
                    csv.row([ours.workload, peer.peer, peer.xRealTime, ours.name, x, x / peer.xRealTime, threads])
                    print(String(format: "%-9@ %d thread(s): %@ %.1fx real time, %@ %.1fx: ratio %.2f",
                                 ours.workload, threads, peer.peer, peer.xRealTime, ours.name, x, x / peer.xRealTime))
                }
            }
        }
        try csv.finish()
        print("wrote \(out)/peers.csv")
    }

    static func readPeers(_ path: String) throws -> [(workload: String, peer: String, threads: Int, xRealTime: Double)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read the peers' timings at \(path) (run Experiments/peers/time_peers.py)")
        }
        var rows: [(String, String, Int, Double)] = []
        for line in text.split(whereSeparator: \.isNewline).dropFirst() {
            // workload,peer,threads,seconds_per_call,x_real_time; the peer's name may hold commas in quotes.
            let fields = Self.csvFields(String(line))
            guard fields.count == 5, let threads = Int(fields[2]), let x = Double(fields[4]), x > 0 else {
                throw ValidationError("\(path): malformed row '\(line)'")
            }
            rows.append((fields[0], fields[1], threads, x))
        }
        return rows
    }

    static func csvFields(_ line: String) -> [String] {
        var fields: [String] = [], current = "", quoted = false
        for ch in line {
            if ch == "\"" { quoted.toggle() } else if ch == "," && !quoted { fields.append(current); current = "" } else { current.append(ch) }
        }
        fields.append(current)
        return fields
    }

    func workloads() -> [Ours] {
        let b = Self.batch, sr = Self.sampleRate
        var list: [Ours] = []
        // Harmonic bank: 64 harmonics, 250 frames over 4 s.
        do {
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
        do {
            let n = Int(sr)
            let loss = MultiScaleSpectralLoss.auraloss()
            let prediction = Self.weights(b, n, seed: 2), target = Self.weights(b, n, seed: 3)
            list.append(Ours(workload: "mrstft", name: "MultiScaleSpectralLoss.auraloss()", audioSeconds: Double(b)) {
                _ = loss.valuesWithGradient(prediction, target)
            })
        }
        // Six operators on algorithm 1, without and with feedback.
        for feedback in [0.0, 0.5] {
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
        return list
    }

    /// A fixed random batch (the upstream gradient, or a loss input).
    static func weights(_ b: Int, _ n: Int, seed: UInt64) -> AudioBatch<Float> {
        var rng = CounterRandom(seed: seed, index: 0, stream: 77)
        return AudioBatch(batchSize: b, sampleCount: n, samples: (0..<(b * n)).map { _ in Float(rng.normal()) })
    }
}
