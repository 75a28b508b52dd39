import Foundation

/// A CSV file written atomically when `finish` is called, with its provenance beside it
/// (`Provenance`; off for files that are part of another output, such as a match folder).
public struct CSVWriter {
    let path: String
    private var lines: [String]
    public var provenance = true

    public init(path: String, header: [String]) {
        self.path = path
        lines = [header.joined(separator: ",")]
    }

    /// How a Double is written (9 significant digits). Code that summarises values it also
    /// writes rounds them the same way first (`rounded`), so a summary recomputed from the CSV
    /// (e.g. `evaluate-merge`) has the very same numbers.
    public static func field(_ d: Double) -> String { String(format: "%.9g", d) }
    public static func rounded(_ d: Double) -> Double { d.isFinite ? Double(field(d))! : d }

    public mutating func row(_ fields: [Any]) {
        lines.append(fields.map { field -> String in
            if let d = field as? Double { return Self.field(d) }
            if let f = field as? Float { return String(format: "%.7g", Double(f)) }
            return Self.quoted("\(field)")
        }.joined(separator: ","))
    }

    /// RFC 4180: a field holding a comma, quote or line break is quoted, quotes doubled
    /// (names such as "torch, wrapped phase" stay one field for every CSV reader).
    static func quoted(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The fields of one line as `row` writes it (RFC 4180: quoted fields, doubled quotes).
    public static func fields(_ line: some StringProtocol) -> [String] {
        var fields: [String] = [], current = "", quoted = false
        var characters = line.makeIterator(), pending: Character?
        while let ch = pending ?? characters.next() {
            pending = nil
            if quoted, ch == "\"" {
                // A doubled quote is one quote; a single one ends the quoted part.
                if let next = characters.next() {
                    if next == "\"" { current.append("\"") } else { quoted = false; pending = next }
                } else { quoted = false }
            } else if ch == "\"" {
                quoted = true
            } else if ch == ",", !quoted {
                fields.append(current); current = ""
            } else {
                current.append(ch)
            }
        }
        fields.append(current)
        return fields
    }

    /// Creates the folder if needed and writes the file atomically.
    public func finish() throws {
        let url = URL(fileURLWithPath: path)
        do { try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true) } catch {
            throw AtomicFileError(path: path, reason: Orphans.reason(error))
        }
        try AtomicFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: path)
        if provenance { try Provenance.write(for: path) }
    }
}

/// A one-line progress bar on standard error: `label [#####.....] 12/40 3.1/s ETA 8s`.
public struct ProgressBar {
    public let label: String
    public let total: Int
    let start = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64 = 0

    public init(_ label: String, total: Int) { self.label = label; self.total = total }

    public mutating func update(_ done: Int, note: String = "") {
        let now = DispatchTime.now().uptimeNanoseconds
        guard done == total || now - lastDraw > 200_000_000 else { return }
        lastDraw = now
        let elapsed = Double(now - start) / 1e9
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 24, filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        var line = "\r\(label) [\(bar)] \(done)/\(total) \(String(format: "%.1f", rate))/s ETA \(Int(eta.rounded()))s \(note)"
        if done == total { line += "\n" }
        FileHandle.standardError.write(line.data(using: .utf8)!)
    }
}
