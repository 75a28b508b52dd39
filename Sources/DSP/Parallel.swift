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

    /// Runs `body(i)` for `i` in 0..<count over at most `threadCount` workers. Workers take
    /// the next index from a shared counter, so items of unequal cost (a low note renders 8x
    /// the harmonics of a high one) do not leave a core idle; which worker runs an item never
    /// changes its result.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let workers = min(threadCount, count)
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let run = body
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard i < count else { return }
                    run(i)
                }
            }
        }
    }
}

/// A raw pointer that may cross into worker threads; each worker touches its own rows.
public struct SendablePointer<T>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<T>
    public init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

#if canImport(Glibc)
import Glibc
enum ProcessInfoShim { static var activeProcessorCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) } }
#else
import Foundation
enum ProcessInfoShim { static var activeProcessorCount: Int { ProcessInfo.processInfo.activeProcessorCount } }
#endif
