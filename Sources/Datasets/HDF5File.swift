import CHDF5
import Foundation

public struct HDF5Error: Error, CustomStringConvertible {
    public let path: String
    public let operation: String
    /// The operating system's reason, when the failure was one (no space left, read-only, ...).
    public var reason: String?
    public init(path: String, operation: String, reason: String? = nil) {
        (self.path, self.operation, self.reason) = (path, operation, reason)
    }
    public var description: String { "\(path): HDF5 \(operation) failed" + (reason.map { " (\($0))" } ?? "") }

    /// The OS error HDF5's last failed call left in `errno`, if it is one a user can act on.
    static func systemReason() -> String? {
        let code = errno
        guard [ENOSPC, EDQUOT, EROFS, EACCES, EPERM, EIO, EFBIG, ENOENT].contains(code) else { return nil }
        return String(cString: strerror(code))
    }
}

/// A thin owner of an HDF5 file handle: float32 datasets (optionally chunked and
/// compressed) and scalar string / float64 attributes on the root group. The C macros
/// Swift cannot import (H5T_NATIVE_FLOAT, H5P_DEFAULT, H5F_ACC_*) come from the CHDF5 shim.
public final class HDF5File {
    public let path: String
    let id: hid_t

    private init(path: String, id: hid_t) { self.path = path; self.id = id }

    /// Creates (truncating) a file. Write to a temporary path and rename when complete.
    public static func create(_ path: String) throws -> HDF5File {
        HDF5File.silenceErrorStack()
        errno = 0
        let id = H5Fcreate(path, chdf5_acc_trunc(), chdf5_p_default(), chdf5_p_default())
        guard id >= 0 else { throw HDF5Error(path: path, operation: "create", reason: HDF5Error.systemReason()) }
        return HDF5File(path: path, id: id)
    }

    public static func open(_ path: String, writable: Bool = false) throws -> HDF5File {
        HDF5File.silenceErrorStack()
        guard FileManager.default.fileExists(atPath: path) else { throw HDF5Error(path: path, operation: "open (no such file)") }
        let id = H5Fopen(path, writable ? chdf5_acc_rdwr() : chdf5_acc_rdonly(), chdf5_p_default())
        guard id >= 0 else { throw HDF5Error(path: path, operation: "open (not an HDF5 file?)") }
        return HDF5File(path: path, id: id)
    }

    deinit { H5Fclose(id) }

    /// HDF5 prints its error stack to stderr by default; errors here become Swift errors. The
    /// setting is per thread in a thread-safe libhdf5, so every entry point calls this (a
    /// dataset's writer runs on its own queue). The first call also stops HDF5 from closing
    /// files at process exit: after a failed write (disk full) that close tries to flush again
    /// and crashes inside libhdf5 (1.10), where the error has already been reported.
    static func silenceErrorStack() {
        _ = Self.noExitHandler
        H5Eset_auto2(hid_t(0), nil, nil)
    }
    private static let noExitHandler: Void = { H5dont_atexit() }()

    /// Writes a row-major float32 dataset. `chunkRows` chunks by rows; `deflate` (0-9)
    /// compresses with shuffle + gzip; `checksum` adds HDF5's Fletcher-32 filter, which the
    /// library verifies on every read (a damaged chunk fails to read instead of loading wrong
    /// numbers; h5py verifies it too).
    public func writeFloats(_ name: String, _ values: [Float], shape: [Int], chunkRows: Int? = nil, deflate: Int? = nil,
                            checksum: Bool = false) throws {
        precondition(shape.reduce(1, *) == values.count, "HDF5 \(name): \(values.count) values for shape \(shape)")
        let rows = chunkRows ?? (checksum ? shape.first : nil)
        let chunk = rows.flatMap { rows in shape.isEmpty || values.isEmpty ? nil : [rows] + shape.dropFirst() }
        let dataset = try makeFloatDataset(name, shape: shape, chunk: chunk, deflate: deflate, checksum: checksum)
        defer { H5Dclose(dataset) }
        errno = 0
        let status = values.withUnsafeBufferPointer { H5Dwrite(dataset, chdf5_native_float(), hid_t(0), hid_t(0), chdf5_p_default(), $0.baseAddress) }
        guard status >= 0 else { throw HDF5Error(path: path, operation: "write \(name)", reason: HDF5Error.systemReason()) }
    }

