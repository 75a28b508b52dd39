import ArgumentParser
import DSP

@main
struct SynthMatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synthmatch",
        abstract: "Sound matching with differentiable synthesizers.",
        subcommands: [Distance.self, Synths.self, Render.self, Dataset.self, Train.self, Match.self, Estimate.self, Evaluate.self, EvaluateMerge.self, Syx.self, ProbeHDF5.self])

    /// Start-up: freed buffers stay in the process (`ProcessMemory`), then the command runs.
    static func main() {
        ProcessMemory.keepFreedBuffers()
        main(nil)
    }
}
