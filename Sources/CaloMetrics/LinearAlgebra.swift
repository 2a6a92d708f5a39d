// Small dense linear-algebra helpers on row-major Double matrices: symmetric eigen-decomposition
// (LAPACK dsyevd from OpenBLAS), the PSD matrix square root, and the trace of sqrt(A·B).

import COpenBLAS
import Foundation

/// Eigen-decomposition of a symmetric d×d matrix (row-major; only symmetry is assumed).
/// Returns ascending eigenvalues and, if `vectors`, the eigenvectors as the columns of a row-major
/// d×d matrix. Returns nil if LAPACK reports failure.
func symmetricEigen(_ a: [Double], _ d: Int, vectors: Bool) -> (values: [Double], vectors: [Double])? {
  precondition(a.count == d * d, "symmetricEigen: \(a.count) values for \(d)×\(d)")
  if d == 0 { return ([], []) }
  // LAPACK is column-major: a symmetric row-major matrix is its own transpose, and the eigenvector
  // columns come back as rows of the row-major view, so transpose them at the end.
  var m = a
  var w = [Double](repeating: 0, count: d)
  var n = Int32(d), lda = Int32(d), info: Int32 = 0
  var jobz = Int8(UInt8(ascii: vectors ? "V" : "N")), uplo = Int8(UInt8(ascii: "U"))
  var lwork: Int32 = -1, liwork: Int32 = -1
  var wq = 0.0
  var iq: Int32 = 0
  dsyevd_(&jobz, &uplo, &n, &m, &lda, &w, &wq, &lwork, &iq, &liwork, &info)
  guard info == 0 else { return nil }
  lwork = Int32(wq)
  liwork = max(iq, 1)
  var work = [Double](repeating: 0, count: Int(lwork))
  var iwork = [Int32](repeating: 0, count: Int(liwork))
  dsyevd_(&jobz, &uplo, &n, &m, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
  guard info == 0 else { return nil }
  guard vectors else { return (w, []) }
  var v = [Double](repeating: 0, count: d * d)
  for i in 0..<d { for j in 0..<d { v[i * d + j] = m[j * d + i] } }
  return (w, v)
}

/// Square root of a symmetric positive semi-definite matrix: V·diag(sqrt(max(λ, 0)))·Vᵀ.
/// Negative eigenvalues (rounding in a nearly singular covariance) are clamped to 0.
func symmetricSqrt(_ a: [Double], _ d: Int) -> [Double]? {
  guard let (w, v) = symmetricEigen(a, d, vectors: true) else { return nil }
  // (V·diag(s)) then ·Vᵀ with one GEMM.
  var vs = v
  for i in 0..<d { for j in 0..<d { vs[i * d + j] *= max(w[j], 0).squareRoot() } }
  var out = [Double](repeating: 0, count: d * d)
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(d), Int32(d), Int32(d), 1, vs, Int32(d), v,
              Int32(d), 0, &out, Int32(d))
  return out
}

/// Tr sqrt(A·B) for symmetric PSD A, B (d×d), computed as Tr sqrt(A^½·B·A^½): that matrix is
/// symmetric PSD and similar to A·B, so its eigenvalues are those of A·B and real.
func traceSqrtProduct(_ a: [Double], _ b: [Double], _ d: Int) -> Double? {
  guard let s = symmetricSqrt(a, d) else { return nil }
  var t = [Double](repeating: 0, count: d * d), m = [Double](repeating: 0, count: d * d)
  let n = Int32(d)
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, s, n, b, n, 0, &t, n)
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, t, n, s, n, 0, &m, n)
  // Symmetrise away rounding so dsyevd sees an exactly symmetric matrix.
  for i in 0..<d {
    for j in (i + 1)..<d {
      let x = 0.5 * (m[i * d + j] + m[j * d + i])
      m[i * d + j] = x
      m[j * d + i] = x
    }
  }
  guard let (w, _) = symmetricEigen(m, d, vectors: false) else { return nil }
  return w.reduce(0) { $0 + max($1, 0).squareRoot() }
}

/// Runs `body` with OpenBLAS single-threaded (we parallelise across independent problems ourselves:
/// small and medium GEMMs do not scale with OpenBLAS threads on this 2-core machine).
func withSingleThreadedBLAS<T>(_ body: () throws -> T) rethrows -> T {
  let before = openblas_get_num_threads()
  openblas_set_num_threads(1)
  defer { openblas_set_num_threads(before) }
  return try body()
}
