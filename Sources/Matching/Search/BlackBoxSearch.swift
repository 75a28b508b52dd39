import DSP
import Foundation
import RealModule

/// When a search stops: after `seconds` of wall clock or `evaluations` objective calls,
/// whichever comes first (nil: no limit of that kind).
public struct SearchBudget: Sendable {
    public var seconds: Double?
    public var evaluations: Int?
    public init(seconds: Double? = nil, evaluations: Int? = nil) {
        precondition(seconds != nil || evaluations != nil, "search budget: give seconds or evaluations")
        self.seconds = seconds
        self.evaluations = evaluations
    }
}

public struct SearchResult: Sendable {
    public var best: [Double]
    public var value: Double
    public var evaluations: Int
    public var seconds: Double
}

/// Tracks a budget and the best point seen.
struct SearchLedger {
    let budget: SearchBudget
    let start = DispatchTime.now().uptimeNanoseconds
    var evaluations = 0
    var best: [Double] = []
    var value = Double.infinity

    var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    var exhausted: Bool {
        if let limit = budget.evaluations, evaluations >= limit { return true }
        if let limit = budget.seconds, seconds >= limit { return true }
        return false
    }
    /// How many of `wanted` evaluations the budget still allows.
    func allowance(_ wanted: Int) -> Int { budget.evaluations.map { min(wanted, max(0, $0 - evaluations)) } ?? wanted }

    mutating func record(_ points: [[Double]], _ values: [Double]) {
        evaluations += points.count
        // The first point is kept even when nothing scores finitely (a synth that renders NaN
        // everywhere), so a search always returns a point.
        for (x, v) in zip(points, values) where v < value || best.isEmpty { (best, value) = (x, v.isNaN ? .infinity : v) }
    }
    var result: SearchResult { SearchResult(best: best, value: value, evaluations: evaluations, seconds: seconds) }
}

/// Uniform random points in the unit cube, evaluated a batch at a time (a batch renders on
/// all cores); the baseline every other method must beat.
public enum RandomSearch {
    public static func minimise(dimension: Int, batchSize: Int = 16, budget: SearchBudget, seed: UInt64 = 0,
                                objective: ([[Double]]) -> [Double]) -> SearchResult {
        var ledger = SearchLedger(budget: budget)
        var random = CounterRandom(seed: seed, index: 0, stream: 11)
        repeat {
            let count = ledger.allowance(batchSize)
            guard count > 0 else { break }
            let points = (0..<count).map { _ in (0..<dimension).map { _ in random.unit() } }
            ledger.record(points, objective(points))
        } while !ledger.exhausted
        return ledger.result
    }
}

