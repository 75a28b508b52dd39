import DSP
import Foundation

/// Joins shards written by separate processes (`--shard i/n`) into one dataset by copying
/// rows in index order; the shards must come from one command (same synth, seed, count and
/// settings) and together cover a contiguous range of indices.
public enum DatasetMerger {
    /// The shards in index order, after checking they come from one command and join.
    static func checked(_ shards: [String]) throws -> [DatasetInfo] {
        let infos = try shards.map { try DatasetInfo(path: $0) }.sorted { $0.firstIndex < $1.firstIndex }
        let first = infos[0]
        for i in infos {
            guard i.hasSplit == first.hasSplit else {
                throw DatasetError.invalid("\(i.path) and \(first.path) differ in holding /split (made by different SynthMatch versions): regenerate the older one")
            }
            guard i.synth == first.synth, i.seed == first.seed, i.countTotal == first.countTotal, i.sampleRate == first.sampleRate,
                  i.duration == first.duration, i.sampling == first.sampling, i.sampleCount == first.sampleCount,
                  i.parameterCount == first.parameterCount, i.hasLogMel == first.hasLogMel,
                  i.attributes["parameters"] == first.attributes["parameters"], i.attributes["note_range"] == first.attributes["note_range"] else {
                throw DatasetError.invalid("\(i.path) was not made by the same command as \(first.path)")
            }
        }
        var seen = Set<String>()
        for i in infos where !seen.insert(URL(fileURLWithPath: i.path).standardizedFileURL.resolvingSymlinksInPath().path).inserted {
            throw DatasetError.invalid("\(i.path) is given twice")
        }
        for (a, b) in zip(infos, infos.dropFirst()) where a.firstIndex + a.count != b.firstIndex {
            throw DatasetError.invalid("shards do not join: \(a.path) ends at \(a.firstIndex + a.count), \(b.path) starts at \(b.firstIndex)")
        }
        return infos
    }

    /// The datasets every shard holds.
    static func names(_ first: DatasetInfo) -> [String] {
        ["audio", "params", "params_physical"] + (first.hasLogMel ? ["features/logmel"] : []) + (first.hasSplit ? ["split"] : [])
    }

    /// The root attributes of a merged file, from the first shard.
    static func copyAttributes(from source: HDF5File, first: DatasetInfo, to file: HDF5File) throws {
        for key in ["synth", "parameters", "sampling", "note_range", "synthmatch_version", "command_line"] {
            try file.setAttribute(key, try source.stringAttribute(key))
        }
        for key in ["sample_rate", "duration", "frame_rate"] { try file.setAttribute(key, try source.doubleAttribute(key)) }
        for key in ["seed", "count_total"] { try file.setAttribute(key, try source.intAttribute(key)) }
        try file.setAttribute("first_index", Int64(first.firstIndex))
    }

    /// Copies every row into one new file (for moving data: the shards can go afterwards).
    public static func merge(_ shards: [String], into out: String) throws -> DatasetInfo {
        let infos = try checked(shards)
        let first = infos[0]
        let total = infos.reduce(0) { $0 + $1.count }
        let source = try HDF5File.open(first.path)
        let names = Self.names(first)
        try AtomicFile.write(to: out) { temporary in
            let file = try HDF5File.create(temporary)
            try copyAttributes(from: source, first: first, to: file)
            if first.hasSplit { try file.setAttribute("split_codes", try source.stringAttribute("split_codes")) }
            for name in names {
                let shape = try source.shape(name)
                try file.createFloatDataset(name, shape: [total] + shape.dropFirst(), chunk: [name == "audio" || name.hasPrefix("features") ? 1 : Swift.min(total, 1024)] + shape.dropFirst())
            }
            var row = 0
            for info in infos {
                let shard = try HDF5File.open(info.path)
                var done = 0
                while done < info.count {
                    let m = Swift.min(256, info.count - done)
                    for name in names {
                        let values = try shard.readRows(name, start: done, count: m)
                        try values.withUnsafeBufferPointer { try file.writeRows(name, start: row + done, count: m, $0) }
                    }
                    done += m
                }
                row += info.count
            }
            try file.setAttribute("complete", Int64(1))
            try file.flush()
        }
        return try DatasetInfo(path: out)
    }

    /// Writes an HDF5 virtual dataset over the shards: no row is copied (the file is a few
    /// kilobytes), h5py and `DatasetReader` read it as one array, and the shards must stay
    /// where they are relative to it (they are referred to by paths relative to its folder,
    /// so the folder can move as a whole). Opening it checks every shard is still there.
    public static func mergeVirtual(_ shards: [String], into out: String) throws -> DatasetInfo {
        let infos = try checked(shards)
        let first = infos[0]
        let total = infos.reduce(0) { $0 + $1.count }
        let source = try HDF5File.open(first.path)
        let folder = URL(fileURLWithPath: out).deletingLastPathComponent()
        try AtomicFile.write(to: out) { temporary in
            let file = try HDF5File.create(temporary)
            try copyAttributes(from: source, first: first, to: file)
            if first.hasSplit { try file.setAttribute("split_codes", try source.stringAttribute("split_codes")) }
            for name in names(first) {
                let shape = try source.shape(name)
                var row = 0
                let sources = infos.map { info -> HDF5File.VirtualSource in
                    defer { row += info.count }
                    return HDF5File.VirtualSource(file: relativePath(of: info.path, from: folder), dataset: name, start: row, rows: info.count)
                }
                try file.createVirtualFloatDataset(name, shape: [total] + shape.dropFirst(), sources: sources)
            }
            try file.setAttribute("virtual", Int64(1))
            try file.setAttribute("complete", Int64(1))
            try file.flush()
        }
        return try DatasetInfo(path: out)
    }

