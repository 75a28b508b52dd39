import ArgumentParser
import DSP

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "SynthMatch studies and benchmarks; each writes CSV under results/.",
        subcommands: [DDSPSeedStudy.self, FrequencyPaperStudy.self, ReadingGroupStudy.self, PitchRankingStudy.self, RatioLandscapeStudy.self, PhaseAccumulationStudy.self, PeersStudy.self, ThroughputStudy.self, SynthThroughputStudy.self, WavetableSpeedStudy.self, DatasetStudy.self, LossLandscapeStudy.self, FrequencyEstimationStudy.self, GradientEstimatorStudy.self, ScalingStudy.self, RippleStudy.self, PlotCommand.self])

    /// Start-up: freed buffers stay in the process (`ProcessMemory`), then the command runs.
    static func main() {
        ProcessMemory.keepFreedBuffers()
        main(nil)
    }
}

/// Options every study shares.
struct StudyOptions: ParsableArguments {
    @Option(help: "Folder that receives the study's CSV (and WAV) files.")
    var out: String?

    @Option(help: "Worker threads for batch loops (0: all cores).")
    var threads: Int = 0
}
