import RealModule

/// The floating-point types every differentiable kernel is generic over.
///
/// Production renders in `Float`; the gradient checker runs the very same code in
/// `Double`, so a finite-difference test exercises the shipped adjoint, not a copy.
/// Hot entry points carry `@_specialize(where T == Float)` (and `Double`) so that calls
/// through `any Synth` reach specialised code rather than the generic fallback.
public protocol SynthScalar: BinaryFloatingPoint, Real, SIMDScalar, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
    /// `a .< b` on eight lanes. A requirement because the standard library's vector
    /// comparison is one instruction only for concrete types: in generic code, even once
    /// specialised, it runs lane by lane (seen in `perf annotate`), which made a lane-wise
    /// sine slower than the scalar one.
    static func lanes(_ a: SIMD8<Self>, below b: SIMD8<Self>) -> SIMDMask<SIMD8<Self.SIMDMaskScalar>>
}

extension Float: SynthScalar {
    @inlinable @inline(__always)
    public static func lanes(_ a: SIMD8<Float>, below b: SIMD8<Float>) -> SIMDMask<SIMD8<Int32>> { a .< b }
}

extension Double: SynthScalar {
    @inlinable @inline(__always)
    public static func lanes(_ a: SIMD8<Double>, below b: SIMD8<Double>) -> SIMDMask<SIMD8<Int64>> { a .< b }
}
