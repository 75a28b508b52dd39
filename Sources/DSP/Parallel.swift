import Dispatch
import Synchronization

/// How many worker threads batch loops use. Results never depend on it: work is split
/// by batch item and every item is computed by exactly one worker.
public enum Parallelism {
    private static let storage = Atomic<Int>(0)

    /// Thread count for batch loops; 0 (the default) means all cores.
    public static var threadCount: Int {
        get { let n = storage.load(ordering: .relaxed); return n > 0 ? n : activeProcessorCount }
        set { storage.store(max(0, newValue), ordering: .relaxed) }
    }

    public static var activeProcessorCount: Int { ProcessInfoShim.activeProcessorCount }

    /// Runs `body(i)` for `i` in 0..<count over at most `threadCount` workers, each
    /// worker taking a contiguous block of indices.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let workers = min(threadCount, count)
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let run = body
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let lo = w * count / workers, hi = (w + 1) * count / workers
                for i in lo..<hi { run(i) }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
enum ProcessInfoShim { static var activeProcessorCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) } }
#else
import Foundation
enum ProcessInfoShim { static var activeProcessorCount: Int { ProcessInfo.processInfo.activeProcessorCount } }
#endif
