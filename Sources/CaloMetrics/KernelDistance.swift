// Kernel Physics Distance (KPD) as evaluate.py gets it from jetnet 0.2.5 `kpd` (calochallenge_facts.md §d.6):
// the unbiased squared MMD with the degree-4 polynomial kernel, median over batches.

import COpenBLAS
import Foundation

/// Options of `kpd`, defaulting to evaluate.py's call (`batch_size=10000`, jetnet defaults otherwise).
public struct KPDOptions: Sendable {
  /// Batches (independent MMD estimates).
  public var batches = 10
  /// Rows drawn with replacement from each sample per batch.
  public var batchSize = 10_000
  public var seed: UInt64 = 42
  public init() {}
}

/// Sum of k(a_i, b_j) = (a_i·b_j / d + 1)^4 over all pairs; if `symmetric` (A = B), over i ≠ j only.
///
/// Fast path: OpenBLAS sgemm on tiles of 256 rows × 1024 columns (Float dot products), kernel and sums in
/// Double; row blocks run on all cores. The tile (1 MB) is consumed by the kernel loop while it is still
/// in cache, instead of writing a 256 × n strip (10 MB at n = 10⁴) to memory and reading it back.
/// For A = B only the upper triangle is computed and doubled. Shapes: a (na, d), b (nb, d), row-major.
func polynomialKernelSum(_ a: [Float], _ na: Int, _ b: [Float], _ nb: Int, d: Int, symmetric: Bool) -> Double {
  let block = 256, tile = 1024
  let nBlocks = (na + block - 1) / block
  let gamma = 1 / Double(d)
  var partial = [Double](repeating: 0, count: nBlocks)
  partial.withUnsafeMutableBufferPointer { pp in
    a.withUnsafeBufferPointer { ap in
      b.withUnsafeBufferPointer { bp in
        let out = Shared(pp.baseAddress!), A = Shared(ap.baseAddress!), B = Shared(bp.baseAddress!)
        parallelFor(nBlocks) { blk in
          let r0 = blk * block, rows = min(block, na - r0)
          let g = UnsafeMutablePointer<Float>.allocate(capacity: block * tile)
          defer { g.deallocate() }
          var s = 0.0
          var c0 = symmetric ? r0 : 0
          while c0 < nb {
            let cols = min(tile, nb - c0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(cols), Int32(d), 1,
                        A.value + r0 * d, Int32(d), B.value + c0 * d, Int32(d), 0, g, Int32(cols))   // (rows, cols)
            for i in 0..<rows {
              // Symmetric: columns right of the diagonal count twice, the diagonal not at all.
              let j0 = symmetric ? min(max(r0 + i + 1 - c0, 0), cols) : 0
              s += (symmetric ? 2 : 1) * polynomialRowSum(g + i * cols + j0, cols - j0, gamma: gamma)
            }
            c0 += cols
          }
          out.value[blk] = s
        }
      }
    }
  }
  return partial.reduce(0, +)
}

/// Σ_j (g_j·γ + 1)^4 over `n` dot products, in Double with four independent accumulators
/// (so the loop pipelines; the order of additions differs from a plain loop only by rounding).
@inline(__always)
func polynomialRowSum(_ g: UnsafePointer<Float>, _ n: Int, gamma: Double) -> Double {
  var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
  var j = 0
  while j + 4 <= n {
    let k0 = Double(g[j]) * gamma + 1, k1 = Double(g[j + 1]) * gamma + 1
    let k2 = Double(g[j + 2]) * gamma + 1, k3 = Double(g[j + 3]) * gamma + 1
    let q0 = k0 * k0, q1 = k1 * k1, q2 = k2 * k2, q3 = k3 * k3
    a0 += q0 * q0; a1 += q1 * q1; a2 += q2 * q2; a3 += q3 * q3
    j += 4
  }
  while j < n {
    let k = Double(g[j]) * gamma + 1
    let q = k * k
    a0 += q * q
    j += 1
  }
  return (a0 + a1) + (a2 + a3)
}

