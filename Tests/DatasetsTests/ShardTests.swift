import Datasets
import XCTest

final class ShardTests: XCTestCase {
    func testExplicitShardsAndTheirRanges() throws {
        XCTAssertEqual(try Shard.parse("2/4"), try Shard(index: 2, count: 4))
        for bad in ["4/4", "-1/4", "1/0", "1", "a/b", "1/2/3", "", "1/"] {
            XCTAssertThrowsError(try Shard.parse(bad, environment: [:]), bad) { error in
                XCTAssertTrue("\(error)".contains("i/n") || "\(error)".contains("does not exist"), "\(error)")
            }
        }
        // Every item in exactly one shard, sizes within one, for awkward totals.
        for (total, n) in [(10, 3), (7, 7), (3, 5), (1_000_003, 16), (Int.max / 2, 3)] {
            var next = 0
            for i in 0..<n {
                let r = try Shard(index: i, count: n).range(of: total)
                XCTAssertEqual(r.lowerBound, next)
                XCTAssertLessThanOrEqual(abs(r.count - total / n), 1)
                next = r.upperBound
            }
            XCTAssertEqual(next, total)
        }
    }

    /// `--shard auto` reads SLURM's array variables: the task's place in the array, of COUNT.
    func testAutoReadsTheSLURMArray() throws {
        XCTAssertEqual(try Shard.parse("auto", environment: ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "4"]),
                       try Shard(index: 3, count: 4))
        // --array=1-4: shards 0..3 of 4.
        XCTAssertEqual(try Shard.parse("auto", environment: ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"]),
                       try Shard(index: 0, count: 4))
        // --array=10-40:10 without COUNT (older SLURM): task 30 is shard 2 of 4.
        XCTAssertEqual(try Shard.parse("auto", environment: ["SLURM_ARRAY_TASK_ID": "30", "SLURM_ARRAY_TASK_MIN": "10",
                                                             "SLURM_ARRAY_TASK_MAX": "40", "SLURM_ARRAY_TASK_STEP": "10"]),
                       try Shard(index: 2, count: 4))
    }

    func testAutoOutsideAnArrayIsAClearError() {
        func message(_ environment: [String: String]) -> String {
            do { _ = try Shard.parse("auto", environment: environment); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message([:]).contains("SLURM_ARRAY_TASK_ID is unset"))
        XCTAssertTrue(message(["SLURM_JOB_ID": "12"]).contains("not a job array"))
        XCTAssertTrue(message(["SLURM_ARRAY_TASK_ID": "x"]).contains("not a whole number"))
        XCTAssertTrue(message(["SLURM_ARRAY_TASK_ID": "2"]).contains("neither SLURM_ARRAY_TASK_COUNT"))
        XCTAssertTrue(message(["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "4"]).contains("does not exist"))
        XCTAssertTrue(message(["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "4"]).contains("not in the array"))
    }
}
