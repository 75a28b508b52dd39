import ArgumentParser
import Synths

/// `synthmatch synths`: the registered modules and their parameters.
struct Synths: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the synth modules and their parameters.")

    @Flag(help: "Print every parameter of every module (harmonic banks have one per harmonic).")
    var all = false

    func run() throws {
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
    }
}
