import Datasets
import DSP
import Foundation
@testable import Matching
import Synths
import XCTest

/// Model files damaged or crafted after they were written (issue 14): each is refused with what
/// is wrong, never loaded into wrong estimates, never a trap or a giant allocation.
final class CheckpointDamageTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-ckd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }
    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func savedModel() throws -> (path: String, estimator: ParameterEstimator) {
        let synth = SubtractiveSynth()
        let estimator = try tinyEstimator(for: synth, sampleCount: 2048, seed: 5)
        try Checkpoint.save(estimator, to: path("m.h5"))
        return (path("m.h5"), estimator)
    }

    /// One flipped bit in the stored weights fails HDF5's Fletcher-32 check.
    func testCorruptedWeightBytesAreAnError() throws {
        let (good, estimator) = try savedModel()
        XCTAssertEqual(try Checkpoint.load(good).estimator.weights, estimator.weights)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let pattern = estimator.weights[100..<104].withUnsafeBytes { Data($0) }
        let at = try XCTUnwrap(bytes.range(of: pattern), "the weights' bytes are stored as written").lowerBound
        bytes[at + 1] ^= 0x10
        let damaged = path("damaged.h5")
        try bytes.write(to: URL(fileURLWithPath: damaged))
        XCTAssertThrowsError(try Checkpoint.load(damaged)) { XCTAssertTrue("\($0)".contains("checksum"), "\($0)") }
    }

    func testCraftedValuesAreRefusedWithWhatIsWrong() throws {
        let (good, _) = try savedModel()
        let cases: [(String, (HDF5File) throws -> Void, String)] = [
            ("kernel", { try $0.setAttribute("configuration", #"{"channels":[4],"kernel":0,"stride":2,"hidden":8,"slope":0.01}"#) }, "architecture"),
            ("channels", { try $0.setAttribute("configuration", #"{"channels":[-3],"kernel":3,"stride":2,"hidden":8,"slope":0.01}"#) }, "architecture"),
            ("hidden", { try $0.setAttribute("configuration", #"{"channels":[4],"kernel":3,"stride":2,"hidden":0,"slope":0.01}"#) }, "architecture"),
            ("giant", { try $0.setAttribute("configuration", #"{"channels":[4000,4000,4000],"kernel":31,"stride":1,"hidden":1000000,"slope":0.01}"#) }, "architecture"),
            ("json", { try $0.setAttribute("configuration", "{not json") }, "JSON"),
            ("deviation", { try $0.setAttribute("feature_deviation", Double.nan) }, "feature statistics"),
            ("zero deviation", { try $0.setAttribute("feature_deviation", 0.0) }, "feature statistics"),
            ("rate", { try $0.setAttribute("sample_rate", 1e12) }, "sample rate"),
            ("window", { try $0.setAttribute("sample_count", Int64(1) << 50) }, "window"),
            ("type", { try $0.setAttribute("sample_count", "2048") }, "damaged"),
            ("version", { try $0.setAttribute("format_version", Int64(99)) }, "format version 99"),
        ]
        for (name, damage, expected) in cases {
            let p = path("\(name).h5")
            try FileManager.default.copyItem(atPath: good, toPath: p)
            do { try damage(try HDF5File.open(p, writable: true)) }
            XCTAssertThrowsError(try Checkpoint.load(p), name) { XCTAssertTrue("\($0)".contains(expected), "\(name): \($0)") }
        }
    }

    /// The shipped models load, with their checksums.
    func testShippedModelsCarryChecksums() throws {
        var root = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) { root.deleteLastPathComponent() }
        for synth in ["subtractive", "fm"] {
            let p = root.appendingPathComponent("models/\(synth).h5").path
            XCTAssertTrue(try HDF5File.open(p).hasChecksum("weights"), synth)
            XCTAssertNoThrow(try Checkpoint.load(p), synth)
        }
    }
}
