import ArgumentParser
import Datasets
import Foundation
import Matching

/// libhdf5 (1.10) is not hardened against corrupted metadata: a file with damaged internals can
/// crash or hang the library itself, where no check of ours can run (`Experiments/corrupt_hdf5.py`:
/// 1 in 100 random corruptions). So before reading an HDF5 file the user gave, the command opens
/// it in a child process first (this executable's hidden `probe-hdf5`): if that child dies or
/// hangs, the file is reported as damaged and the command stops with a clear error. A child that
/// stops on a clean error passes that error on, and the command never opens the file itself: the
/// same damaged bytes that gave the child a clean error can crash the parent, whose heap is laid
/// out differently (seen on 3 of 300 corruptions). Only a file the child read whole is read here.
enum HDF5Probe {
    enum Kind: String, ExpressibleByArgument { case dataset, model, partial }

    /// `SYNTHMATCH_NO_PROBE=1` skips it (to measure what it catches: `Experiments/corrupt_hdf5.py`).
    static func check(_ path: String, as kind: Kind, timeout: Double = 20) throws {
        guard ProcessInfo.processInfo.environment["SYNTHMATCH_NO_PROBE"] == nil,
              FileManager.default.fileExists(atPath: path), let executable = Bundle.main.executableURL else { return }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["probe-hdf5", path, "--kind", kind.rawValue]
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        do { try process.run() } catch { return }   // no child process here: read it directly
        // Read the child's stderr as it comes, so a long message can never fill the pipe and stall it.
        let errorText = ChildOutput()
        let reading = DispatchGroup()
        DispatchQueue.global().async(group: reading) { errorText.data = errors.fileHandleForReading.readDataToEndOfFile() }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(2_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw CommandFailure("\(path): a damaged HDF5 file (libhdf5 did not finish reading its structure in \(Int(timeout)) s)")
        }
        if process.terminationReason == .uncaughtSignal {
            throw CommandFailure("\(path): a damaged HDF5 file (libhdf5 crashed reading its structure; the file's bytes are corrupt)")
        }
        // A partial file the child cannot open is simply not resumable: `dataset generate` starts it again.
        if process.terminationStatus != 0, kind != .partial {
            reading.wait()
            let text = String(decoding: errorText.data, as: UTF8.self)
            let message = text.split(separator: "\n").first { $0.hasPrefix("Error: ") }.map { String($0.dropFirst(7)) }
            throw CommandFailure(message ?? "\(path): could not be read as an HDF5 \(kind.rawValue) file")
        }
    }
}

/// The child's stderr, filled by a reader thread and read only after `DispatchGroup.wait`.
private final class ChildOutput: @unchecked Sendable { var data = Data() }

/// The child side of `HDF5Probe`: reads what the parent is about to read.
struct ProbeHDF5: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "probe-hdf5", abstract: "Read an HDF5 file's structure (internal).",
                                                    shouldDisplay: false)
    @Argument var file: String
    @Option var kind: HDF5Probe.Kind = .dataset

    func run() throws {
        switch kind {
        case .model:
            _ = try Checkpoint.load(file)
        case .dataset:
            let reader = try DatasetReader(path: file)
            if reader.info.count > 0 { _ = try reader.example(0, checked: false); _ = try reader.example(reader.info.count - 1, checked: false) }
        case .partial:
            let file = try HDF5File.open(file)
            _ = try? file.stringAttribute("command_key")
            _ = try? file.intAttribute("rows_written")
            _ = try? file.shape("audio")
        }
    }
}