/// CMA-ES (Hansen's (mu/mu_w, lambda) evolution strategy with rank-one and rank-mu
/// covariance updates and cumulative step-size adaptation; constants from Hansen's 2016
/// tutorial, arXiv:1604.00772), in the unit cube: points outside are evaluated at their
/// projection plus a quadratic penalty on the distance, so the search stays inside.
public enum CMAES {
    public static func minimise(initialMean: [Double], sigma: Double = 0.3, populationSize: Int? = nil, budget: SearchBudget,
                                seed: UInt64 = 0, bounded: Bool = true, objective: ([[Double]]) -> [Double]) -> SearchResult {
        let n = initialMean.count
        precondition(n >= 1 && sigma > 0, "CMA-ES: dimension and sigma must be positive")
        let nd = Double(n)
        let lambda = max(populationSize ?? (4 + Int(3 * Double.log(nd))), 2)
        let mu = lambda / 2
        var weights = (0..<mu).map { Double.log(Double(mu) + 0.5) - Double.log(Double($0 + 1)) }
        let total = weights.reduce(0, +)
        weights = weights.map { $0 / total }
        let muEff = 1 / weights.reduce(0) { $0 + $1 * $1 }
        let cSigma = (muEff + 2) / (nd + muEff + 5)
        let dSigma = 1 + 2 * max(0, ((muEff - 1) / (nd + 1)).squareRoot() - 1) + cSigma
        let cC = (4 + muEff / nd) / (nd + 4 + 2 * muEff / nd)
        let c1 = 2 / ((nd + 1.3) * (nd + 1.3) + muEff)
        let cMu = min(1 - c1, 2 * (muEff - 2 + 1 / muEff) / ((nd + 2) * (nd + 2) + muEff))
        let chiN = nd.squareRoot() * (1 - 1 / (4 * nd) + 1 / (21 * nd * nd))
        let eigenEvery = max(1, Int(1 / (10 * nd * (c1 + cMu))))

        var mean = initialMean, step = sigma
        var pSigma = [Double](repeating: 0, count: n), pC = pSigma
        var covariance = Matrix.identity(n), basis = Matrix.identity(n)
        var scales = [Double](repeating: 1, count: n)           // D: square roots of C's eigenvalues
        var ledger = SearchLedger(budget: budget)
        var random = CounterRandom(seed: seed, index: 0, stream: 13)
        var generation = 0
        while !ledger.exhausted {
            let count = ledger.allowance(lambda)
            guard count > 0 else { break }
            // x_k = m + sigma B D z_k
            var ys: [[Double]] = [], xs: [[Double]] = []
            for _ in 0..<count {
                let z = (0..<n).map { _ in random.normal() }
                let y = basis.apply((0..<n).map { scales[$0] * z[$0] })
                ys.append(y)
                xs.append((0..<n).map { mean[$0] + step * y[$0] })
            }
            let inside = bounded ? xs.map { $0.map { min(max($0, 0), 1) } } : xs
            var values = objective(inside)
            if bounded {
                for k in 0..<count {
                    let d2 = zip(xs[k], inside[k]).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
                    values[k] += 1e3 * d2 * max(abs(values[k]), 1)
                }
            }
            ledger.record(inside, values)
            guard count == lambda else { break }
            let order = values.indices.sorted { values[$0] < values[$1] }
            // Mean update and the weighted step y_w.
            var yW = [Double](repeating: 0, count: n)
            for (i, k) in order.prefix(mu).enumerated() { for j in 0..<n { yW[j] += weights[i] * ys[k][j] } }
            for j in 0..<n { mean[j] += step * yW[j] }
            // Step-size path uses C^(-1/2) y_w = B D^-1 B^T y_w.
            let inverseRoot = basis.apply(basis.applyTransposed(yW).enumerated().map { $0.element / scales[$0.offset] })
            let sigmaNorm = (cSigma * (2 - cSigma) * muEff).squareRoot()
            for j in 0..<n { pSigma[j] = (1 - cSigma) * pSigma[j] + sigmaNorm * inverseRoot[j] }
            let pSigmaLength = pSigma.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let hSigma: Double = pSigmaLength / (1 - Double.pow(1 - cSigma, Double(2 * (generation + 1)))).squareRoot()
                < (1.4 + 2 / (nd + 1)) * chiN ? 1 : 0
            let cNorm = (cC * (2 - cC) * muEff).squareRoot()
            for j in 0..<n { pC[j] = (1 - cC) * pC[j] + hSigma * cNorm * yW[j] }
            // Covariance: rank one (evolution path) + rank mu (selected steps).
            let keep = 1 - c1 - cMu + (1 - hSigma) * c1 * cC * (2 - cC)
            for a in 0..<n {
                for b in 0...a {
                    var rankMu = 0.0
                    for (i, k) in order.prefix(mu).enumerated() { rankMu += weights[i] * ys[k][a] * ys[k][b] }
                    let v = keep * covariance[a, b] + c1 * pC[a] * pC[b] + cMu * rankMu
                    covariance[a, b] = v
                    covariance[b, a] = v
                }
            }
            step *= Double.exp((cSigma / dSigma) * (pSigmaLength / chiN - 1))
            generation += 1
            if generation % eigenEvery == 0 {
                let (values, vectors) = covariance.symmetricEigen()
                scales = values.map { max($0, 1e-20).squareRoot() }
                basis = vectors
            }
            if step * (scales.max() ?? 1) < 1e-12 { break }   // converged: nothing left to search
        }
        return ledger.result
    }
}

/// A small dense square matrix for CMA-ES (row-major).
struct Matrix {
    let n: Int
    var values: [Double]

    static func identity(_ n: Int) -> Matrix {
        var m = Matrix(n: n, values: [Double](repeating: 0, count: n * n))
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    subscript(i: Int, j: Int) -> Double {
        get { values[i * n + j] }
        set { values[i * n + j] = newValue }
    }

    /// M v
    func apply(_ v: [Double]) -> [Double] {
        (0..<n).map { i in var s = 0.0; for j in 0..<n { s += values[i * n + j] * v[j] }; return s }
    }

    /// M^T v
    func applyTransposed(_ v: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: n)
        for i in 0..<n { for j in 0..<n { out[j] += values[i * n + j] * v[i] } }
        return out
    }

    /// Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi
    /// rotations: exact to rounding for the small matrices CMA-ES uses.
    func symmetricEigen() -> (values: [Double], vectors: Matrix) {
        var a = self, v = Matrix.identity(n)
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in (i + 1)..<max(n, i + 1) { off += a[i, j] * a[i, j] } }
            if off < 1e-30 { break }
            for p in 0..<n {
                for q in (p + 1)..<max(n, p + 1) where abs(a[p, q]) > 1e-300 {
                    let theta = (a[q, q] - a[p, p]) / (2 * a[p, q])
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k, p], akq = a[k, q]
                        a[k, p] = c * akp - s * akq
                        a[k, q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p, k], aqk = a[q, k]
                        a[p, k] = c * apk - s * aqk
                        a[q, k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k, p], vkq = v[k, q]
                        v[k, p] = c * vkp - s * vkq
                        v[k, q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { a[$0, $0] }, v)
    }
}
