import ArgumentParser
import Datasets
import Foundation
import Synths

/// `synthmatch syx`: DX7 sysex files (single voices and 32-voice banks) as Dexed and a DX7 read them.
struct Syx: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List and extract DX7 voices in .syx files (single-voice dumps and 32-voice banks).",
        subcommands: [List.self, Extract.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the voices of a DX7 .syx file.")
        @Argument(help: "A DX7 single-voice (163 bytes) or 32-voice bank (4104 bytes) .syx file.") var file: String
        @Flag(help: "Read a damaged dump as Dexed would (bad checksum, unused bits, values out of range) and say what was repaired.")
        var repair = false

        func run() throws {
            let voices = try readSysex(file, repair: repair)
            print("\(file): \(voices.count == 1 ? "single voice" : "\(voices.count)-voice bank")")
            print(" #  name        alg fb  op1 .. op6 (coarse.fine level; F = fixed frequency)")
            for (i, v) in voices.enumerated() {
                let ops = (1...6).map { op -> String in
                    let fixed = v.value("fixed_frequency", operator: op) == 1 ? "F" : ""
                    return "\(fixed)\(v.value("coarse", operator: op)).\(String(format: "%02d", v.value("fine", operator: op))) \(v.value("output_level", operator: op))"
                }
                print(String(format: "%2d  %@  %2d  %d  ", i + 1, v.name, v.algorithm, v.value("feedback")) + ops.joined(separator: " | "))
            }
        }
    }

    struct Extract: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write one voice of a bank as a single-voice .syx that Dexed loads.")
        @Argument(help: "A DX7 .syx file.") var file: String
        @Option(help: "Voice number, 1...32 for a bank.") var voice: Int
        @Option(help: "Output single-voice .syx (163 bytes).") var out: String
        @Option(help: "MIDI channel written in the dump, 1...16.") var channel: Int = 1
        @Flag(help: "Read a damaged dump as Dexed would, and say what was repaired.") var repair = false

        func validate() throws {
            guard (1...16).contains(channel) else { throw ValidationError("--channel must be within 1...16") }
            guard voice >= 1 else { throw ValidationError("--voice counts from 1") }
            guard !out.isEmpty else { throw ValidationError("--out must name a file") }
        }

        func run() throws {
            try AtomicFile.checkWritable(out)
            let voices = try readSysex(file, repair: repair)
            guard voice <= voices.count else { throw DX7Error.noSuchVoice(file, voice: voice, count: voices.count) }
            try AtomicFile.write(Data(DX7Sysex.encodeVoice(voices[voice - 1], channel: channel - 1)), to: out)
            print("wrote \(out): voice \(voice) '\(voices[voice - 1].name)' of \(file)")
        }
    }
}

/// A .syx the user named (`SysexFile`), with repairs printed to stderr and, for damage that
/// `--repair` reads past, a hint that says so.
func readSysex(_ path: String, repair: Bool = false) throws -> [DX7Patch] {
    let report: ((String) -> Void)? = repair ? { FileHandle.standardError.write(Data("repaired: \($0)\n".utf8)) } : nil
    do {
        return try SysexFile.read(path, repair: report)
    } catch let error as DX7Error {
        if case .valueOutOfRange = error, !repair { throw CommandFailure("\(error) (--repair reads it as Dexed does)") }
        if case .badChecksum = error, !repair { throw CommandFailure("\(error) (--repair reads it anyway)") }
        if case .notDX7(_, let reason) = error, reason.contains("unused bits"), !repair { throw CommandFailure("\(error) (--repair ignores them)") }
        throw error
    }
}
