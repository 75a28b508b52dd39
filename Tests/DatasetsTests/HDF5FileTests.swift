import Datasets
import Foundation
import XCTest

final class HDF5FileTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-h5-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testRoundTripsChunkedCompressedFloatsAndAttributes() throws {
        let path = folder.appendingPathComponent("t.h5").path
        let values = (0..<(5 * 7)).map { Float($0) * 0.5 - 3 }
        do {
            let file = try HDF5File.create(path)
            try file.writeFloats("audio", values, shape: [5, 7], chunkRows: 1, deflate: 4)
            try file.writeFloats("plain", [1, 2, 3], shape: [3])
            try file.setAttribute("synth", "harmonic — ü")
        }
        let file = try HDF5File.open(path)
        let (read, shape) = try file.readFloats("audio")
        XCTAssertEqual(shape, [5, 7])
        XCTAssertEqual(read, values)
        XCTAssertEqual(try file.readFloats("plain").values, [1, 2, 3])
        XCTAssertEqual(try file.stringAttribute("synth"), "harmonic — ü")
        XCTAssertThrowsError(try file.readFloats("missing"))
    }

    func testClearErrorsForMissingAndForeignFiles() throws {
        XCTAssertThrowsError(try HDF5File.open(folder.appendingPathComponent("none.h5").path)) { XCTAssertTrue("\($0)".contains("no such file")) }
        let text = folder.appendingPathComponent("text.h5")
        try Data("not hdf5".utf8).write(to: text)
        XCTAssertThrowsError(try HDF5File.open(text.path)) { XCTAssertTrue("\($0)".contains("not an HDF5 file")) }
    }

    /// When h5py is installed, the file must be readable without SynthMatch.
    func testReadableByH5pyWhenAvailable() throws {
        let path = folder.appendingPathComponent("py.h5").path
        do {
            let file = try HDF5File.create(path)
            try file.writeFloats("audio", [0.25, -1, 4, 8], shape: [2, 2], chunkRows: 1, deflate: 1)
            try file.setAttribute("synth", "fm")
        }
        let script = "import h5py,sys; f=h5py.File(sys.argv[1]); a=f['audio']; print(a.shape, a[1,1], a.compression, f.attrs['synth'])"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        try XCTSkipIf(process.terminationStatus != 0 && !output.contains("("), "h5py is not installed")
        XCTAssertEqual(output.trimmingCharacters(in: .whitespacesAndNewlines), "(2, 2) 8.0 gzip fm")
    }
}
