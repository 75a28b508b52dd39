/// The outcome of comparing an analytic gradient with central finite differences.
public struct GradientCheckReport: Sendable, CustomStringConvertible {
    /// `|g_analytic - g_numeric| / max(|g_analytic|, |g_numeric|)` over the checked coordinates.
    public var relativeError: Double
    /// Coordinate with the largest absolute disagreement, and both values there.
    public var worstIndex: Int
    public var worstAnalytic: Double
    public var worstNumeric: Double
    public var checkedCount: Int
    public var analyticNorm: Double

    public var description: String {
        "relative error \(relativeError) over \(checkedCount) coordinates (|g| = \(analyticNorm)); worst at \(worstIndex): analytic \(worstAnalytic), numeric \(worstNumeric)"
    }
}

/// Float64 central-finite-difference gradient checking, shared by every module's tests.
///
/// A module `f: R^n -> R^m` is reduced to the scalar `L(x) = <w, f(x)>` with a seeded
/// random cotangent `w`; its gradient by the module's vector-Jacobian product, `J^T w`,
/// is compared with `(L(x + h e_i) - L(x - h e_i)) / 2h`. Use short signals and small
/// steps: frequency-like parameters are very sensitive (C-INTEROP notes a 1e-3 step
/// giving an 11% error on an oscillator frequency over 1024 samples).
public enum GradientCheck {
    public static func check(
        at x: [Double],
        coordinates: [Int]? = nil,
        step: Double = 1e-6,
        seed: UInt64 = 1,
        function: ([Double]) -> [Double],
        vectorJacobianProduct: ([Double], [Double]) -> [Double]
    ) -> GradientCheckReport {
        let y = function(x)
        var rng = CounterRandom(key: seed)
        let w = (0..<y.count).map { _ in rng.normal() }
        let analytic = vectorJacobianProduct(x, w)
        precondition(analytic.count == x.count, "gradient check: VJP returned \(analytic.count) values for \(x.count) inputs")
        func loss(_ v: [Double]) -> Double { zip(function(v), w).reduce(0) { $0 + $1.0 * $1.1 } }
        let indices = coordinates ?? Array(0..<x.count)
        var diff2 = 0.0, a2 = 0.0, n2 = 0.0
        var worst = (index: -1, analytic: 0.0, numeric: 0.0, gap: -1.0)
        for i in indices {
            var plus = x, minus = x
            plus[i] += step
            minus[i] -= step
            let numeric = (loss(plus) - loss(minus)) / (2 * step)
            let a = analytic[i]
            diff2 += (a - numeric) * (a - numeric)
            a2 += a * a
            n2 += numeric * numeric
            if abs(a - numeric) > worst.gap { worst = (i, a, numeric, abs(a - numeric)) }
        }
        let scale = max(a2.squareRoot(), n2.squareRoot(), 1e-300)
        return GradientCheckReport(relativeError: diff2.squareRoot() / scale, worstIndex: worst.index,
                                   worstAnalytic: worst.analytic, worstNumeric: worst.numeric,
                                   checkedCount: indices.count, analyticNorm: a2.squareRoot())
    }

    /// Checks a synth's pullback at `controls` (normalised, kept away from the clamps at 0
    /// and 1 by the caller) in float64.
    public static func check(
        synth: any Synth,
        controls: Controls<Double>,
        request: RenderRequest,
        coordinates: [Int]? = nil,
        step: Double = 1e-6,
        seed: UInt64 = 1
    ) -> GradientCheckReport {
        let layout = controls.layout, batch = controls.batchSize
        return check(at: controls.values, coordinates: coordinates, step: step, seed: seed,
            function: { v in synth.render(Controls(layout: layout, batchSize: batch, values: v), request).samples },
            vectorJacobianProduct: { v, w in
                let (value, pullback) = synth.valueWithPullback(Controls(layout: layout, batchSize: batch, values: v), request)
                return pullback(AudioBatch(batchSize: value.batchSize, sampleCount: value.sampleCount, samples: w)).values
            })
    }

    /// Random normalised controls in `range` for every parameter and frame.
    public static func randomControls(layout: ControlLayout, batchSize: Int, seed: UInt64,
                                      range: ClosedRange<Double> = 0.1...0.9) -> Controls<Double> {
        var rng = CounterRandom(key: seed)
        let values = (0..<(layout.stride * batchSize)).map { _ in range.lowerBound + (range.upperBound - range.lowerBound) * rng.unit() }
        return Controls(layout: layout, batchSize: batchSize, values: values)
    }
}
