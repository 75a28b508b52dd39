import DSP
import Foundation

/// Where a result came from, written beside each result CSV as `NAME.provenance.json`: the
/// command line (with its seeds and budgets), the facts a command records (`record`: seeds it
/// chose by default, budgets), the date (UTC), the git commit of the repository the executable
/// was built in (with `-dirty` when it had uncommitted changes), the process's peak resident
/// memory so far, and the machine (host, CPU model, cores, memory, kernel). A reviewer can tell which code on which machine made a number.
public enum Provenance {
    private final class Store: @unchecked Sendable {
        let lock = NSLock()
        var facts: [String: String] = [:]
    }
    private static let store = Store()

    /// Adds a fact (e.g. `record("seed", "3")`) to every provenance written afterwards.
    public static func record(_ key: String, _ value: String) {
        store.lock.lock(); defer { store.lock.unlock() }
        store.facts[key] = value
    }

    /// The sidecar path of `path`: `x.csv` -> `x.provenance.json`.
    public static func sidecar(of path: String) -> String {
        (path.hasSuffix(".csv") ? String(path.dropLast(4)) : path) + ".provenance.json"
    }

    /// The document for a result written now.
    public static func document() -> [String: String] {
        var d = machine
        d["command_line"] = CommandLine.arguments.joined(separator: " ")
        d["date_utc"] = ISO8601DateFormatter().string(from: Date())
        d["commit"] = commit
        if let peak = ProcessMemory.peakResidentBytes { d["peak_resident_mb"] = String(format: "%.0f", Double(peak) / 1_048_576) }
        store.lock.lock()
        for (k, v) in store.facts { d[k] = v }
        store.lock.unlock()
        return d
    }

    /// Writes `path`'s sidecar atomically.
    public static func write(for path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(document()), to: sidecar(of: path))
    }

    /// `git rev-parse HEAD` (+ `-dirty`) in the repository above the executable; "unknown" without one.
    static let commit: String = {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0].contains("/") ? CommandLine.arguments[0] : "/proc/self/exe")
            .resolvingSymlinksInPath().deletingLastPathComponent()
        while folder.path != "/" && !FileManager.default.fileExists(atPath: folder.appendingPathComponent(".git").path) {
            folder = folder.deletingLastPathComponent()
        }
        guard folder.path != "/", let head = git(["rev-parse", "HEAD"], in: folder.path) else { return "unknown" }
        let dirty = git(["status", "--porcelain", "--untracked-files=no"], in: folder.path).map { !$0.isEmpty } ?? false
        return head + (dirty ? "-dirty" : "")
    }()

    static func git(_ arguments: [String], in folder: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", folder] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let machine: [String: String] = {
        var m: [String: String] = ["host": ProcessInfo.processInfo.hostName,
                                   "cores": "\(ProcessInfo.processInfo.activeProcessorCount)",
                                   "memory_gib": String(format: "%.1f", Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824),
                                   "os": ProcessInfo.processInfo.operatingSystemVersionString]
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            m["cpu"] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return m
    }()
}
