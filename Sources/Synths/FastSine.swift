import DSP

/// `sin(2 pi x)` for any `x`, branch-free so that element-wise loops over it vectorise
/// (a libm `sin` call does not).
///
/// `x` is reduced to `r` in [-1/2, 1/2] (one cycle), folded to [-1/4, 1/4] with
/// `sin(2 pi a) = sin(2 pi (1/2 - a))`, and the odd Taylor polynomial to z^15 is evaluated
/// at `z = 2 pi a`, |z| <= pi/2: truncation error < 1e-11, below `Float`'s resolution and
/// far below the float64 gradient checks' tolerance. Its derivative is `2 pi cosTwoPi(x)`
/// to the same accuracy.
@inlinable @inline(__always)
func sinTwoPi<T: SynthScalar>(_ x: T) -> T {
    let r = x - roundedToNearest(x)
    let a = abs(r)
    let f = a > T(0.25) ? T(0.5) - a : a
    let z = T(2 * Double.pi) * f, z2 = z * z
    // Estrin's scheme: the same polynomial as Horner's rule with a third of its latency,
    // which is what bounds the feedback operator's sample-by-sample recursion.
    let z4 = z2 * z2, z8 = z4 * z4
    let p01 = 1 + T(-1.0 / 6) * z2, p23 = T(1.0 / 120) + T(-1.0 / 5040) * z2
    let p45 = T(1.0 / 362_880) + T(-1.0 / 39_916_800) * z2, p67 = T(1.0 / 6_227_020_800) + T(-1.0 / 1_307_674_368_000) * z2
    let p = (p01 + p23 * z4) + (p45 + p67 * z4) * z8
    let s = z * p
    return r < 0 ? -s : s
}

/// Round to nearest (ties to even) with two additions, `(x + M) - M` for `M = 1.5 * 2^p`:
/// branch-free and vectorisable on every x86-64 (a `rounded()` call compiles to a libm call per
/// lane without SSE4.1). Exact for |x| < 2^(p - 1): 4e6 cycles in `Float`.
@inlinable @inline(__always)
func roundedToNearest<T: SynthScalar>(_ x: T) -> T {
    let magic = T(1.5) * T(sign: .plus, exponent: T.Exponent(T.significandBitCount), significand: 1)
    return (x + magic) - magic
}

/// `cos(2 pi x) = sin(2 pi (x + 1/4))`.
@inlinable @inline(__always)
func cosTwoPi<T: SynthScalar>(_ x: T) -> T { sinTwoPi(x + T(0.25)) }

/// `sinTwoPi` on eight lanes at once, for loops that cannot vectorise over time (the FM
/// feedback recursion runs eight notes in the lanes instead). Lane for lane the same
/// arithmetic as the scalar form, so the results are bit-identical to it.
@inlinable @inline(__always)
func sinTwoPi<T: SynthScalar>(_ x: SIMD8<T>) -> SIMD8<T> {
    let magic = T(1.5) * T(sign: .plus, exponent: T.Exponent(T.significandBitCount), significand: 1)
    let r = x - ((x + magic) - magic)
    let zero = SIMD8<T>(repeating: 0)
    let a = (zero - r).replacing(with: r, where: T.lanes(zero, below: r))   // |r|, +0 for either zero as `abs`
    let f = a.replacing(with: T(0.5) - a, where: T.lanes(SIMD8(repeating: T(0.25)), below: a))
    let z = T(2 * Double.pi) * f, z2 = z * z
    let z4 = z2 * z2, z8 = z4 * z4
    let p01 = T(1) + T(-1.0 / 6) * z2, p23 = T(1.0 / 120) + T(-1.0 / 5040) * z2
    let p45 = T(1.0 / 362_880) + T(-1.0 / 39_916_800) * z2, p67 = T(1.0 / 6_227_020_800) + T(-1.0 / 1_307_674_368_000) * z2
    let p = (p01 + p23 * z4) + (p45 + p67 * z4) * z8
    let s = z * p
    return s.replacing(with: -s, where: T.lanes(r, below: zero))
}

/// `cosTwoPi` on eight lanes: `sinTwoPi(x + 1/4)`.
@inlinable @inline(__always)
func cosTwoPi<T: SynthScalar>(_ x: SIMD8<T>) -> SIMD8<T> { sinTwoPi(x + T(0.25)) }
