import CFFTW
import Synchronization

/// A real-input FFT of one size, backed by an FFTW plan made once per (size, direction,
/// precision) and shared by every thread.
///
/// FFTW's planner is not thread-safe but plan execution is: plans are made under a lock
/// with `FFTW_ESTIMATE | FFTW_UNALIGNED` (Swift arrays carry no SIMD-alignment promise)
/// and run with the new-array execute functions, so any buffers can be passed.
/// Spectra are interleaved (re, im) pairs, `size / 2 + 1` bins, unnormalised both ways
/// (FFTW's convention: `inverse(forward(x)) = size * x`).
public struct RealFFT<T: SynthScalar>: Sendable {
    public let size: Int
    private let forwardPlan: PlanHandle
    private let inversePlan: PlanHandle

    public init(size: Int) {
        precondition(size >= 2 && size % 2 == 0, "FFT size must be even and >= 2, got \(size)")
        self.size = size
        forwardPlan = PlanCache.plan(size: size, inverse: false, double: T.self == Double.self)
        inversePlan = PlanCache.plan(size: size, inverse: true, double: T.self == Double.self)
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

    @usableFromInline
    func executeForward(_ input: UnsafeMutableRawPointer, _ output: UnsafeMutableRawPointer) {
        if T.self == Float.self {
            fftwf_execute_dft_r2c(forwardPlan.pointer, input.assumingMemoryBound(to: Float.self),
                                  output.assumingMemoryBound(to: fftwf_complex.self))
        } else {
            fftw_execute_dft_r2c(forwardPlan.pointer, input.assumingMemoryBound(to: Double.self),
                                 output.assumingMemoryBound(to: fftw_complex.self))
        }
    }

    @usableFromInline
    func executeInverse(_ input: UnsafeMutableRawPointer, _ output: UnsafeMutableRawPointer) {
        if T.self == Float.self {
            fftwf_execute_dft_c2r(inversePlan.pointer, input.assumingMemoryBound(to: fftwf_complex.self), output.assumingMemoryBound(to: Float.self))
        } else {
            fftw_execute_dft_c2r(inversePlan.pointer, input.assumingMemoryBound(to: fftw_complex.self), output.assumingMemoryBound(to: Double.self))
        }
    }
}

/// An FFTW plan kept for the life of the process (plans are few: one per size).
final class PlanHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

enum PlanCache {
    struct Key: Hashable { let size: Int; let inverse: Bool; let double: Bool }
    static let plans = Mutex<[Key: PlanHandle]>([:])

    static func plan(size: Int, inverse: Bool, double: Bool) -> PlanHandle {
        plans.withLock { plans in
            let key = Key(size: size, inverse: inverse, double: double)
            if let p = plans[key] { return p }
            let flags = UInt32(FFTW_ESTIMATE) | UInt32(FFTW_UNALIGNED)
            let bins = size / 2 + 1
            let p: OpaquePointer?
            if double {
                let real = UnsafeMutablePointer<Double>.allocate(capacity: size)
                let complex = UnsafeMutablePointer<fftw_complex>.allocate(capacity: bins)
                defer { real.deallocate(); complex.deallocate() }
                p = inverse
                    ? fftw_plan_dft_c2r_1d(Int32(size), complex, real, flags)
                    : fftw_plan_dft_r2c_1d(Int32(size), real, complex, flags)
            } else {
                let real = UnsafeMutablePointer<Float>.allocate(capacity: size)
                let complex = UnsafeMutablePointer<fftwf_complex>.allocate(capacity: bins)
                defer { real.deallocate(); complex.deallocate() }
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
