import ArgumentParser
import Foundation
import Synths

/// `synthmatch synths`: the registered modules and their parameters.
private func pad(_ x: String, _ n: Int) -> String { x.padding(toLength: max(n, x.count), withPad: " ", startingAt: 0) }

struct Synths: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the synth modules and their parameters.")

    @Flag(help: "Print every parameter of every module (harmonic banks have one per harmonic).")
    var all = false
    @Flag(help: "List the presets.") var presets = false

    func run() throws {
        if presets {
            for p in PresetLibrary.all {
                print("\(pad(p.family, 12)) \(pad(p.name, 12)) on \(pad(p.module, 14)) \(p.summary)")
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
                let scale: String
                switch s.scale {
                case .linear: scale = "linear"
                case .logarithmic: scale = "log"
                case .curve(let c): scale = String(format: "curve %.3g", c)
                case .symmetricCurve(let c): scale = String(format: "symmetric curve %.3g", c)
                case .categorical: scale = "choice"
                }
                let value = String(format: "%.4g", s.defaultValue) + unit
                print("  \(pad(s.name, 18)) \(pad(s.rate == .global ? "global" : "per frame", 9)) \(pad("\(s.minimum)...\(s.maximum)\(unit)", 24)) \(pad(scale, 10)) default \(pad(value, 10)) \(s.meaning)")
            }
            if shown.count < specs.count { print("  ... \(specs.count - shown.count) more (--all lists them)") }
        }
        for entry in SynthRegistry.entries { if let v = entry.variants { print("\(v.pattern): \(v.summary)") } }
        print("presets: synthmatch synths --presets")
    }
}
