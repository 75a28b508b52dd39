import RealModule

/// The floating-point types every differentiable kernel is generic over.
///
/// Production renders in `Float`; the gradient checker runs the very same code in
/// `Double`, so a finite-difference test exercises the shipped adjoint, not a copy.
/// Hot entry points carry `@_specialize(where T == Float)` (and `Double`) so that calls
/// through `any Synth` reach specialised code rather than the generic fallback.
public protocol SynthScalar: BinaryFloatingPoint, Real, SIMDScalar, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {}

extension Float: SynthScalar {}
extension Double: SynthScalar {}