/// Unbiased squared MMD with k(x, y) = (x·y/d + 1)^4:
/// Σ_{i≠j} k(x_i,x_j)/(m(m−1)) + Σ_{i≠j} k(y_i,y_j)/(n(n−1)) − 2 Σ k(x_i,y_j)/(m n). Shapes (m, d), (n, d).
public func mmdPolynomialUnbiased(_ x: [Float], _ m: Int, _ y: [Float], _ n: Int, d: Int) -> Double {
  precondition(x.count == m * d && y.count == n * d && m >= 2 && n >= 2, "mmd: bad shapes")
  let kxx = polynomialKernelSum(x, m, x, m, d: d, symmetric: true)
  let kyy = polynomialKernelSum(y, n, y, n, d: d, symmetric: true)
  let kxy = polynomialKernelSum(x, m, y, n, d: d, symmetric: false)
  let dm = Double(m), dn = Double(n)
  return kxx / (dm * (dm - 1)) + kyy / (dn * (dn - 1)) - 2 * kxy / (dm * dn)
}

/// Loop-only Double twin of `mmdPolynomialUnbiased` (the specification; used by the tests).
func naiveMMDPolynomialUnbiased(_ x: [Float], _ m: Int, _ y: [Float], _ n: Int, d: Int) -> Double {
  func k(_ a: [Float], _ i: Int, _ b: [Float], _ j: Int) -> Double {
    var s = 0.0
    for c in 0..<d { s += Double(a[i * d + c]) * Double(b[j * d + c]) }
    return pow(s / Double(d) + 1, 4)
  }
  var xx = 0.0, yy = 0.0, xy = 0.0
  for i in 0..<m { for j in 0..<m where i != j { xx += k(x, i, x, j) } }
  for i in 0..<n { for j in 0..<n where i != j { yy += k(y, i, y, j) } }
  for i in 0..<m { for j in 0..<n { xy += k(x, i, y, j) } }
  let dm = Double(m), dn = Double(n)
  return xx / (dm * (dm - 1)) + yy / (dn * (dn - 1)) - 2 * xy / (dm * dn)
}

/// numpy.percentile with linear interpolation (q in percent) of unsorted values.
public func percentile(_ values: [Double], _ q: Double) -> Double {
  precondition(!values.isEmpty, "percentile of an empty array")
  let s = values.sorted()
  let pos = q / 100 * Double(s.count - 1)
  let lo = Int(pos.rounded(.down)), hi = min(lo + 1, s.count - 1)
  return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
}

/// Kernel Physics Distance of `generated` against `reference` (both unnormalised §d.3 vectors).
///
/// Columns are divided by the reference's max |x|; batch i draws `batchSize` rows with replacement from
/// each sample (seed + 1000·i) and computes the unbiased MMD². KPD = median of the batches, error = half
/// the distance between the 16.275th and 83.725th percentiles. KPD can be slightly negative.
public func kpd(reference: FeatureMatrix, generated: FeatureMatrix, options o: KPDOptions = KPDOptions())
  -> ValueWithError
{
  precondition(reference.cols == generated.cols, "kpd: \(reference.cols) vs \(generated.cols) columns")
  precondition(reference.rows > 0 && generated.rows > 0, "kpd: empty sample")
  let scales = reference.columnScales()
  let x = reference.scaled(by: scales), y = generated.scaled(by: scales)
  let d = x.cols, m = o.batchSize
  var vals: [Double] = []
  withSingleThreadedBLAS {
    for i in 0..<o.batches {
      var rng = SeededRandom(seed: o.seed &+ UInt64(i) &* 1000)
      let ix = rng.indices(m, below: x.rows), iy = rng.indices(m, below: y.rows)
      let xs = gatherRows(x, ix), ys = gatherRows(y, iy)
      vals.append(mmdPolynomialUnbiased(xs, m, ys, m, d: d))
    }
  }
  let med = percentile(vals, 50)
  let err = (percentile(vals, 83.725) - percentile(vals, 16.275)) / 2
  return ValueWithError(value: med, error: err)
}

func gatherRows(_ x: FeatureMatrix, _ rows: [Int]) -> [Float] {
  let d = x.cols
  var out = [Float](repeating: 0, count: rows.count * d)
  for (i, r) in rows.enumerated() { for c in 0..<d { out[i * d + c] = x.values[r * d + c] } }
  return out
}
