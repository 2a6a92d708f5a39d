// Threading and BLAS: OpenBLAS runs single-threaded and the kernels split work across cores
// themselves (small per-sample GEMMs do not scale with OpenBLAS threads; see performance_notes.md).
import COpenBLAS
import Dispatch
import Foundation

/// Process-wide compute settings. `let` statics run once, lazily and thread-safely.
public enum Compute {
  /// Number of worker lanes used by `parallelFor` (the machine's active cores).
  public static let lanes: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

  /// Sets OpenBLAS to one thread, once. Every GEMM entry point touches this first.
  ///
  /// It also keeps every allocation on glibc's heap and never hands freed heap back to the
  /// kernel: activations, logits and gradients are arrays of up to hundreds of MB allocated and
  /// freed every step, and a fresh mmap per array means every page faults and is zeroed by the
  /// kernel on first touch. Measured: a small convolution's backward pass 56 ms → 6–16 ms (batch
  /// 32, when only the mmap threshold was raised to 512 MB); the ds3 layer-wise GPT's training
  /// step, whose (256, 716, 1024) logits are 750 MB and stayed above that threshold: see
  /// README.md, *Memory*. The cost: the process keeps its peak heap until it exits.
  static let blasConfigured: Bool = {
    openblas_set_num_threads(1)
    _ = heapKeepsFreedMemory
    return true
  }()

  /// Whether glibc accepted "no mmap for large blocks, no trimming" (false off Linux).
  public static let heapKeepsFreedMemory: Bool = {
    #if os(Linux)
    let noMmap = glibcMallopt(-4, 0)    // M_MMAP_MAX = 0: large blocks come from the heap too
    let noTrim = glibcMallopt(-1, -1)   // M_TRIM_THRESHOLD = -1: never return freed heap (mallopt(3))
    return noMmap == 1 && noTrim == 1
    #else
    return false
    #endif
  }()

  /// The OpenBLAS build string (for benchmark reports).
  public static var blasInfo: String {
    guard let c = openblas_get_config() else { return "OpenBLAS (unknown config)" }
    return String(cString: c)
  }
}

#if os(Linux)
/// glibc's `mallopt` (malloc.h is not part of Swift's Glibc module map, so declare the symbol).
@_silgen_name("mallopt") private func glibcMallopt(_ param: Int32, _ value: Int32) -> Int32
#endif

/// A pointer that may be captured by the worker closures of `parallelFor`. Safe because each
/// worker writes a disjoint range (callers' responsibility) and `parallelFor` joins before returning.
@usableFromInline struct SendablePtr<T>: @unchecked Sendable {
  @usableFromInline let p: UnsafeMutablePointer<T>
  @usableFromInline init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}

/// A read-only pointer that may be captured by `parallelFor` workers.
@usableFromInline struct SendableConstPtr<T>: @unchecked Sendable {
  @usableFromInline let p: UnsafePointer<T>
  @usableFromInline init(_ p: UnsafePointer<T>) { self.p = p }
}

/// Runs `body(chunkIndex, range)` over `0..<n` split into at most `Compute.lanes` contiguous chunks,
/// in parallel when `work` (a rough flop count) is large enough to pay for the thread hand-off.
/// Returns after all chunks finished.
func parallelChunks(_ n: Int, work: Int, _ body: (Int, Range<Int>) -> Void) {
  let lanes = min(Compute.lanes, n)
  if lanes <= 1 || work < 200_000 {
    if n > 0 { body(0, 0..<n) }
    return
  }
  withoutActuallyEscaping(body) { b in
    let box = UncheckedBox(b)
    DispatchQueue.concurrentPerform(iterations: lanes) { c in
      let lo = n * c / lanes, hi = n * (c + 1) / lanes
      if lo < hi { box.value(c, lo..<hi) }
    }
  }
}

/// `parallelChunks` for independent items of roughly `cost` flops each: `body(range)`.
@inline(__always)
func parallelRange(_ n: Int, cost: Int, _ body: (Range<Int>) -> Void) {
  parallelChunks(n, work: n * cost) { _, r in body(r) }
}

