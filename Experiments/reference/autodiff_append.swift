// Swift reverse-mode autodiff traps ("Index out of range" in Array._vjpAppend's pullback) when
// an array is appended to inside a differentiable function and that final array is never read
// again: its tangent stays the empty array, and append's pullback indexes it (found with
// Swift 6.3.1 while writing Sources/AutodiffReference; reading the finished array avoids it):
//     swiftc -O Experiments/reference/autodiff_append.swift -o /tmp/append && /tmp/append
// prints the safe form's gradient (and finite differences), then the unsafe form crashes.
import _Differentiation

/// Running state kept in an array that is rebuilt every step; the last one is never read.
@differentiable(reverse)
func unsafe(_ u: [Double]) -> Double {
    var state: [Double] = [u[0], u[1]]
    var total = 0.0
    for _ in 0..<3 {
        var next: [Double] = []
        next.append(state[0] * u[1])
        next.append(state[1] + u[0])
        total = total + state[0] + state[1]
        state = next   // after the last step `state` is not read again
    }
    return total
}

/// The same, with the final state read into the result.
@differentiable(reverse)
func safe(_ u: [Double]) -> Double {
    var state: [Double] = [u[0], u[1]]
    var total = 0.0
    for _ in 0..<3 {
        var next: [Double] = []
        next.append(state[0] * u[1])
        next.append(state[1] + u[0])
        total = total + state[0] + state[1]
        state = next
    }
    return total + state[0] + state[1]
}

let u = [0.3, 0.7]
let fd = (0..<2).map { i -> Double in
    var p = u, m = u
    p[i] += 1e-6
    m[i] -= 1e-6
    return (safe(p) - safe(m)) / 2e-6
}
print("safe  ", gradient(at: u, of: safe).base, "finite differences", fd)
print("unsafe (expect a trap) ...")
print("unsafe", gradient(at: u, of: unsafe).base)
