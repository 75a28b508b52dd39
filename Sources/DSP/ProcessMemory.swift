#if canImport(Glibc)
import Glibc
#endif

/// Keeps freed buffers inside the process instead of returning them to the kernel.
///
/// A render's pullback and a loss allocate megabytes per call (a batch of 16 four-second
/// notes is 4 MB per signal buffer). glibc serves such blocks with `mmap` and unmaps them on
/// `free`, so every call page-faults its buffers in again, and with two threads the faults
/// contend on the address-space lock: the FM module's forward + backward gained 1.2x from a
/// second thread that way, 1.9x without it (`bench peers`, 410,000 minor faults per run
/// against 11,000). Raising the mmap threshold to its 32 MB ceiling and the trim threshold
/// keeps those blocks in the heap for reuse. The cost: resident memory stays at its peak
/// instead of shrinking between calls. Call once at start-up, before threads exist.
///
/// `mallopt` lives in `<malloc.h>`, which the Glibc module does not import, so it is looked up
/// by name; without glibc (or without the symbol) nothing changes.
public enum ProcessMemory {
    /// Returns whether glibc accepted both settings.
    @discardableResult
    public static func keepFreedBuffers() -> Bool {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let program = dlopen(nil, RTLD_NOW), let symbol = dlsym(program, "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3   // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
        return mallopt(mmapThreshold, 32 << 20) == 1 && mallopt(trimThreshold, Int32.max) == 1
        #else
        return false
        #endif
    }

    /// The process's peak resident memory so far (`getrusage`'s maximum resident set size:
    /// kilobytes on Linux), in bytes; nil where it is not available. Commands that can run
    /// large (train, dataset generate, match) report it when they finish.
    public static var peakResidentBytes: Int? {
        #if canImport(Glibc)
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return nil }
        return Int(usage.ru_maxrss) * 1024
        #else
        return nil
        #endif
    }

    /// "peak resident memory 123 MB", or nil.
    public static var peakResidentSummary: String? {
        peakResidentBytes.map { "peak resident memory \(($0 + 524_288) / 1_048_576) MB" }
    }
}