/// Read-only base pointers of four arrays for the duration of `body` (for parallel loops, which
/// must not touch Swift arrays' reference counts from several threads).
@inline(__always)
func withPointers<R>(_ a: [Float], _ b: [Float], _ c: [Float], _ d: [Float],
                     _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>) -> R) -> R {
  a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeBufferPointer { pc in d.withUnsafeBufferPointer { pd in
    body(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, pd.baseAddress!)
  } } } }
}

/// Wraps a non-Sendable closure for `concurrentPerform`; see `parallelChunks` for why it is safe.
struct UncheckedBox<T>: @unchecked Sendable {
  let value: T
  init(_ v: T) { value = v }
}

// MARK: - GEMM

/// C (M×N) = alpha·op(A)·op(B) + beta·C, row-major, leading dimensions given explicitly.
/// op(A) is M×K (A is K×M when `transA`), op(B) is K×N (B is N×K when `transB`). Single-threaded BLAS.
@inline(__always)
func sgemm(
  _ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int, _ alpha: Float,
  _ A: UnsafePointer<Float>, _ lda: Int, _ B: UnsafePointer<Float>, _ ldb: Int,
  _ beta: Float, _ C: UnsafeMutablePointer<Float>, _ ldc: Int
) {
  _ = Compute.blasConfigured
  if M == 0 || N == 0 { return }
  if K == 0 {
    // BLAS semantics with an empty sum: C = beta*C.
    for i in 0..<M { for j in 0..<N { C[i * ldc + j] = beta == 0 ? 0 : beta * C[i * ldc + j] } }
    return
  }
  cblas_sgemm(
    CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
    Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
}

/// `sgemm` that splits the rows of C (or its columns when M is 1) across the cores when the product
/// is large. Each part is an independent single-threaded GEMM, so the result is bit-identical to
/// the serial call.
func sgemmParallel(
  _ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int, _ alpha: Float,
  _ A: UnsafePointer<Float>, _ lda: Int, _ B: UnsafePointer<Float>, _ ldb: Int,
  _ beta: Float, _ C: UnsafeMutablePointer<Float>, _ ldc: Int
) {
  let work = 2 * M * N * K
  if work < 4_000_000 || Compute.lanes < 2 || (M < 2 && N < 2) {
    sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    return
  }
  let a = SendableConstPtr(A), b = SendableConstPtr(B), c = SendablePtr(C)
  if M >= N || M >= 64 {
    parallelChunks(M, work: work) { _, r in
      let aOff = transA ? r.lowerBound : r.lowerBound * lda
      sgemm(transA, transB, r.count, N, K, alpha, a.p + aOff, lda, b.p, ldb, beta, c.p + r.lowerBound * ldc, ldc)
    }
  } else {
    parallelChunks(N, work: work) { _, r in
      let bOff = transB ? r.lowerBound * ldb : r.lowerBound
      sgemm(transA, transB, M, r.count, K, alpha, a.p, lda, b.p + bOff, ldb, beta, c.p + r.lowerBound, ldc)
    }
  }
}

/// Loop-only twin of `sgemm` (the specification; tests compare the two). Accumulates in Double.
func sgemmNaive(
  _ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int, _ alpha: Float,
  _ A: UnsafePointer<Float>, _ lda: Int, _ B: UnsafePointer<Float>, _ ldb: Int,
  _ beta: Float, _ C: UnsafeMutablePointer<Float>, _ ldc: Int
) {
  for i in 0..<M {
    for j in 0..<N {
      var s = 0.0
      for k in 0..<K {
        let a = transA ? A[k * lda + i] : A[i * lda + k]
        let b = transB ? B[j * ldb + k] : B[k * ldb + j]
        s += Double(a) * Double(b)
      }
      C[i * ldc + j] = alpha * Float(s) + (beta == 0 ? 0 : beta * C[i * ldc + j])
    }
  }
}
