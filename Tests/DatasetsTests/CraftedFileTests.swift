import CHDF5
import Datasets
import DSP
import Foundation
import XCTest

/// Files SynthMatch did not write itself (issue 14): attributes of the wrong shape or type,
/// datasets of the wrong type or an absurd size, foreign HDF5 files, damaged values. Each must
/// end in a clear error, never a read past a buffer, a trap or a giant allocation.
final class CraftedFileTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthmatch-crafted-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }
    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// Writes raw HDF5 objects with the C API, as another program would.
    final class Raw {
        let id: hid_t
        init(_ path: String, create: Bool) {
            id = create ? H5Fcreate(path, chdf5_acc_trunc(), chdf5_p_default(), chdf5_p_default())
                        : H5Fopen(path, chdf5_acc_rdwr(), chdf5_p_default())
            precondition(id >= 0, "raw HDF5: cannot open \(path)")
        }
        deinit { H5Fclose(id) }

        func attribute(_ name: String, doubles: [Double]) {
            if H5Aexists(id, name) > 0 { H5Adelete(id, name) }
            var dims = [hsize_t(doubles.count)]
            let space = H5Screate_simple(1, &dims, nil)
            let a = H5Acreate2(id, name, chdf5_native_double(), space, chdf5_p_default(), chdf5_p_default())
            var v = doubles
            H5Awrite(a, chdf5_native_double(), &v)
            H5Aclose(a); H5Sclose(space)
        }

        func attribute(_ name: String, strings: [String]) {
            if H5Aexists(id, name) > 0 { H5Adelete(id, name) }
            let type = H5Tcopy(chdf5_c_s1()); H5Tset_size(type, chdf5_variable())
            var dims = [hsize_t(strings.count)]
            let space = H5Screate_simple(1, &dims, nil)
            let a = H5Acreate2(id, name, type, space, chdf5_p_default(), chdf5_p_default())
            let c = strings.map { strdup($0) }
            var pointers = c.map { UnsafePointer($0) }
            H5Awrite(a, type, &pointers)
            c.forEach { free($0) }
            H5Aclose(a); H5Sclose(space); H5Tclose(type)
        }

        /// A scalar fixed-length string, as numpy bytes are stored by h5py.
        func attribute(_ name: String, fixed: String) {
            if H5Aexists(id, name) > 0 { H5Adelete(id, name) }
            let bytes = Array(fixed.utf8)
            let type = H5Tcopy(chdf5_c_s1()); H5Tset_size(type, bytes.count)
            let space = H5Screate(H5S_SCALAR)
            let a = H5Acreate2(id, name, type, space, chdf5_p_default(), chdf5_p_default())
            var b = bytes
            H5Awrite(a, type, &b)
            H5Aclose(a); H5Sclose(space); H5Tclose(type)
        }

        /// A dataset of fixed-length strings.
        func stringDataset(_ name: String, count: Int) {
            let type = H5Tcopy(chdf5_c_s1()); H5Tset_size(type, 4)
            var dims = [hsize_t(count)]
            let space = H5Screate_simple(1, &dims, nil)
            let d = H5Dcreate2(id, name, type, space, chdf5_p_default(), chdf5_p_default(), chdf5_p_default())
            var bytes = [UInt8](repeating: 65, count: 4 * count)
            H5Dwrite(d, type, hid_t(0), hid_t(0), chdf5_p_default(), &bytes)
            H5Dclose(d); H5Sclose(space); H5Tclose(type)
        }

        /// A chunked float dataset whose declared extent is enormous (no chunk is written, so the
        /// file stays tiny).
        func hugeDataset(_ name: String, dims: [hsize_t]) {
            var d = dims, chunk = dims.map { _ in hsize_t(1) }
            let space = H5Screate_simple(Int32(d.count), &d, nil)
            let plist = H5Pcreate(chdf5_p_dataset_create())
            H5Pset_chunk(plist, Int32(chunk.count), &chunk)
            let ds = H5Dcreate2(id, name, chdf5_native_float(), space, chdf5_p_default(), plist, chdf5_p_default())
            H5Dclose(ds); H5Pclose(plist); H5Sclose(space)
        }
    }

    func testAttributesOfTheWrongShapeOrTypeAreErrors() throws {
        let p = path("attrs.h5")
        do {
            let raw = Raw(p, create: true)
            raw.attribute("rate_array", doubles: Array(repeating: 16000, count: 4096))
            raw.attribute("names", strings: ["a", "b", "c"])
            raw.attribute("fixed", fixed: "harmonic")
            raw.attribute("one", doubles: [2.5])
        }
        let file = try HDF5File.open(p)
        XCTAssertThrowsError(try file.doubleAttribute("rate_array")) { XCTAssertTrue("\($0)".contains("not a single number"), "\($0)") }
        XCTAssertThrowsError(try file.intAttribute("rate_array"))
        XCTAssertThrowsError(try file.stringAttribute("names")) { XCTAssertTrue("\($0)".contains("not a single string"), "\($0)") }
        XCTAssertThrowsError(try file.stringAttribute("one"))
        XCTAssertThrowsError(try file.doubleAttribute("fixed"))
        XCTAssertThrowsError(try file.doubleAttribute("missing")) { XCTAssertTrue("\($0)".contains("missing"), "\($0)") }
        XCTAssertEqual(try file.stringAttribute("fixed"), "harmonic", "fixed-length strings (h5py's numpy bytes) read as text")
        XCTAssertEqual(try file.doubleAttribute("one"), 2.5)
        XCTAssertEqual(try file.intAttribute("one"), 2, "numbers convert between types as HDF5 converts them")
    }

    func testDatasetsOfTheWrongTypeOrAnAbsurdSizeAreErrors() throws {
        let p = path("data.h5")
        do {
            let raw = Raw(p, create: true)
            raw.stringDataset("text", count: 8)
            raw.hugeDataset("huge", dims: [1 << 31, 1 << 20])
        }
        let file = try HDF5File.open(p)
        XCTAssertThrowsError(try file.readFloats("text")) { XCTAssertTrue("\($0)".contains("not numeric"), "\($0)") }
        XCTAssertThrowsError(try file.readRows("text", start: 0, count: 1))
        XCTAssertThrowsError(try file.readFloats("huge")) { XCTAssertTrue("\($0)".contains("larger than"), "\($0)") }
        XCTAssertThrowsError(try file.readRows("huge", start: 0, count: 1 << 30))
        XCTAssertEqual(try file.readRows("huge", start: 5, count: 1).count, 1 << 20, "one row of a sparse giant is fine")
    }

    /// An HDF5 file from elsewhere is "not a SynthMatch dataset", not "incomplete".
    func testForeignHDF5FileIsNamedAsSuch() throws {
        let p = path("foreign.h5")
        do {
            let file = try HDF5File.create(p)
            try file.writeFloats("x", [1, 2, 3], shape: [3])
        }
        XCTAssertThrowsError(try DatasetInfo(path: p)) { XCTAssertTrue("\($0)".contains("not a SynthMatch dataset"), "\($0)") }
    }

    /// A real dataset whose values were damaged afterwards: each is refused with what is wrong.
    func testDamagedDatasetValuesAreRefused() throws {
        var spec = DatasetSpec(synth: "subtractive", count: 6, seed: 3)
        spec.duration = 0.1
        let good = path("good.h5")
        try DatasetGenerator.generate(spec, to: good, progress: false)
        XCTAssertNoThrow(try DatasetInfo(path: good))
        let cases: [(String, (HDF5File) throws -> Void, String)] = [
            ("rate", { try $0.setAttribute("sample_rate", Double.nan) }, "sample rate"),
            ("duration", { try $0.setAttribute("duration", 1e30) }, "duration"),
            ("count", { try $0.setAttribute("count_total", Int64(2)) }, "counts"),
            ("first", { try $0.setAttribute("first_index", Int64(-7)) }, "counts"),
        ]
        for (name, damage, expected) in cases {
            let p = path("\(name).h5")
            try FileManager.default.copyItem(atPath: good, toPath: p)
            do { try damage(try HDF5File.open(p, writable: true)) }
            XCTAssertThrowsError(try DatasetInfo(path: p), name) { XCTAssertTrue("\($0)".contains(expected), "\(name): \($0)") }
        }
        let p = path("array.h5")
        try FileManager.default.copyItem(atPath: good, toPath: p)
        do { Raw(p, create: false).attribute("sample_rate", doubles: Array(repeating: 1, count: 100)) }
        XCTAssertThrowsError(try DatasetInfo(path: p)) { XCTAssertTrue("\($0)".contains("sample_rate"), "\($0)") }
    }
}
