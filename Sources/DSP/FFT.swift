import CFFTW
import Synchronization

/// A real-input FFT of one size, backed by an FFTW plan made once per (size, direction,
/// precision) and shared by every thread.
///
/// FFTW's planner is not thread-safe but plan execution is: plans are made under a lock and
/// run with the new-array execute functions, so any buffers can be passed. Each direction has
/// two plans: one for buffers on FFTW's 16-byte SIMD boundary (every Swift array's storage is:
/// glibc's malloc aligns to 16) and an `FFTW_UNALIGNED` one for other pointers, e.g. an odd
/// row of a packed spectrum. The SIMD codelets run 2-3x faster from 256 points up (size 1024,
/// float: 1.8 us against 4.9 us; `Experiments/fft_plans`); which plan runs depends only on the
/// size and the pointers' alignment, so results are deterministic. Plans use `FFTW_ESTIMATE`: `FFTW_MEASURE` is ~30% faster again but picks
/// its algorithm by timing, so the low bits of a spectrum would vary from run to run.
/// Spectra are interleaved (re, im) pairs, `size / 2 + 1` bins, unnormalised both ways
/// (FFTW's convention: `inverse(forward(x)) = size * x`).
public struct RealFFT<T: SynthScalar>: Sendable {
    public let size: Int
    private let forwardPlan: PlanHandle
    private let inversePlan: PlanHandle
    private let unalignedForwardPlan: PlanHandle
    private let unalignedInversePlan: PlanHandle

    public init(size: Int) {
        precondition(size >= 2 && size % 2 == 0, "FFT size must be even and >= 2, got \(size)")
        self.size = size
        let double = T.self == Double.self
        // At 64 points and below the SIMD plan is no faster (Experiments/fft_plans: 0.14-0.19 us
        // against 0.10-0.17 us); those sizes keep the unaligned plan for every buffer.
        let simd = size > 64
        forwardPlan = PlanCache.plan(size: size, inverse: false, double: double, aligned: simd)
        inversePlan = PlanCache.plan(size: size, inverse: true, double: double, aligned: simd)
        unalignedForwardPlan = PlanCache.plan(size: size, inverse: false, double: double, aligned: false)
        unalignedInversePlan = PlanCache.plan(size: size, inverse: true, double: double, aligned: false)
    }

    public var binCount: Int { size / 2 + 1 }

    /// `spectrum` receives `binCount` interleaved complex bins. `input` is not modified.
    @inlinable
    public func forward(_ input: UnsafePointer<T>, _ spectrum: UnsafeMutablePointer<T>) {
        executeForward(UnsafeMutableRawPointer(mutating: input), UnsafeMutableRawPointer(spectrum))
    }

    /// Complex-to-real inverse (unnormalised). FFTW's c2r destroys its input, so the
    /// spectrum is scratch after this call.
    @inlinable
    public func inverse(_ spectrum: UnsafeMutablePointer<T>, _ output: UnsafeMutablePointer<T>) {
        executeInverse(UnsafeMutableRawPointer(spectrum), UnsafeMutableRawPointer(output))
    }

    /// Both buffers on FFTW's SIMD boundary (16 bytes, what `fftw_alignment_of` tests).
    @inline(__always)
    static func simdAligned(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer) -> Bool {
        (Int(bitPattern: a) | Int(bitPattern: b)) & 15 == 0
    }

    @usableFromInline
    func executeForward(_ input: UnsafeMutableRawPointer, _ output: UnsafeMutableRawPointer) {
        let plan = Self.simdAligned(input, output) ? forwardPlan : unalignedForwardPlan
        if T.self == Float.self {
            fftwf_execute_dft_r2c(plan.pointer, input.assumingMemoryBound(to: Float.self),
                                  output.assumingMemoryBound(to: fftwf_complex.self))
        } else {
            fftw_execute_dft_r2c(plan.pointer, input.assumingMemoryBound(to: Double.self),
                                 output.assumingMemoryBound(to: fftw_complex.self))
        }
    }

    @usableFromInline
    func executeInverse(_ input: UnsafeMutableRawPointer, _ output: UnsafeMutableRawPointer) {
        let plan = Self.simdAligned(input, output) ? inversePlan : unalignedInversePlan
        if T.self == Float.self {
            fftwf_execute_dft_c2r(plan.pointer, input.assumingMemoryBound(to: fftwf_complex.self), output.assumingMemoryBound(to: Float.self))
        } else {
            fftw_execute_dft_c2r(plan.pointer, input.assumingMemoryBound(to: fftw_complex.self), output.assumingMemoryBound(to: Double.self))
        }
    }
}

/// An FFTW plan kept for the life of the process (plans are few: one per size).
final class PlanHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

enum PlanCache {
    struct Key: Hashable { let size: Int; let inverse: Bool; let double: Bool; let aligned: Bool }
    static let plans = Mutex<[Key: PlanHandle]>([:])

    static func plan(size: Int, inverse: Bool, double: Bool, aligned: Bool) -> PlanHandle {
        plans.withLock { plans in
            let key = Key(size: size, inverse: inverse, double: double, aligned: aligned)
            if let p = plans[key] { return p }
            // Planned on SIMD-aligned buffers, so the aligned plan accepts any 16-byte-aligned pair.
            let flags = UInt32(FFTW_ESTIMATE) | (aligned ? 0 : UInt32(FFTW_UNALIGNED))
            let bins = size / 2 + 1
            let p: OpaquePointer?
            if double {
                let realRaw = UnsafeMutableRawPointer.allocate(byteCount: size * 8, alignment: 64)
                let complexRaw = UnsafeMutableRawPointer.allocate(byteCount: bins * 16, alignment: 64)
                defer { realRaw.deallocate(); complexRaw.deallocate() }
                let real = realRaw.bindMemory(to: Double.self, capacity: size)
                let complex = complexRaw.bindMemory(to: fftw_complex.self, capacity: bins)
                p = inverse
                    ? fftw_plan_dft_c2r_1d(Int32(size), complex, real, flags)
                    : fftw_plan_dft_r2c_1d(Int32(size), real, complex, flags)
            } else {
                let realRaw = UnsafeMutableRawPointer.allocate(byteCount: size * 4, alignment: 64)
                let complexRaw = UnsafeMutableRawPointer.allocate(byteCount: bins * 8, alignment: 64)
                defer { realRaw.deallocate(); complexRaw.deallocate() }
                let real = realRaw.bindMemory(to: Float.self, capacity: size)
                let complex = complexRaw.bindMemory(to: fftwf_complex.self, capacity: bins)
                p = inverse
                    ? fftwf_plan_dft_c2r_1d(Int32(size), complex, real, flags)
                    : fftwf_plan_dft_r2c_1d(Int32(size), real, complex, flags)
            }
            guard let p else { fatalError("FFTW could not plan a transform of size \(size)") }
            let handle = PlanHandle(p)
            plans[key] = handle
            return handle
        }
    }
}