    /// `path` relative to `folder` (both made absolute and symlink-free first).
    static func relativePath(of path: String, from folder: URL) -> String {
        let target = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().pathComponents
        let base = folder.standardizedFileURL.resolvingSymlinksInPath().pathComponents
        var common = 0
        while common < min(target.count - 1, base.count), target[common] == base[common] { common += 1 }
        let ups = [String](repeating: "..", count: base.count - common)
        return (ups + target[common...]).joined(separator: "/")
    }
}

/// Reads a dataset for training without loading it: random access by row, deterministic
/// train / validation / test splits, and shuffled mini-batches.
///
/// An example's split is a pure function of its global index (a hash against the split
/// fractions), so it does not change when the file is sharded, merged or grown.
public final class DatasetReader {
    public enum Split: String, Sendable, CaseIterable { case train, validation, test }

    public let info: DatasetInfo
    let file: HDF5File
    /// Fractions of (train, validation); the rest is test.
    public let fractions: (train: Double, validation: Double)

    public init(path: String, fractions: (train: Double, validation: Double) = (0.8, 0.1)) throws {
        precondition(fractions.train >= 0 && fractions.validation >= 0 && fractions.train + fractions.validation <= 1, "reader: bad split fractions")
        info = try DatasetInfo(path: path)
        file = try HDF5File.open(path)
        self.fractions = fractions
    }

    /// The split of the example at global index `index`.
    public func split(ofIndex index: Int) -> Split { Self.split(ofIndex: index, fractions: fractions) }

    /// The rule: a uniform draw from the counter-based generator at (0x59117D11, index) against
    /// the fractions. Generated files also store it, as `/split` (0 train, 1 validation, 2 test,
    /// for the default fractions), so Python reads the same split without this code.
    public static func split(ofIndex index: Int, fractions: (train: Double, validation: Double) = (0.8, 0.1)) -> Split {
        var rng = CounterRandom(seed: 0x5911_7D11, index: UInt64(index))
        let u = rng.unit()
        return u < fractions.train ? .train : (u < fractions.train + fractions.validation ? .validation : .test)
    }

    /// `/split`'s value for each split.
    public static func code(_ split: Split) -> Float {
        switch split { case .train: 0; case .validation: 1; case .test: 2 }
    }

    /// Rows (0-based within this file) of a split, in file order.
    public func rows(_ split: Split) -> [Int] {
        (0..<info.count).filter { self.split(ofIndex: info.firstIndex + $0) == split }
    }

    /// One example by row: normalised parameters and audio. `checked: false` reads the bytes
    /// without judging the values (the HDF5 probe tests the file's structure, not its content).
    public func example(_ row: Int, checked: Bool = true) throws -> (params: [Float], audio: [Float]) {
        let example = (try file.readRows("params", start: row, count: 1), try file.readRows("audio", start: row, count: 1))
        if checked { try check(row, example.0, example.1) }
        return example
    }

    /// Values SynthMatch never writes (a damaged or edited file): named with the example, so
    /// the error is not mistaken for a training problem.
    func check(_ row: Int, _ params: [Float], _ audio: [Float]) throws {
        if let bad = params.first(where: { !($0 >= 0 && $0 <= 1) }) {
            throw DatasetError.invalid("\(info.path): example \(info.firstIndex + row) has a normalised parameter \(bad) outside 0...1 (a damaged file?)")
        }
        if let i = audio.firstIndex(where: { !$0.isFinite }) {
            throw DatasetError.invalid("\(info.path): example \(info.firstIndex + row) has a non-finite audio sample (\(audio[i]) at \(i); a damaged file?)")
        }
    }

    /// The split's rows shuffled for `epoch` (a pure function of seed and epoch), cut into
    /// batches; each batch is read row by row (chunks are one example, so this touches only
    /// the batch's chunks).
    public func batches(_ split: Split, batchSize: Int, epoch: Int, seed: UInt64 = 0, dropLast: Bool = false) -> [[Int]] {
        precondition(batchSize >= 1, "reader: batch size must be >= 1")
        var order = rows(split)
        var rng = CounterRandom(seed: seed, index: UInt64(epoch), stream: 2)
        if order.count > 1 {
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        var out: [[Int]] = []
        var i = 0
        while i < order.count {
            let batch = Array(order[i..<Swift.min(i + batchSize, order.count)])
            if batch.count == batchSize || !dropLast { out.append(batch) }
            i += batchSize
        }
        return out
    }

    /// Reads a batch: parameters [B x P] and audio [B x N], row-major.
    public func read(_ rows: [Int]) throws -> (params: [Float], audio: [Float]) {
        var params = [Float](), audio = [Float]()
        params.reserveCapacity(rows.count * info.parameterCount)
        audio.reserveCapacity(rows.count * info.sampleCount)
        for r in rows {
            let (p, a) = try example(r)
            params += p
            audio += a
        }
        return (params, audio)
    }
}
