import Foundation
import Synths

/// A DX7 .syx file a user named, read for the CLI and the dataset generator alike: only a regular
/// file of at most 64 KiB is opened (a bank is 4104 bytes; a FIFO would block, a device never
/// end), then decoded and checked by `DX7Sysex` (errors name the file by its last component).
public enum SysexFile {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func read(_ path: String, repair: ((String) -> Void)? = nil) throws -> [DX7Patch] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw Failure(description: "\(path): no such file") }
        guard !isFolder.boolValue else { throw Failure(description: "\(path) is a folder, not a .syx file") }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard attributes?[.type] as? FileAttributeType == .typeRegular else { throw Failure(description: "\(path) is not a regular file") }
        guard let size = attributes?[.size] as? Int, size <= 65536 else {
            throw Failure(description: "\(path) is larger than 64 KiB: not a DX7 voice (163 bytes) or bank (4104 bytes)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Failure(description: "\(path): cannot be read (permissions?)") }
        defer { try? handle.close() }
        let data = [UInt8]((try? handle.readToEnd()) ?? Data())
        return try DX7Sysex.decode(data, context: (path as NSString).lastPathComponent, repair: repair)
    }
}