    /// Creates a float32 dataset (contiguous, or chunked with each chunk dimension clamped to
    /// [1, extent] and optional shuffle + deflate), making parent groups on the way
    /// ("/features/logmel"). The caller closes the returned handle.
    private func makeFloatDataset(_ name: String, shape: [Int], chunk: [Int]?, deflate: Int?, checksum: Bool = false) throws -> hid_t {
        try makeFloatDataset(name, shape: shape) { _, plist in
            guard let chunk else { return }
            var c = zip(chunk, shape).map { hsize_t(max(1, min($0, $1))) }
            H5Pset_chunk(plist, Int32(c.count), &c)
            if let deflate { H5Pset_shuffle(plist); H5Pset_deflate(plist, UInt32(deflate)) }
            if checksum { H5Pset_fletcher32(plist) }
        }
    }

    /// A float32 dataset of `shape`: `configure` fills in its creation properties (given the
    /// dataspace too), parent groups are made on the way. The caller closes the returned handle.
    private func makeFloatDataset(_ name: String, shape: [Int], configure: (_ space: hid_t, _ plist: hid_t) throws -> Void) throws -> hid_t {
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, nil)
        guard space >= 0 else { throw HDF5Error(path: path, operation: "dataspace for \(name)") }
        defer { H5Sclose(space) }
        let plist = H5Pcreate(chdf5_p_dataset_create())
        defer { H5Pclose(plist) }
        try configure(space, plist)
        let lcpl = H5Pcreate(chdf5_p_link_create())
        defer { H5Pclose(lcpl) }
        H5Pset_create_intermediate_group(lcpl, 1)
        let dataset = H5Dcreate2(id, name, chdf5_native_float(), space, lcpl, plist, chdf5_p_default())
        guard dataset >= 0 else { throw HDF5Error(path: path, operation: "create dataset \(name)") }
        return dataset
    }

    /// Most elements one dataset may hold when read whole (4 GiB of float32): a file that
    /// claims more is refused before anything is allocated.
    public static let maximumElements = 1 << 30

    /// Reads a whole float32 dataset and its shape (any numeric type converted; a string or
    /// compound dataset, or one larger than `maximumElements`, is an error).
    public func readFloats(_ name: String) throws -> (values: [Float], shape: [Int]) {
        try withDataset(name) { dataset, space in
            let shape = try extent(space, of: name)
            var elements = 1
            for d in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, product <= Self.maximumElements else {
                    throw HDF5Error(path: path, operation: "read \(name): its shape \(shape) is larger than SynthMatch reads")
                }
                elements = product
            }
            try requireNumeric(H5Dget_type(dataset), name)
            var values = [Float](repeating: 0, count: elements)
            let status = values.withUnsafeMutableBufferPointer { H5Dread(dataset, chdf5_native_float(), hid_t(0), hid_t(0), chdf5_p_default(), $0.baseAddress) }
            guard status >= 0 else { throw HDF5Error(path: path, operation: "read \(name)") }
            return (values, shape)
        }
    }

    /// Opens dataset `name` and its dataspace for the duration of `body`.
    private func withDataset<R>(_ name: String, _ body: (_ dataset: hid_t, _ space: hid_t) throws -> R) throws -> R {
        Self.silenceErrorStack()
        let dataset = H5Dopen2(id, name, chdf5_p_default())
        guard dataset >= 0 else { throw HDF5Error(path: path, operation: "open dataset \(name)") }
        defer { H5Dclose(dataset) }
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        return try body(dataset, space)
    }

    /// The dimensions of a simple dataspace (an error for anything else, or extents that do
    /// not fit an `Int`).
    private func extent(_ space: hid_t, of name: String) throws -> [Int] {
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard (0...32).contains(rank) else { throw HDF5Error(path: path, operation: "read the shape of \(name)") }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0, dims.prefix(rank).allSatisfy({ $0 <= hsize_t(1) << 48 }) else {
            throw HDF5Error(path: path, operation: "read the shape of \(name)")
        }
        return dims.prefix(rank).map { Int($0) }
    }

    /// Throws unless `type` (a handle this closes) is an integer or floating-point type.
    private func requireNumeric(_ type: hid_t, _ name: String) throws {
        guard type >= 0 else { throw HDF5Error(path: path, operation: "read the type of \(name)") }
        defer { H5Tclose(type) }
        let kind = H5Tget_class(type)
        guard kind == H5T_INTEGER || kind == H5T_FLOAT else { throw HDF5Error(path: path, operation: "read \(name): it is not numeric") }
    }

    /// Opens root attribute `name` for `body` (attribute, stored type), which is only called when
    /// the attribute holds exactly one element of a class in `kinds` (reading more into one value
    /// would overrun it).
    private func withScalarAttribute<R>(_ name: String, _ kinds: [H5T_class_t], _ body: (_ attribute: hid_t, _ type: hid_t) throws -> R) throws -> R {
        Self.silenceErrorStack()
        guard H5Aexists(id, name) > 0 else { throw HDF5Error(path: path, operation: "read attribute \(name) (missing)") }
        let attribute = H5Aopen(id, name, chdf5_p_default())
        guard attribute >= 0 else { throw HDF5Error(path: path, operation: "open attribute \(name)") }
        defer { H5Aclose(attribute) }
        let space = H5Aget_space(attribute)
        guard space >= 0 else { throw HDF5Error(path: path, operation: "read attribute \(name)") }
        defer { H5Sclose(space) }
        let type = H5Aget_type(attribute)
        guard type >= 0 else { throw HDF5Error(path: path, operation: "read attribute \(name)") }
        defer { H5Tclose(type) }
        guard H5Sget_simple_extent_npoints(space) == 1, kinds.contains(H5Tget_class(type)) else {
            throw HDF5Error(path: path, operation: "read attribute \(name) (not a single \(kinds.contains(H5T_STRING) ? "string" : "number"))")
        }
        return try body(attribute, type)
    }

    /// A scalar UTF-8 string attribute on the root group, variable length (h5py reads it
    /// as `str`, not `bytes`).
    public func setAttribute(_ name: String, _ value: String) throws {
        let type = H5Tcopy(chdf5_c_s1())
        defer { H5Tclose(type) }
        H5Tset_size(type, chdf5_variable())
        H5Tset_cset(type, H5T_CSET_UTF8)
        try withNewAttribute(name, type: type) { attribute in
            value.withCString { c -> herr_t in
                var pointer: UnsafePointer<CChar>? = c
                return H5Awrite(attribute, type, &pointer)
            }
        }
    }

    public func stringAttribute(_ name: String) throws -> String {
        try withScalarAttribute(name, [H5T_STRING]) { attribute, stored in try readString(attribute, stored, name) }
    }

    private func readString(_ attribute: hid_t, _ stored: hid_t, _ name: String) throws -> String {
        // A fixed-length string (numpy bytes, as h5py stores them) is read into its own size.
        if H5Tis_variable_str(stored) == 0 {
            let size = H5Tget_size(stored)
            guard size > 0, size <= 1 << 24 else { throw HDF5Error(path: path, operation: "read attribute \(name) (string of \(size) bytes)") }
            var bytes = [UInt8](repeating: 0, count: size + 1)
            guard H5Aread(attribute, stored, &bytes) >= 0 else { throw HDF5Error(path: path, operation: "read attribute \(name)") }
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        let type = H5Tcopy(chdf5_c_s1())
        defer { H5Tclose(type) }
        H5Tset_size(type, chdf5_variable())
        H5Tset_cset(type, H5T_CSET_UTF8)
        var pointer: UnsafeMutablePointer<CChar>?
        guard H5Aread(attribute, type, &pointer) >= 0, let pointer else {
            throw HDF5Error(path: path, operation: "read attribute \(name) (not a string?)")
        }
        defer { H5free_memory(pointer) }
        return String(cString: pointer)
    }

    /// Creates an empty float32 dataset of `shape`, chunked by `chunk` (one example per chunk
    /// for row access), optionally shuffle + deflate compressed; rows are written later.
    public func createFloatDataset(_ name: String, shape: [Int], chunk: [Int], deflate: Int? = nil) throws {
        precondition(shape.count == chunk.count && !shape.isEmpty, "HDF5 \(name): chunk rank must match the shape")
        H5Dclose(try makeFloatDataset(name, shape: shape, chunk: shape[0] > 0 ? chunk : nil, deflate: deflate))
    }

    /// One source of a virtual dataset: the whole of `dataset` in `file` becomes rows
    /// `start ..< start + rows`. A relative `file` is found from the virtual file's folder.
    public struct VirtualSource: Sendable {
        public let file: String, dataset: String, start: Int, rows: Int
        public init(file: String, dataset: String, start: Int, rows: Int) {
            self.file = file; self.dataset = dataset; self.start = start; self.rows = rows
        }
    }

    /// Creates an HDF5 virtual dataset (VDS, HDF5 1.10+) of `shape` assembled from `sources`
    /// without copying a byte: reads through it (h5py's included) see one array.
    public func createVirtualFloatDataset(_ name: String, shape: [Int], sources: [VirtualSource]) throws {
        let rowShape = shape.dropFirst().map { hsize_t($0) }
        let dataset = try makeFloatDataset(name, shape: shape) { space, plist in
            for source in sources {
                var sourceDims = [hsize_t(source.rows)] + rowShape
                let sourceSpace = H5Screate_simple(Int32(sourceDims.count), &sourceDims, nil)
                defer { H5Sclose(sourceSpace) }
                var start = [hsize_t(source.start)] + rowShape.map { _ in 0 }
                guard sourceSpace >= 0, H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nil, &sourceDims, nil) >= 0,
                      H5Pset_virtual(plist, space, source.file, source.dataset, sourceSpace) >= 0 else {
                    throw HDF5Error(path: path, operation: "map rows \(source.start)..<\(source.start + source.rows) of \(name) to \(source.file)")
                }
            }
        }
        H5Dclose(dataset)
    }

    /// The source files a virtual dataset reads, as stored (empty for an ordinary dataset).
    public func virtualSourceFiles(_ name: String) throws -> [String] {
        try withDataset(name) { dataset, _ in
            let plist = H5Dget_create_plist(dataset)
            guard plist >= 0 else { throw HDF5Error(path: path, operation: "creation properties of \(name)") }
            defer { H5Pclose(plist) }
            guard H5Pget_layout(plist) == H5D_VIRTUAL else { return [] }
            var count: Int = 0
            guard H5Pget_virtual_count(plist, &count) >= 0 else { throw HDF5Error(path: path, operation: "virtual sources of \(name)") }
            return (0..<count).map { i in
                let length = H5Pget_virtual_filename(plist, i, nil, 0)
                guard length >= 0 else { return "" }
                var buffer = [CChar](repeating: 0, count: Int(length) + 1)
                _ = H5Pget_virtual_filename(plist, i, &buffer, buffer.count)
                return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
    }

    /// Writes `count` consecutive rows from `start` of a dataset made by `createFloatDataset`.
    public func writeRows(_ name: String, start: Int, count: Int, _ values: UnsafeBufferPointer<Float>) throws {
        try withRows(name, start: start, count: count, expected: values.count) { dataset, memory, file in
            H5Dwrite(dataset, chdf5_native_float(), memory, file, chdf5_p_default(), values.baseAddress)
        }
    }

    /// Reads `count` consecutive rows from `start` (row-major).
    public func readRows(_ name: String, start: Int, count: Int) throws -> [Float] {
        let shape = try self.shape(name)
        let rowSize = shape.dropFirst().reduce(1, *)
        guard count >= 0, rowSize > 0, count <= Self.maximumElements / rowSize else {
            throw HDF5Error(path: path, operation: "read \(count) rows of \(name) (rows of \(rowSize) values)")
        }
        var values = [Float](repeating: 0, count: count * rowSize)
        try values.withUnsafeMutableBufferPointer { buffer in
            try withRows(name, start: start, count: count, expected: buffer.count) { dataset, memory, file in
                H5Dread(dataset, chdf5_native_float(), memory, file, chdf5_p_default(), buffer.baseAddress)
            }
        }
        return values
    }

    /// The shape of a dataset (throws if it does not exist).
    public func shape(_ name: String) throws -> [Int] {
        try withDataset(name) { _, space in try extent(space, of: name) }
    }

    public func contains(_ name: String) -> Bool { H5Lexists(id, name, chdf5_p_default()) > 0 }

    public func hasAttribute(_ name: String) -> Bool { H5Aexists(id, name) > 0 }

    /// Whether dataset `name` carries the Fletcher-32 checksum filter.
    public func hasChecksum(_ name: String) throws -> Bool {
        try withDataset(name) { dataset, _ in
            let plist = H5Dget_create_plist(dataset)
            guard plist >= 0 else { throw HDF5Error(path: path, operation: "read the filters of \(name)") }
            defer { H5Pclose(plist) }
            let count = H5Pget_nfilters(plist)
            for i in 0..<max(count, 0) {
                var flags: UInt32 = 0, elements = 0, values = [UInt32](repeating: 0, count: 8), nameBuffer = [CChar](repeating: 0, count: 64), config: UInt32 = 0
                if H5Pget_filter2(plist, UInt32(i), &flags, &elements, &values, 64, &nameBuffer, &config) == H5Z_FILTER_FLETCHER32 { return true }
            }
            return false
        }
    }

    /// Flushes buffered data to disk (before a rename makes the file visible).
    public func flush() throws {
        Self.silenceErrorStack()
        errno = 0
        guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else { throw HDF5Error(path: path, operation: "flush", reason: HDF5Error.systemReason()) }
    }

    private func withRows(_ name: String, start: Int, count: Int, expected: Int,
                          _ body: (hid_t, hid_t, hid_t) -> herr_t) throws {
        try withDataset(name) { dataset, fileSpace in
            try requireNumeric(H5Dget_type(dataset), name)
            var dims = try extent(fileSpace, of: name).map { hsize_t($0) }
            guard start >= 0, count >= 0, !dims.isEmpty, start + count <= Int(dims[0]) else {
                throw HDF5Error(path: path, operation: "rows \(start)..<\(start + count) of \(name) (it has \(dims.first ?? 0))")
            }
            var offset = [hsize_t](repeating: 0, count: dims.count)
            offset[0] = hsize_t(start); dims[0] = hsize_t(count)
            guard dims.reduce(1, *) == hsize_t(expected) else { throw HDF5Error(path: path, operation: "rows of \(name): a buffer of \(expected) values for \(count) rows") }
            H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &offset, nil, &dims, nil)
            let memory = H5Screate_simple(Int32(dims.count), &dims, nil)
            defer { H5Sclose(memory) }
            errno = 0
            guard body(dataset, memory, fileSpace) >= 0 else {
                throw HDF5Error(path: path, operation: "rows \(start)..<\(start + count) of \(name)", reason: HDF5Error.systemReason())
            }
        }
    }

    /// A scalar float64 attribute on the root group.
    public func setAttribute(_ name: String, _ value: Double) throws { try writeScalar(name, value, type: chdf5_native_double()) }

    /// A scalar int64 attribute on the root group.
    public func setAttribute(_ name: String, _ value: Int64) throws { try writeScalar(name, value, type: chdf5_native_int64()) }

    public func doubleAttribute(_ name: String) throws -> Double { try readScalar(name, 0.0, type: chdf5_native_double()) }

    public func intAttribute(_ name: String) throws -> Int64 { try readScalar(name, Int64(0), type: chdf5_native_int64()) }

    /// One numeric scalar attribute (replacing any of the same name).
    private func writeScalar<V: BitwiseCopyable>(_ name: String, _ value: V, type: hid_t) throws {
        var v = value
        try withNewAttribute(name, type: type) { H5Awrite($0, type, &v) }
    }

    /// Creates a scalar attribute `name` of `type` on the root group (replacing any of that
    /// name) and writes it with `write`, which returns the HDF5 status.
    private func withNewAttribute(_ name: String, type: hid_t, _ write: (hid_t) -> herr_t) throws {
        Self.silenceErrorStack()
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        if H5Aexists(id, name) > 0 { H5Adelete(id, name) }
        let attribute = H5Acreate2(id, name, type, space, chdf5_p_default(), chdf5_p_default())
        guard attribute >= 0 else { throw HDF5Error(path: path, operation: "create attribute \(name)") }
        defer { H5Aclose(attribute) }
        errno = 0
        guard write(attribute) >= 0 else { throw HDF5Error(path: path, operation: "write attribute \(name)", reason: HDF5Error.systemReason()) }
    }

    private func readScalar<V: BitwiseCopyable>(_ name: String, _ initial: V, type: hid_t) throws -> V {
        try withScalarAttribute(name, [H5T_INTEGER, H5T_FLOAT]) { attribute, _ in
            var v = initial
            guard H5Aread(attribute, type, &v) >= 0 else { throw HDF5Error(path: path, operation: "read attribute \(name)") }
            return v
        }
    }
}
