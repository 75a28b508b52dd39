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

}
