import Foundation
import XCTest

/// Runs programs from a test's scratch folder: the `synthmatch` built next to the test bundle
/// (by `swift build --build-tests` / `swift test`) or a system tool.
struct CommandRunner {
    let folder: URL

    struct Result {
        var status: Int32
        var output: String
        /// Ended by a signal (a crash: SIGSEGV, SIGILL from a Swift trap, SIGABRT) or killed at the timeout.
        var signalled: Bool
        var timedOut: Bool
    }

    static func synthmatchPath() throws -> String {
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("synthmatch")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            dir = dir.deletingLastPathComponent()
        }
        throw XCTSkip("no synthmatch executable next to the test bundle")
    }

    func synthmatch(_ arguments: [String], timeout: Double = 600) throws -> Result {
        try run(try Self.synthmatchPath(), arguments, timeout: timeout)
    }

    func run(_ tool: String, _ arguments: [String], timeout: Double = 600) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.currentDirectoryURL = folder
        let output = folder.appendingPathComponent(".output-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline { process.terminate(); timedOut = true; process.waitUntilExit(); break }
            usleep(5_000)
        }
        process.waitUntilExit()
        try handle.close()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: output)
        return Result(status: process.terminationStatus, output: text,
                      signalled: process.terminationReason == .uncaughtSignal, timedOut: timedOut)
    }
}
