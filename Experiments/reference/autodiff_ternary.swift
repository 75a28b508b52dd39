// Swift reverse-mode autodiff gets `cond ? x : 0.0` wrong inside a loop (found with Swift 6.3.1
// while writing Sources/AutodiffReference; the masked form below is right):
//     swiftc -O Experiments/reference/autodiff_ternary.swift -o /tmp/ternary && /tmp/ternary
// prints the compiler's gradient and central finite differences for both forms.
import _Differentiation
import Foundation

@differentiable(reverse)
func ternary(_ u: [Double]) -> Double {
    var weights: [Double] = []
    var total = 0.0
    for h in 1...3 {
        let e = u[h] * u[h]
        let audible = h < 3
        weights = weights + [audible ? e : 0.0]
        total = total + (audible ? e : 0.0)
    }
    var s = 0.0
    for n in 0..<4 { for h in 1...3 { s = s + weights[h - 1] * Double(n + h) } }
    return u[0] * s / total
}

@differentiable(reverse)
func masked(_ u: [Double]) -> Double {
    var weights: [Double] = []
    var total = 0.0
    for h in 1...3 {
        let e = u[h] * u[h]
        let mask = h < 3 ? 1.0 : 0.0
        weights = weights + [e * mask]
        total = total + e * mask
    }
    var s = 0.0
    for n in 0..<4 { for h in 1...3 { s = s + weights[h - 1] * Double(n + h) } }
    return u[0] * s / total
}

let u = [0.3, 0.5, 0.7, 0.9]
for (name, f) in [("ternary", ternary), ("masked", masked)] as [(String, @differentiable(reverse) ([Double]) -> Double)] {
    let g = gradient(at: u, of: f)
    let fd = (0..<4).map { i -> Double in
        var p = u, m = u
        p[i] += 1e-6
        m[i] -= 1e-6
        return (f(p) - f(m)) / 2e-6
    }
    print(name, "autodiff", g.base.map { String(format: "%.6f", $0) }, "finite differences", fd.map { String(format: "%.6f", $0) })
}
