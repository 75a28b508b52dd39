import ArgumentParser
import Datasets
import Foundation
import Matching

/// `OUT-summary.csv` of an evaluation: written by `evaluate` and, from the shards' per-target
/// rows, by `evaluate-merge`.
enum EvaluationSummary {
    /// Per method, the targets on which it had the lowest spectral loss (the estimate alone is
    /// not a contender; a tie goes to the method listed first).
    static func bestCounts(_ scores: [MatchMethod: [String: [Double]]], methods: [MatchMethod], targets: Int) -> [MatchMethod: Int] {
        var wins: [MatchMethod: Int] = [:]
        for i in 0..<targets {
            var best: (MatchMethod, Double)?
            for method in methods where method != .estimate {
                let spectral = scores[method]?["spectral"]?[i] ?? .nan
                if spectral < best?.1 ?? .infinity { best = (method, spectral) }
            }
            if let best { wins[best.0, default: 0] += 1 }
        }
        return wins
    }

    /// Per method: each column's mean with its 95% bootstrap interval over targets, the share of
    /// targets it scored best on, and its paired spectral difference to the matcher.
    /// `scores[method][column]` holds one value per target, in target order, for every method.
    static func write(out: String, scores: [MatchMethod: [String: [Double]]], methods: [MatchMethod],
                      targets: Int, columns: [String], budget: Double) throws {
        let wins = bestCounts(scores, methods: methods, targets: targets)
        var header = ["method", "targets", "budget_s", "best_spectral_count"]
        for c in columns { header += [c, c + "_low", c + "_high"] }
        header += ["spectral_minus_matcher", "spectral_minus_matcher_low", "spectral_minus_matcher_high", "matcher_better_count"]
        var summary = CSVWriter(path: out + "-summary.csv", header: header)
        print(String(format: "%-9@ %22@ %22@ %9@ %16@ %6@", "method", "spectral [95% CI]", "MCD dB [95% CI]", "right note", "envelope corr", "best"))
        let reference = scores[.matcher]?["spectral"]
        for method in methods {
            let m = scores[method] ?? [:]
            var row: [Any] = [method.rawValue, targets, budget, wins[method] ?? 0]
            var cells: [String: (Double, Double, Double)] = [:]
            for c in columns {
                let ci = Bootstrap.meanInterval(m[c] ?? [])
                cells[c] = ci
                row += [ci.mean, ci.low, ci.high].map { $0.isNaN ? "" as Any : $0 as Any }
            }
            if let reference, method != .matcher, let mine = m["spectral"], mine.count == reference.count {
                let difference = Bootstrap.meanInterval(zip(mine, reference).map { $0 - $1 })
                row += [difference.mean, difference.low, difference.high, zip(mine, reference).filter { $1 < $0 }.count]
            } else { row += ["", "", "", ""] }
            summary.row(row)
            func show(_ c: String, _ digits: Int) -> String {
                guard let (mean, low, high) = cells[c], mean.isFinite else { return "-" }
                return String(format: "%.\(digits)f [%.\(digits)f, %.\(digits)f]", mean, low, high)
            }
            print(String(format: "%-9@ %22@ %22@ %9@ %16@ %6d", method.rawValue, show("spectral", 3), show("mcd_db", 2),
                         show("right_note", 2), show("envelope_corr", 2), wins[method] ?? 0))
        }
        try summary.finish()
    }
}

