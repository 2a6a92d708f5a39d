// Fréchet Physics Distance (FPD) as evaluate.py gets it from jetnet 0.2.5 `fpd` (calochallenge_facts.md §d.6):
// Fréchet distances of Gaussians fitted to subsamples of growing size, extrapolated to N → ∞.

import COpenBLAS
import Foundation

/// A metric value with its uncertainty.
public struct ValueWithError: Sendable, Equatable, Codable {
  public var value: Double
  public var error: Double
  public init(value: Double, error: Double) {
    self.value = value
    self.error = error
  }
}

/// Mean (d) and covariance (d×d, row-major, ddof = 1 like numpy.cov) of the rows `rows` of `x`.
///
/// Fast path: distinct rows, weighted by how often they were drawn, are centred on `centre` (the whole
/// sample's mean) in Float and multiplied with OpenBLAS `ssyrk` in blocks of 4096 rows summed in
/// Double; the shift between the subsample mean and `centre` is then removed exactly in Double. Centring
/// keeps the Float products small, so the relative error of the covariance stays ~1e-6 (checked against
/// `naiveMeanCovariance`). The block gather works on raw pointers: captured Swift arrays mutated inside
/// the closures cost more per element than the arithmetic (perf: 6.5 % of a ds2 evaluation).
func meanCovariance(_ x: FeatureMatrix, rows: [Int], centre: [Double]) -> (mean: [Double], cov: [Double]) {
  let d = x.cols, n = rows.count
  precondition(n >= 2, "covariance needs at least 2 rows")
  // A with-replacement subsample repeats rows: Σ over draws = Σ over distinct rows of w·z·zᵀ, and
  // scaling a row by sqrt(w) lets one ssyrk do it (~12 % fewer rows over the FPD sample sizes).
  var weight = [Int32](repeating: 0, count: x.rows)
  var distinct: [Int] = []
  distinct.reserveCapacity(n)
  for r in rows {
    if weight[r] == 0 { distinct.append(r) }
    weight[r] += 1
  }
  // Big blocks amortise BLAS packing and the Double accumulation; centring keeps Float sums accurate.
  let block = 4096
  var acc = [Double](repeating: 0, count: d * d)
  var colSum = [Double](repeating: 0, count: d)
  let cf = centre.map { Float($0) }
  // Float(centre) is what is actually subtracted; account for it exactly below.
  let cUsed = cf.map { Double($0) }
  let buf = UnsafeMutablePointer<Float>.allocate(capacity: block * d)
  let tmp = UnsafeMutablePointer<Float>.allocate(capacity: d * d)
  defer { buf.deallocate(); tmp.deallocate() }
  x.values.withUnsafeBufferPointer { xvb in
    weight.withUnsafeBufferPointer { wb in
      cf.withUnsafeBufferPointer { cfb in
        colSum.withUnsafeMutableBufferPointer { csb in
          acc.withUnsafeMutableBufferPointer { accb in
            let xv = xvb.baseAddress!, wv = wb.baseAddress!, c0 = cfb.baseAddress!, cs = csb.baseAddress!
            var start = 0
            while start < distinct.count {
              let m = min(block, distinct.count - start)
              for i in 0..<m {
                let r = distinct[start + i]
                let src = xv + r * d, dst = buf + i * d
                let w = Double(wv[r]), sw = Float(w.squareRoot())
                for c in 0..<d {
                  let v = src[c] - c0[c]
                  dst[c] = v * sw
                  cs[c] += w * Double(v)
                }
              }
              // tmp (upper triangle) = Bᵀ·B over this block (B: m × d, row-major).      // (d, d)
              cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(m), 1, buf, Int32(d), 0, tmp, Int32(d))
              for i in 0..<d { for j in i..<d { accb[i * d + j] += Double(tmp[i * d + j]) } }
              start += m
            }
          }
        }
      }
    }
  }
  let delta = colSum.map { $0 / Double(n) }
  var cov = [Double](repeating: 0, count: d * d)
  for i in 0..<d {
    for j in i..<d {
      let v = (acc[i * d + j] - Double(n) * delta[i] * delta[j]) / Double(n - 1)
      cov[i * d + j] = v
      cov[j * d + i] = v
    }
  }
  let mean = (0..<d).map { cUsed[$0] + delta[$0] }
  return (mean, cov)
}

/// Loop-only Double twin of `meanCovariance` (the specification; used by the tests).
func naiveMeanCovariance(_ x: FeatureMatrix, rows: [Int]) -> (mean: [Double], cov: [Double]) {
  let d = x.cols, n = Double(rows.count)
  var mean = [Double](repeating: 0, count: d)
  for r in rows { for c in 0..<d { mean[c] += Double(x.values[r * d + c]) } }
  mean = mean.map { $0 / n }
  var cov = [Double](repeating: 0, count: d * d)
  for r in rows {
    for i in 0..<d {
      let a = Double(x.values[r * d + i]) - mean[i]
      for j in 0..<d { cov[i * d + j] += a * (Double(x.values[r * d + j]) - mean[j]) }
    }
  }
  return (mean, cov.map { $0 / (n - 1) })
}

/// Fréchet distance between N(μ1, Σ1) and N(μ2, Σ2): ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½).
/// The trace of the square root uses the symmetric form Tr sqrt(Σ1^½ Σ2 Σ1^½) (LAPACK dsyevd).
public func frechetDistance(mean1: [Double], cov1: [Double], mean2: [Double], cov2: [Double]) -> Double {
  let d = mean1.count
  precondition(mean2.count == d && cov1.count == d * d && cov2.count == d * d, "frechetDistance: shapes differ")
  var diff = 0.0
  for i in 0..<d { diff += (mean1[i] - mean2[i]) * (mean1[i] - mean2[i]) }
  var tr = 0.0
  for i in 0..<d { tr += cov1[i * d + i] + cov2[i * d + i] }
  guard let ts = traceSqrtProduct(cov1, cov2, d) else { return .nan }
  return diff + tr - 2 * ts
}

