import COpenBLAS
import DSP

/// A scalar that OpenBLAS multiplies: `Float` through `sgemm` (training), `Double` through
/// `dgemm` (the float64 gradient checks run the very same layer code).
public protocol BLASScalar: SynthScalar {
    /// Row-major `C = alpha op(A) op(B) + beta C`, with `op(A)` of shape m x k and `op(B)` k x n.
    static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     _ a: UnsafePointer<Self>, lda: Int, _ b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, _ c: UnsafeMutablePointer<Self>, ldc: Int)
}

extension Float: BLASScalar {
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

extension Double: BLASScalar {
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            _ a: UnsafePointer<Double>, lda: Int, _ b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, _ c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

extension BLASScalar {
    /// Row-major `C += op(A) op(B)` with `C` in float64 whatever `Self` is: float32 operands are
    /// widened (exactly) and multiplied by `dgemm`, so products are exact and sums round in float64.
    ///
    /// Why: a weight gradient sums every item's terms, which largely cancel; in float32 the sum's
    /// low bits depend on how the batch was grouped, and stage 2's gradient is so sensitive to
    /// its weights (~0.5% for a 1e-7 nudge) that Adam would turn those bits into visible
    /// differences. Summed in float64, one process and N data-parallel processes (each summing
    /// its share, then the all-reduce) agree to float64 rounding, far below a float32 weight's
    /// last bit (issue 18). The dense layers use it; convolutions add each item's float32
    /// product into a float64 sum instead (their per-item products are large enough to keep).
    /// `a` holds op(A)'s storage (m x k, or k x m transposed, with its leading dimension), `b` op(B)'s.
    static func gemmAccumulatingInDouble(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                         _ a: UnsafeBufferPointer<Self>, lda: Int, _ b: UnsafeBufferPointer<Self>, ldb: Int,
                                         into c: UnsafeMutablePointer<Double>, ldc: Int) {
        guard m > 0, n > 0, k > 0 else { return }
        func widened(_ x: UnsafeBufferPointer<Self>) -> [Double] {
            [Double](unsafeUninitializedCapacity: x.count) { out, count in
                for i in 0..<x.count { out[i] = Double(x[i]) }
                count = x.count
            }
        }
        let a64 = widened(a), b64 = widened(b)
        // C's rows in one block per worker (OpenBLAS itself runs on one thread: see `BLAS`).
        let blocks = Swift.min(Parallelism.threadCount, m), rows = (m + blocks - 1) / blocks
        a64.withUnsafeBufferPointer { ap in
            b64.withUnsafeBufferPointer { bp in
                let (as_, bs, cs) = (SendablePointer(UnsafeMutablePointer(mutating: ap.baseAddress!)),
                                     SendablePointer(UnsafeMutablePointer(mutating: bp.baseAddress!)), SendablePointer(c))
                Parallelism.forEach(blocks) { block in
                    let first = block * rows, count = Swift.min(rows, m - first)
                    guard count > 0 else { return }
                    // Row i of op(A) starts at i * lda, or at column i when A is stored transposed.
                    let aStart = as_.pointer + (transposeA ? first : first * lda)
                    Double.gemm(transposeA: transposeA, transposeB: transposeB, m: count, n: n, k: k, alpha: 1,
                                aStart, lda: lda, bs.pointer, ldb: ldb, beta: 1, cs.pointer + first * ldc, ldc: ldc)
                }
            }
        }
    }
}

extension BLASScalar {
    /// One product per item: `C_i = op(A_i) op(B_i) + beta C_i` for i in 0..<items, where item i's
    /// A, B and C start `aStep`, `bStep`, `cStep` elements after item 0's (0: one matrix shared
    /// by every item, such as the weights), spread over `Parallelism`'s workers.
    ///
    /// Why not one product over the batch: OpenBLAS rounds an item's row of a batch-wide
    /// product differently for different batch sizes (its blocked kernels and their edges), so
    /// an item's bits would depend on the batch it is in, and data-parallel training, which
    /// splits a batch across processes, would drift from one process (issue 18).
    static func gemmPerItem(_ items: Int, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            _ a: UnsafePointer<Self>, lda: Int, aStep: Int, _ b: UnsafePointer<Self>, ldb: Int, bStep: Int,
                            beta: Self, _ c: UnsafeMutablePointer<Self>, ldc: Int, cStep: Int) {
        let (aa, bb, cc) = (SendablePointer(UnsafeMutablePointer(mutating: a)), SendablePointer(UnsafeMutablePointer(mutating: b)), SendablePointer(c))
        Parallelism.forEach(items) { i in
            gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                 aa.pointer + i * aStep, lda: lda, bb.pointer + i * bStep, ldb: ldb, beta: beta, cc.pointer + i * cStep, ldc: ldc)
        }
    }
}

/// OpenBLAS's own threads: the network keeps them at one and splits its products over
/// `Parallelism`'s workers itself (by item, or by rows of a weight gradient). OpenBLAS splits
/// a product across its threads by size, with different edge kernels, so an item's bits would
/// depend on the thread count, and calls from two workers would contend.
enum BLAS {
    /// Sets OpenBLAS to one thread, once per process (the network calls it before any product).
    static let singleThreaded: Void = { openblas_set_num_threads(1) }()
}
