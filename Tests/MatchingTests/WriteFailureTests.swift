import Datasets
import Foundation
import XCTest

/// Every command that writes, onto a full disk, a read-only file system, a missing folder and
/// things that are not files (issue 14): a clear error that names the user's path and the OS
/// reason, exit status 1 (never a crash), and nothing left behind: no partial file, no
/// temporary folder, no earlier output replaced. Disk-full and read-only cases mount small
/// tmpfs file systems, so they run as root (CI) and are skipped otherwise.
final class WriteFailureTests: XCTestCase {
    var folder: URL!
    var mounts: [String] = []
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-wf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws {
        for m in mounts { _ = try? shell("/bin/umount", [m]) }
        try? FileManager.default.removeItem(at: folder)
    }
    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func shell(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let r = try CommandRunner(folder: folder).run(tool, arguments)
        return (r.status, r.output)
    }

    func synthmatch(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let r = try CommandRunner(folder: folder).synthmatch(arguments)
        return (r.signalled ? 128 : r.status, r.output)
    }

    /// A tmpfs of `kilobytes` (read-only with `readOnly`), or a skip when this process may not mount.
    func mount(_ name: String, kilobytes: Int, readOnly: Bool = false) throws -> String {
        let point = path(name)
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        guard getuid() == 0, try shell("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k" + (readOnly ? ",ro" : ""), "tmpfs", point]).status == 0 else {
            throw XCTSkip("mounting a tmpfs needs root")
        }
        mounts.append(point)
        return point
    }

    /// Fills a mounted file system up to its last `leave` bytes.
    func fill(_ point: String, leaving leave: Int) throws {
        var info = statvfs()
        XCTAssertEqual(statvfs(point, &info), 0)
        let free = Int(info.f_bavail) * Int(info.f_frsize)
        FileManager.default.createFile(atPath: point + "/filler", contents: Data(count: max(0, free - leave)))
    }

    func entries(_ point: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: point).filter { $0 != "filler" }.sorted()
    }

    /// What every failure must look like.
    func assertCleanFailure(_ result: (status: Int32, output: String), mentions words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 1, "exit status (a crash is > 128): \(result.output)", file: file, line: line)
        for w in words { XCTAssertTrue(result.output.contains(w), "'\(w)' missing from: \(result.output)", file: file, line: line) }
        for bad in ["partial", "NSCocoaErrorDomain", "HDF5-DIAG", "Fatal error", "Code="] {
            XCTAssertFalse(result.output.contains(bad), "'\(bad)' in: \(result.output)", file: file, line: line)
        }
    }

    func makeShards() throws -> (String, String) {
        for (i, name) in ["s0.h5", "s1.h5"].enumerated() {
            let r = try synthmatch(["dataset", "generate", "--synth", "subtractive", "--count", "40", "--duration", "0.5",
                                    "--shard", "\(i)/2", "--out", path(name), "--quiet"])
            XCTAssertEqual(r.status, 0, r.output)
        }
        let r = try synthmatch(["dataset", "generate", "--synth", "subtractive", "--count", "64", "--duration", "0.25", "--out", path("train.h5"), "--quiet"])
        XCTAssertEqual(r.status, 0, r.output)
        return (path("s0.h5"), path("s1.h5"))
    }

    static let bank = CommandLineTests.repository.appendingPathComponent("Tests/SynthsTests/Fixtures/dx7/renders.syx").path

    func testFullDiskFailsCleanlyForEveryWriter() throws {
        let full = try mount("full", kilobytes: 512)
        let (s0, s1) = try makeShards()
        let example = CommandLineTests.repository.appendingPathComponent("Examples/gm-saw-lead-45.wav").path
        let cases: [(String, [String])] = [
            ("generate", ["dataset", "generate", "--synth", "subtractive", "--count", "64", "--duration", "1", "--out", full + "/d.h5", "--quiet"]),
            ("merge", ["dataset", "merge", full + "/m.h5", s0, s1]),
            ("train", ["train", "--synth", "subtractive", "--data", path("train.h5"), "--steps", "2", "--out", full + "/model.h5", "--quiet"]),
            ("render", ["render", "--synth", "subtractive", "--duration", "20", "--out", full + "/x.wav"]),
            ("match", ["match", example, "--synth", "subtractive", "--steps", "1", "--restarts", "1", "--out", full + "/m"]),
            ("evaluate", ["evaluate", "--synth", "subtractive", "--data", s0, "--count", "1", "--budget", "0.05", "--methods", "random",
                          "--out", full + "/e", "--quiet"]),
            ("render --syx", ["render", "--syx", Self.bank, "--voice", "2", "--duration", "20", "--out", full + "/dx7.wav"]),
            ("syx extract", ["syx", "extract", Self.bank, "--voice", "2", "--out", full + "/v.syx"]),
        ]
        for (name, arguments) in cases {
            try fill(full, leaving: name == "match" || name == "evaluate" || name == "syx extract" ? 0 : 64 * 1024)
            let result = try synthmatch(arguments)
            assertCleanFailure(result, mentions: [full, "No space left on device"])
            XCTAssertEqual(try entries(full), [], "\(name) left files behind")
            try FileManager.default.removeItem(atPath: full + "/filler")
        }
        // With room again, a dataset that fits is written.
        let again = try synthmatch(["dataset", "generate", "--synth", "subtractive", "--count", "8", "--duration", "0.25", "--out", full + "/d.h5", "--quiet"])
        XCTAssertEqual(again.status, 0, again.output)
    }

    func testReadOnlyAndMissingFoldersFailCleanly() throws {
        let readOnly = try mount("ro", kilobytes: 64, readOnly: true)
        let (s0, s1) = try makeShards()
        for target in [readOnly, path("no/such/folder")] {
            let reason = target == readOnly ? "Read-only file system" : "does not exist"
            let cases: [[String]] = [
                ["dataset", "generate", "--synth", "subtractive", "--count", "8", "--duration", "0.25", "--out", target + "/d.h5", "--quiet"],
                ["dataset", "merge", target + "/m.h5", s0, s1],
                ["train", "--synth", "subtractive", "--data", path("train.h5"), "--steps", "2", "--out", target + "/model.h5", "--quiet"],
                ["render", "--synth", "subtractive", "--out", target + "/x.wav"],
                ["match", "Examples/none.wav", "--synth", "subtractive", "--out", target + "/m"],
                ["evaluate", "--synth", "subtractive", "--data", s0, "--budget", "0.1", "--out", target + "/e"],
                ["render", "--syx", Self.bank, "--out", target + "/dx7.wav"],
                ["syx", "extract", Self.bank, "--voice", "1", "--out", target + "/v.syx"],
            ]
            for arguments in cases { assertCleanFailure(try synthmatch(arguments), mentions: [target, reason]) }
        }
    }

    /// Starts synthmatch and kills it with SIGKILL after `seconds`.
    func killed(_ arguments: [String], after seconds: Double) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CommandRunner.synthmatchPath())
        process.arguments = arguments
        process.currentDirectoryURL = folder
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        usleep(UInt32(seconds * 1e6))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// kill -9 mid-write: no finished-looking dataset, `--resume` completes it with the same bytes
    /// as an uninterrupted run; a killed match leaves the previous output folder as it was, and
    /// the next write into that folder removes the dead run's temporary folder.
    func testKillNineLeavesTheOldOutputOrNothing() throws {
        let generate = ["dataset", "generate", "--synth", "subtractive", "--count", "300", "--duration", "0.5", "--quiet"]
        try killed(generate + ["--out", path("k.h5")], after: 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("k.h5")), "a killed run leaves no finished-looking file")
        let resumed = try synthmatch(generate + ["--out", path("k.h5"), "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertEqual(try synthmatch(generate + ["--out", path("clean.h5")]).status, 0)
        let a = try HDF5File.open(path("k.h5")), b = try HDF5File.open(path("clean.h5"))
        for name in ["audio", "params"] { XCTAssertEqual(try a.readFloats(name).values, try b.readFloats(name).values, name) }

        let example = CommandLineTests.repository.appendingPathComponent("Examples/gm-saw-lead-45.wav").path
        let first = try synthmatch(["match", example, "--synth", "subtractive", "--steps", "2", "--restarts", "1", "--out", "m"])
        XCTAssertEqual(first.status, 0, first.output)
        let before = try Data(contentsOf: folder.appendingPathComponent("m/preset.json"))
        try killed(["match", example, "--synth", "subtractive", "--steps", "100000", "--seed", "9", "--out", "m"], after: 3)
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("m/preset.json")), before, "the old folder is untouched")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("m")).sorted(), ["match.wav", "preset.json", "refinement.csv"])
        // Temporaries of a process that is gone are cleaned by the next write into the folder;
        // those of a live process (this test's) are not.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let dead = path(".synthmatch-\(gone.processIdentifier)-1.partial"), live = path(".synthmatch-\(getpid())-2.partial")
        for p in [dead, live] { try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true) }
        let render = try synthmatch(["render", "--synth", "subtractive", "--duration", "0.1", "--out", "r.wav"])
        XCTAssertEqual(render.status, 0, render.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead), "a dead run's temporary is removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live), "a live run's temporary is left alone")
    }

    /// Two dataset runs onto one path: the second is refused while the first writes (whatever
    /// HDF5's own file locking says), and the first completes with its own data.
    func testSecondWriterOntoTheSamePathIsRefused() throws {
        let first = Process()
        first.executableURL = URL(fileURLWithPath: try CommandRunner.synthmatchPath())
        first.arguments = ["dataset", "generate", "--synth", "subtractive", "--count", "200", "--duration", "0.5", "--out", path("d.h5"), "--quiet"]
        first.environment = ProcessInfo.processInfo.environment.merging(["HDF5_USE_FILE_LOCKING": "FALSE"]) { $1 }
        first.standardOutput = FileHandle.nullDevice
        try first.run()
        usleep(700_000)
        let second = try CommandRunner(folder: folder).run(try CommandRunner.synthmatchPath(),
            ["dataset", "generate", "--synth", "fm", "--count", "20", "--duration", "0.5", "--out", path("d.h5"), "--quiet"])
        first.waitUntilExit()
        XCTAssertEqual(second.status, 1, second.output)
        XCTAssertTrue(second.output.contains("another run is writing"), second.output)
        XCTAssertEqual(first.terminationStatus, 0)
        XCTAssertEqual(try DatasetInfo(path: path("d.h5")).synth, "subtractive")
        XCTAssertEqual(try DatasetInfo(path: path("d.h5")).count, 200)
    }

    /// A device or a FIFO given as an output is refused, never replaced; an earlier output
    /// folder survives a failed match.
    func testNonFilesAreNeverReplaced() throws {
        let fifo = path("pipe")
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        for target in [fifo, "/dev/null"] {
            assertCleanFailure(try synthmatch(["render", "--synth", "subtractive", "--out", target]), mentions: [target, "not a regular file"])
            assertCleanFailure(try synthmatch(["syx", "extract", Self.bank, "--voice", "1", "--out", target]), mentions: [target, "not a regular file"])
        }
        var info = stat()
        XCTAssertEqual(lstat(fifo, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "the FIFO is still a FIFO")
        XCTAssertEqual(stat("/dev/null", &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR, "/dev/null is still a device")
    }
}