/// Options of `fpd`, defaulting to evaluate.py's call (`min_samples=10000`, jetnet defaults otherwise).
public struct FPDOptions: Sendable {
  /// Smallest and largest subsample sizes; sizes are int(1/linspace(1/min, 1/max, points)).
  public var minSamples = 10_000
  public var maxSamples = 50_000
  /// Number of subsample sizes.
  public var points = 10
  /// Subsample pairs per size (averaged).
  public var batches = 20
  public var seed: UInt64 = 42
  public init() {}
}

/// The subsample sizes N_j = int(1 / linspace(1/min, 1/max, points)) (truncation as numpy's astype).
public func fpdSampleSizes(_ o: FPDOptions) -> [Int] {
  linspace(1 / Double(o.minSamples), 1 / Double(o.maxSamples), o.points).map { Int(1 / $0) }
}

/// Fréchet Physics Distance of `generated` against `reference` (both unnormalised §d.3 vectors).
///
/// Columns are divided by the reference's max |x|; for each size N_j, `batches` pairs of subsamples are
/// drawn with replacement and their Fréchet distances averaged; a + b/N with a, b ≥ 0 is fitted to the
/// averages. FPD = a, error = sqrt of the fit variance of a (scipy curve_fit's covariance).
/// Seeded: the same inputs and seed give the same result regardless of thread scheduling. The random
/// stream is ours (xoshiro), not numpy's, so values agree with jetnet statistically, not bit for bit.
public func fpd(reference: FeatureMatrix, generated: FeatureMatrix, options o: FPDOptions = FPDOptions())
  -> ValueWithError
{
  precondition(reference.cols == generated.cols, "fpd: \(reference.cols) vs \(generated.cols) columns")
  precondition(reference.rows > 0 && generated.rows > 0, "fpd: empty sample")
  let scales = reference.columnScales()
  let x = reference.scaled(by: scales), y = generated.scaled(by: scales)
  let cx = naiveColumnMeans(x), cy = naiveColumnMeans(y)
  let sizes = fpdSampleSizes(o)
  var means = [Double](repeating: 0, count: sizes.count)
  withSingleThreadedBLAS {
    for (p, n) in sizes.enumerated() {
      var vals = [Double](repeating: 0, count: o.batches)
      vals.withUnsafeMutableBufferPointer { vp in
        let out = Shared(vp.baseAddress!)
        parallelFor(o.batches) { b in
          // One stream per (size, batch): results do not depend on which thread runs what.
          var rng = SeededRandom(seed: o.seed &+ UInt64(p) &* 1_000_003 &+ UInt64(b) &* 7919)
          let ix = rng.indices(n, below: x.rows), iy = rng.indices(n, below: y.rows)
          let (m1, s1) = meanCovariance(x, rows: ix, centre: cx)
          let (m2, s2) = meanCovariance(y, rows: iy, centre: cy)
          out.value[b] = frechetDistance(mean1: m1, cov1: s1, mean2: m2, cov2: s2)
        }
      }
      means[p] = vals.reduce(0, +) / Double(vals.count)
    }
  }
  return fitInterceptNonNegative(x: sizes.map { 1 / Double($0) }, y: means)
}

func naiveColumnMeans(_ x: FeatureMatrix) -> [Double] {
  var m = [Double](repeating: 0, count: x.cols)
  for i in 0..<x.rows { for c in 0..<x.cols { m[c] += Double(x.values[i * x.cols + c]) } }
  return m.map { $0 / Double(max(x.rows, 1)) }
}

/// Least-squares fit of y = a + b·x with a, b ≥ 0; returns a and sqrt(cov[a,a]) where
/// cov = (JᵀJ)⁻¹ · SSR / (M − 2), J = [1, x] (what scipy's curve_fit reports for this model).
public func fitInterceptNonNegative(x: [Double], y: [Double]) -> ValueWithError {
  let m = Double(x.count)
  precondition(x.count == y.count && x.count >= 3, "fit needs ≥ 3 points")
  let sx = x.reduce(0, +), sy = y.reduce(0, +)
  let sxx = x.reduce(0) { $0 + $1 * $1 }
  var sxy = 0.0
  for i in x.indices { sxy += x[i] * y[i] }
  let det = m * sxx - sx * sx
  func ssr(_ a: Double, _ b: Double) -> Double {
    var s = 0.0
    for i in x.indices { s += (y[i] - a - b * x[i]) * (y[i] - a - b * x[i]) }
    return s
  }
  // The constrained optimum is the unconstrained one if feasible, else the best fit on a boundary.
  var best: (a: Double, b: Double)
  let bu = (m * sxy - sx * sy) / det, au = (sy - bu * sx) / m
  if au >= 0 && bu >= 0 {
    best = (au, bu)
  } else {
    let candidates = [(0.0, max(sxy / sxx, 0)), (max(sy / m, 0), 0.0)]
    best = candidates.min { ssr($0.0, $0.1) < ssr($1.0, $1.1) }!
  }
  let varA = (sxx / det) * ssr(best.a, best.b) / (m - 2)
  return ValueWithError(value: best.a, error: max(varA, 0).squareRoot())
}