/// `synthmatch evaluate-merge`: joins the outputs of `evaluate --shard` runs into the single run's.
struct EvaluateMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate-merge",
        abstract: "Join the outputs of `evaluate --shard i/n` runs (one per shard) into one evaluation.",
        discussion: """
            Each SHARD is the --out of one shard's run (its .csv, -summary.csv and, with --data, -parameters.csv).
            The shards must together hold every target index 0..<N once, with the same methods, columns and
            budget. Writes OUT.csv (rows in target order), OUT-parameters.csv when the shards have them, and
            OUT-summary.csv, recomputed from the rows: the same numbers a single run writes (values are
            summarised as written, to 9 digits, in both).
            Example: synthmatch evaluate-merge --out results/eval results/eval-part-0 results/eval-part-1
            """)

    @Option(help: "Output path without extension.") var out: String
    @Argument(help: "The shards' --out paths (a trailing .csv is ignored).") var shards: [String]

    struct ShardRows {
        let prefix: String
        let header: [String]
        let lines: [String]
        let rows: [(index: Int, method: String, values: [String])]
    }

    func validate() throws {
        guard !shards.isEmpty else { throw ValidationError("give the shards' --out paths") }
        guard !out.isEmpty else { throw ValidationError("--out must name a path") }
    }

    static func read(_ prefix: String) throws -> ShardRows {
        let path = prefix + ".csv"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CommandFailure("cannot read \(path)") }
        let lines = text.split(whereSeparator: \.isNewline)
        guard let first = lines.first else { throw CommandFailure("\(path) is empty") }
        let header = CSVWriter.fields(first)
        guard header.prefix(3) == ["target", "target_index", "method"] else {
            throw CommandFailure("\(path) is not an evaluation with target indices (from `evaluate --shard`, issue 18 or later)")
        }
        let rows = try lines.dropFirst().map { line -> (Int, String, [String]) in
            let f = CSVWriter.fields(line)
            guard f.count == header.count, let index = Int(f[1]), index >= 0 else { throw CommandFailure("\(path): malformed row '\(line)'") }
            return (index, f[2], f)
        }
        return ShardRows(prefix: prefix, header: header, lines: lines.dropFirst().map(String.init), rows: rows)
    }

    func run() throws {
        try AtomicFile.checkWritable(out + ".csv")
        let prefixes = shards.map { $0.hasSuffix(".csv") ? String($0.dropLast(4)) : $0 }
        // Shards in target order: each holds a contiguous range of indices.
        let parts = try prefixes.map(Self.read).sorted { ($0.rows.first?.index ?? .max) < ($1.rows.first?.index ?? .max) }
        let header = parts[0].header
        for p in parts where p.header != header { throw CommandFailure("\(p.prefix).csv has other columns than \(parts[0].prefix).csv") }
        var budget: Double?
        for p in parts {
            guard let text = try? String(contentsOfFile: p.prefix + "-summary.csv", encoding: .utf8) else { throw CommandFailure("cannot read \(p.prefix)-summary.csv") }
            let lines = text.split(whereSeparator: \.isNewline)
            guard lines.count >= 2, let column = CSVWriter.fields(lines[0]).firstIndex(of: "budget_s"),
                  let value = Double(CSVWriter.fields(lines[1])[column]) else { throw CommandFailure("\(p.prefix)-summary.csv has no budget") }
            if let budget, budget != value { throw CommandFailure("\(p.prefix) ran with a budget of \(value) s, another shard with \(budget) s") }
            budget = value
        }
        // Every target once, in order, each with the first target's methods in the same order.
        var byTarget: [Int: [(method: String, values: [String])]] = [:]
        var order: [Int] = []
        for p in parts {
            for r in p.rows {
                if byTarget[r.index] == nil { order.append(r.index) }
                byTarget[r.index, default: []].append((r.method, r.values))
            }
        }
        let expected = Array(0..<order.count)
        guard order == expected else {
            let missing = Set(expected).subtracting(order).sorted().prefix(10).map(String.init).joined(separator: ", ")
            throw CommandFailure(missing.isEmpty ? "target indices repeat or are out of order across the shards (a shard given twice?)"
                                                 : "targets missing from the shards: \(missing)\(order.count > 10 ? "..." : "")")
        }
        let methodNames = byTarget[0]!.map(\.method)
        let methods = try methodNames.map { name -> MatchMethod in
            guard let m = MatchMethod(rawValue: name) else { throw CommandFailure("unknown method '\(name)' in the shards") }
            return m
        }
        for (i, rows) in byTarget where rows.map(\.method) != methodNames {
            throw CommandFailure("target \(i) was scored with methods \(rows.map(\.method)), target 0 with \(methodNames)")
        }
        let columns = Array(header.dropFirst(6))
        guard columns.contains("spectral") else { throw CommandFailure("the shards have no spectral column") }
        var scores: [MatchMethod: [String: [Double]]] = [:]
        for i in expected {
            for (method, (_, values)) in zip(methods, byTarget[i]!) {
                let row = values.dropFirst(6).map { Double($0) ?? .nan }
                for (c, v) in zip(columns, row) { scores[method, default: [:]][c, default: []].append(v) }
            }
        }
        try AtomicFile.write(Data(([header.joined(separator: ",")] + parts.flatMap(\.lines)).joined(separator: "\n").appending("\n").utf8), to: out + ".csv")
        try Provenance.write(for: out + ".csv")
        let parameterFiles = parts.map { $0.prefix + "-parameters.csv" }
        if parameterFiles.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) {
            var lines: [String] = []
            for (k, file) in parameterFiles.enumerated() {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CommandFailure("cannot read \(file)") }
                let all = text.split(whereSeparator: \.isNewline).map(String.init)
                if k == 0 { lines.append(all.first ?? "") }
                lines += all.dropFirst()
            }
            try AtomicFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: out + "-parameters.csv")
        }
        try EvaluationSummary.write(out: out, scores: scores, methods: methods, targets: order.count, columns: columns, budget: budget!)
        print("wrote \(out).csv and \(out)-summary.csv from \(parts.count) shard\(parts.count == 1 ? "" : "s"), \(order.count) targets")
    }
}
