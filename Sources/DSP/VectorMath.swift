import RealModule

/// Element-wise maths written so that LLVM vectorises the loops around it.
///
/// The spectral losses take a logarithm of every magnitude of every frame (220,000 per second
/// of audio for auraloss's three resolutions). glibc's `logf` is a call per element, which
/// blocks vectorisation and was the loss's largest single cost after the FFTs; `logarithm`
/// is a branch-free polynomial that runs eight lanes at a time.
public enum VectorMath {
    /// The natural log in generic code: the branch-free `logarithm(_: Float)` for Float (so
    /// loops around it vectorise), the library's for Double.
    @inlinable @inline(__always)
    public static func logarithm<T: SynthScalar>(_ x: T) -> T {
        if T.self == Float.self { return unsafeBitCast(logarithm(unsafeBitCast(x, to: Float.self)), to: T.self) }
        return T.log(x)
    }

    /// Natural log of a float without branches or calls, so loops around it vectorise: the
    /// Cephes `logf` reduction and polynomial, within 2 ulp of the correctly rounded value
    /// (tested over every exponent). Subnormals are scaled by 2^23 first (exact); zero gives
    /// -inf, negatives NaN, infinity and NaN themselves, as `Float.log` does.
    ///
    /// `v = m 2^e` with `m` in [sqrt(1/2), sqrt(2)), then `log(1 + x)`, `x = m - 1`, by a
    /// degree-9 polynomial, and `e log 2` added in two parts (0.693359375 is exact in float).
    @inlinable @inline(__always)
    public static func logarithm(_ v: Float) -> Float {
        let subnormal = v < Float.leastNormalMagnitude
        let bits = (subnormal ? v * 8_388_608 : v).bitPattern
        let exponent = Float(Int32(bitPattern: bits >> 23) &- (subnormal ? 149 : 126))
        let mantissa = Float(bitPattern: (bits & 0x007F_FFFF) | 0x3F00_0000)   // in [0.5, 1)
        let low = mantissa < 0.707106781186547524
        let e = low ? exponent - 1 : exponent
        let x = low ? mantissa + mantissa - 1 : mantissa - 1
        let z = x * x
        var p: Float = 7.0376836292e-2
        p = p * x - 1.1514610310e-1
        p = p * x + 1.1676998740e-1
        p = p * x - 1.2420140846e-1
        p = p * x + 1.4249322787e-1
        p = p * x - 1.6668057665e-1
        p = p * x + 2.0000714765e-1
        p = p * x - 2.4999993993e-1
        p = p * x + 3.3333331174e-1
        var y = p * x * z
        y += -2.12194440e-4 * e
        y += -0.5 * z
        var r = (x + y) + 0.693359375 * e
        r = v == .infinity ? .infinity : r
        r = v == 0 ? -.infinity : r
        r = v < 0 ? .nan : r
        return v != v ? v : r
    }

    /// The sum of `count` values in eight lanes (lanes added last, in a fixed order): LLVM does
    /// not reorder a scalar float sum, which would leave it one add per cycle of latency.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func sum<T: SynthScalar>(_ x: UnsafePointer<T>, count: Int) -> T {
        var lanes = SIMD8<T>()
        var i = 0
        while i + 8 <= count {
            lanes += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<T>.self)
            i += 8
        }
        var tail: T = 0
        while i < count { tail += x[i]; i += 1 }
        return lanes.sum() + tail
    }

    /// 2^v without branches or calls (loops around it vectorise): `v = n + f`, `n` the nearest
    /// integer, `f` in [-1/2, 1/2], Cephes' `exp2f` polynomial for 2^f, and 2^n put into the
    /// exponent bits. Within 2 ulp of `Float.exp2` over [-126, 127] (tested); `v` is clamped
    /// to that range (so 0 below 2^-126 and 2^127 above, never inf), NaN stays NaN.
    @inlinable @inline(__always)
    public static func exponential2(_ v: Float) -> Float {
        let x = min(max(v, -126), 127)
        // Round to nearest by adding 1.5 x 2^23: the sum's low mantissa bits are then the
        // integer (read from the bits: a float-to-int conversion would trap on overflow and
        // keep the loop scalar).
        let shifted = x + 12_582_912
        let n = shifted - 12_582_912
        let f = x - n
        var p: Float = 1.535336188319500e-4
        p = p * f + 1.339887440266574e-3
        p = p * f + 9.618437357674640e-3
        p = p * f + 5.550332471162809e-2
        p = p * f + 2.402264791363012e-1
        p = p * f + 6.931472028550421e-1
        let integer = Int32(bitPattern: shifted.bitPattern) &- Int32(bitPattern: Float(12_582_912).bitPattern)
        let scale = Float(bitPattern: UInt32(bitPattern: integer &+ 127) << 23)
        let r = (p * f + 1) * scale
        return v != v ? v : r
    }

    /// tanh without branches or calls, as Cephes' `tanhf`: below |x| = 0.625 its odd
    /// polynomial, above `sign(x) (1 - 2 / (e^(2|x|) + 1))` from `exponential2` (where the
    /// subtraction no longer cancels). Within 1e-7 of tanh absolutely (tested).
    @inlinable @inline(__always)
    public static func hyperbolicTangent(_ x: Float) -> Float {
        let e = exponential2(2.885390081777927 * abs(x))   // e^(2|x|) = 2^(2 log2(e) |x|)
        let t = 1 - 2 / (e + 1)
        let large = x < 0 ? -t : t
        let z = x * x
        var p: Float = -5.70498872745e-3
        p = p * z + 2.06390887954e-2
        p = p * z - 5.37397155531e-2
        p = p * z + 1.33314422036e-1
        p = p * z - 3.33332819422e-1
        let small = p * z * x + x
        return abs(x) < 0.625 ? small : large
    }
}
