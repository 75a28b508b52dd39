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
    let r = x - x.rounded(.toNearestOrEven)
    let a = abs(r)
    let f = a > T(0.25) ? T(0.5) - a : a
    let z = T(2 * Double.pi) * f, z2 = z * z
    var p = T(-1.0 / 1_307_674_368_000)
    p = p * z2 + T(1.0 / 6_227_020_800)
    p = p * z2 + T(-1.0 / 39_916_800)
    p = p * z2 + T(1.0 / 362_880)
    p = p * z2 + T(-1.0 / 5040)
    p = p * z2 + T(1.0 / 120)
    p = p * z2 + T(-1.0 / 6)
    p = p * z2 + 1
    let s = z * p
    return r < 0 ? -s : s
}

/// `cos(2 pi x) = sin(2 pi (x + 1/4))`.
@inlinable @inline(__always)
func cosTwoPi<T: SynthScalar>(_ x: T) -> T { sinTwoPi(x + T(0.25)) }
