import ArgumentParser
import Synths

/// `synthmatch synths`: the registered modules and their parameters.
struct Synths: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the synth modules and their parameters.")

    @Flag(help: "Print every parameter of every module (harmonic banks have one per harmonic).")
    var all = false
    @Flag(help: "List the presets.") var presets = false

    func run() throws {
        if presets {
            for p in PresetLibrary.all {
                print(String(format: "%-12@ %-12@ on %-14@ %@", p.family, p.name, p.module, p.summary))
            }
            return
        }
        for entry in SynthRegistry.entries {
            let synth = entry.make(16000)
            print("\(entry.name): \(entry.summary)")
            let specs = synth.parameters
            let shown = all ? specs : Array(specs.prefix(8))
            for s in shown {
                let unit = s.unit.isEmpty ? "" : " \(s.unit)"
                print(String(format: "  %-16@ %-9@ %@...%@%@  %@", s.name, s.rate.rawValue, "\(s.minimum)", "\(s.maximum)", unit, "\(s.scale)"))
            }
            if shown.count < specs.count { print("  ... \(specs.count - shown.count) more (--all lists them)") }
        }
        print("fm-alg1 ... fm-alg32: the fm module with DX7 algorithm N (same parameters)")
        print("presets: synthmatch synths --presets")
    }
}
