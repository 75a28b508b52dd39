import ArgumentParser

@main
struct SynthMatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synthmatch",
        abstract: "Sound matching with differentiable synthesizers.",
        subcommands: [Distance.self, Synths.self, Render.self, Dataset.self, Train.self, Match.self, Estimate.self, Evaluate.self, Syx.self, ProbeHDF5.self])
}
