import Foundation

/// Which part of a sharded job this process does: `--shard i/n`, or `--shard auto` inside a
/// SLURM job array, one array task per shard (issue 18).
///
/// Under `sbatch --array=A-B[:S]` SLURM gives every task `SLURM_ARRAY_TASK_ID` and the array's
/// `SLURM_ARRAY_TASK_MIN`, `SLURM_ARRAY_TASK_MAX`, `SLURM_ARRAY_TASK_STEP` and
/// `SLURM_ARRAY_TASK_COUNT`; shard i is the task's position in the array,
/// `(ID - MIN) / STEP`, of `COUNT` shards (from `MAX`, `MIN` and `STEP` when `COUNT` is absent,
/// as in SLURM before 20.11). An array `--array=1-4` is thus shards 0..3 of 4. Arrays with
/// holes (`--array=0,3,7`) or a `%` limit on concurrency keep those meanings.
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (0..<count).contains(index) else {
            throw ShardError("shard \(index) of \(count) does not exist: need 0 <= i < n")
        }
        self.index = index
        self.count = count
    }

    /// `i/n`, or `auto` (from SLURM's array variables in `environment`).
    public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard {
        if text == "auto" { return try fromSLURM(environment) }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw ShardError("--shard must be i/n (0 <= i < n), e.g. 0/4, or auto inside a SLURM job array; got '\(text)'")
        }
        return try Shard(index: i, count: n)
    }

    static func fromSLURM(_ environment: [String: String]) throws -> Shard {
        func number(_ name: String) throws -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw ShardError("--shard auto: \(name)='\(text)' is not a whole number")
            }
            return value
        }
        guard let id = try number("SLURM_ARRAY_TASK_ID") else {
            let hint = environment["SLURM_JOB_ID"] != nil
                ? "this SLURM job is not a job array (submit it with sbatch --array=0-N)"
                : "no SLURM job array here (SLURM_ARRAY_TASK_ID is unset); give --shard i/n"
            throw ShardError("--shard auto: \(hint)")
        }
        let minimum = try number("SLURM_ARRAY_TASK_MIN") ?? 0
        let step = try number("SLURM_ARRAY_TASK_STEP") ?? 1
        guard step >= 1 else { throw ShardError("--shard auto: SLURM_ARRAY_TASK_STEP=\(step) must be at least 1") }
        var count = try number("SLURM_ARRAY_TASK_COUNT")
        if count == nil, let maximum = try number("SLURM_ARRAY_TASK_MAX") { count = (maximum - minimum) / step + 1 }
        guard let count else {
            throw ShardError("--shard auto: SLURM set SLURM_ARRAY_TASK_ID but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX")
        }
        guard id >= minimum, (id - minimum) % step == 0 else {
            throw ShardError("--shard auto: task \(id) is not in the array \(minimum)..., step \(step)")
        }
        return try Shard(index: (id - minimum) / step, count: count)
    }

    /// This shard's part of `total` items: `i * total / n ..< (i + 1) * total / n` (every item
    /// in exactly one shard; sizes differ by at most one).
    public func range(of total: Int) -> Range<Int> {
        // k * total in full width: no overflow for any count of items.
        func bound(_ k: Int) -> Int { count.dividingFullWidth(k.multipliedFullWidth(by: total)).quotient }
        return bound(index)..<bound(index + 1)
    }

    public var description: String { "\(index)/\(count)" }
}

public struct ShardError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
