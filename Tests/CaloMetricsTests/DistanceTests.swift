import CaloGeometry
import XCTest

@testable import CaloMetrics

final class DistanceTests: XCTestCase {
  /// n rows of d independent normals with per-column mean `shift` and sd `sd`.
  func gaussian(_ n: Int, _ d: Int, shift: Double = 0, sd: Double = 1, seed: UInt64) -> FeatureMatrix {
    var rng = SeededRandom(seed: seed)
    return FeatureMatrix(cols: d, values: (0..<(n * d)).map { _ in Float(shift + sd * rng.normal()) })
  }

  func testFrechetDistanceClosedFormDiagonal() {
    // Diagonal covariances: FD = Σ (μ1−μ2)² + Σ (σ1 − σ2)².
    let d = 3
    let m1 = [0.0, 1, 2], m2 = [1.0, 1, 0]
    let v1 = [1.0, 4, 9], v2 = [4.0, 1, 9]
    func diag(_ v: [Double]) -> [Double] {
      var a = [Double](repeating: 0, count: d * d)
      for i in 0..<d { a[i * d + i] = v[i] }
      return a
    }
    let fd = frechetDistance(mean1: m1, cov1: diag(v1), mean2: m2, cov2: diag(v2))
    XCTAssertEqual(fd, (1 + 0 + 4) + (1 + 1 + 0), accuracy: 1e-10)
    // Rotating both covariances by the same orthogonal matrix leaves FD unchanged.
    let c = cos(0.3), s = sin(0.3)
    let r = [c, -s, 0, s, c, 0, 0, 0, 1]
    func rot(_ a: [Double]) -> [Double] {
      var t = [Double](repeating: 0, count: 9), o = [Double](repeating: 0, count: 9)
      for i in 0..<3 { for j in 0..<3 { for k in 0..<3 { t[i * 3 + j] += r[i * 3 + k] * a[k * 3 + j] } } }
      for i in 0..<3 { for j in 0..<3 { for k in 0..<3 { o[i * 3 + j] += t[i * 3 + k] * r[j * 3 + k] } } }
      return o
    }
    let fdr = frechetDistance(mean1: m1, cov1: rot(diag(v1)), mean2: m2, cov2: rot(diag(v2)))
    XCTAssertEqual(fdr, fd, accuracy: 1e-9)
  }

  func testFastCovarianceMatchesNaiveTwin() {
    let x = gaussian(9000, 7, shift: 5, sd: 0.3, seed: 1)
    var rng = SeededRandom(seed: 2)
    let rows = rng.indices(12000, below: 9000)  // many repeats; ~6600 distinct rows, two ssyrk blocks
    let (mf, cf) = meanCovariance(x, rows: rows, centre: naiveColumnMeans(x))
    let (mn, cn) = naiveMeanCovariance(x, rows: rows)
    for i in 0..<7 { XCTAssertEqual(mf[i], mn[i], accuracy: 1e-9) }
    for i in 0..<49 { XCTAssertEqual(cf[i], cn[i], accuracy: 1e-6) }
  }

  func smallFPD() -> FPDOptions {
    var o = FPDOptions()
    o.minSamples = 400
    o.maxSamples = 2000
    o.batches = 4
    return o
  }

  func testFPDIdenticalSamplesNearZero() {
    let x = gaussian(4000, 5, shift: 2, seed: 3)
    let r = fpd(reference: x, generated: x, options: smallFPD())
    XCTAssertGreaterThanOrEqual(r.value, 0)
    XCTAssertLessThan(r.value, 2e-3)
  }

  func testFPDShiftedGaussiansMatchClosedForm() {
    // X ~ N(0, 1)^d, Y ~ N(δ, 1)^d. After dividing columns by the reference max |x| (s_c), the
    // true Fréchet distance is Σ_c (δ / s_c)²; the N → ∞ extrapolation should recover it.
    let d = 4, delta = 0.5
    let x = gaussian(20000, d, seed: 4), y = gaussian(20000, d, shift: delta, seed: 5)
    let s = x.columnScales()
    let expected = s.reduce(0) { $0 + (delta / $1) * (delta / $1) }
    let r = fpd(reference: x, generated: y, options: smallFPD())
    XCTAssertEqual(r.value, expected, accuracy: 0.1 * expected)
    XCTAssertGreaterThanOrEqual(r.error, 0)
    // Seeded: same inputs, same result.
    XCTAssertEqual(fpd(reference: x, generated: y, options: smallFPD()), r)
  }

  func testInterceptFit() {
    let xs = (1...10).map { 1 / Double(1000 * $0) }
    let exact = fitInterceptNonNegative(x: xs, y: xs.map { 2 + 3 * $0 })
    XCTAssertEqual(exact.value, 2, accuracy: 1e-9)
    XCTAssertEqual(exact.error, 0, accuracy: 1e-6)
    // A negative unconstrained intercept is clamped to 0 (a, b ≥ 0).
    let neg = fitInterceptNonNegative(x: xs, y: xs.map { -1 + 5000 * $0 })
    XCTAssertEqual(neg.value, 0)
  }

  func testMMDMatchesNaiveTwin() {
    let x = gaussian(300, 6, sd: 0.5, seed: 6), y = gaussian(280, 6, shift: 0.2, sd: 0.5, seed: 7)
    let fast = withSingleThreadedBLAS { mmdPolynomialUnbiased(x.values, 300, y.values, 280, d: 6) }
    let slow = naiveMMDPolynomialUnbiased(x.values, 300, y.values, 280, d: 6)
    XCTAssertEqual(fast, slow, accuracy: 1e-6 * abs(slow) + 1e-9)
  }

  func testKPDSignAndScale() {
    var o = KPDOptions()
    o.batchSize = 500
    o.batches = 5
    let x = gaussian(5000, 4, seed: 8)
    let same = kpd(reference: x, generated: gaussian(5000, 4, seed: 9), options: o)
    let near = kpd(reference: x, generated: gaussian(5000, 4, shift: 0.3, seed: 10), options: o)
    let far = kpd(reference: x, generated: gaussian(5000, 4, shift: 1.0, seed: 11), options: o)
    XCTAssertLessThan(abs(same.value), near.value)
    XCTAssertGreaterThan(near.value, 0)
    XCTAssertGreaterThan(far.value, 3 * near.value)
    XCTAssertGreaterThanOrEqual(same.error, 0)
  }

  func testPercentileLikeNumpy() {
    XCTAssertEqual(percentile([4, 1, 3, 2], 50), 2.5)
    XCTAssertEqual(percentile([1, 2, 3, 4, 5], 16.275), 1.651, accuracy: 1e-12)
  }
}

final class RunningSeparationTests: XCTestCase {
  /// Shower-like ds1-photon showers: exponential-ish energies in layers 1 and 2.
  func batch(_ n: Int, seed: UInt64, scale: Float = 1) -> ([Double], [Float]) {
    var rng = SeededRandom(seed: seed)
    let g = DatasetKind.ds1Photon.geometry
    var e: [Double] = [], s = [Float](repeating: 0, count: n * g.voxelCount)
    for i in 0..<n {
      let einc = Double(1 << Int.random(in: 8...22, using: &rng))
      e.append(einc)
      for k in 8..<358 where Double.random(in: 0..<1, using: &rng) < 0.3 {
        s[i * g.voxelCount + k] = scale * Float(einc / 100 * Double.random(in: 0..<1, using: &rng))
      }
    }
    return (e, s)
  }

  func testIdenticalSamplesGiveZeroAndBatchingDoesNotMatter() throws {
    let (e, s) = batch(400, seed: 1)
    let run = RunningSeparation(reference: try ReferenceHistograms.build(kind: .ds1Photon) { body in
      try body(Array(e[..<150]), Array(s[..<(150 * 368)]))
      try body(Array(e[150...]), Array(s[(150 * 368)...]))
    })
    XCTAssertEqual(run.reference.count, 400)
    XCTAssertTrue(run.current().allSatisfy { $0.value == nil })  // nothing generated yet
    run.add(energies: e, showers: s)
    let entries = run.current()
    XCTAssertEqual(run.generatedCount, 400)
    for en in entries where en.value != nil { XCTAssertEqual(en.value!, 0, accuracy: 1e-15, en.label) }
    // Layer 0 and 3, 12 are empty in the reference: their energy histograms are undefined, not a crash.
    XCTAssertNil(entries.first { $0.label == "E layer 0" }!.value)
    XCTAssertNotNil(entries.first { $0.label == "E layer 1" }!.value)
    XCTAssertNotNil(entries.first { $0.label == "Voxel distribution" }!.value)
    let h = run.histograms().first { $0.spec.label == "E layer 1" }!
    XCTAssertEqual(h.referenceCounts, h.generatedCounts)
    XCTAssertEqual(h.binning!.edges.count, 40)
  }

  func testScaledSampleSeparates() throws {
    let (e, s) = batch(300, seed: 2)
    let ref = try ReferenceHistograms.build(kind: .ds1Photon) { body in try body(e, s) }
    let run = RunningSeparation(reference: ref)
    let (e2, s2) = batch(300, seed: 3, scale: 3)
    run.add(energies: e2, showers: s2)
    let resp = run.current().first { $0.feature == .response }!
    // Response of the reference ≈ 0.3·350/100·½ ≈ 0.5 and of the scaled sample ≈ 1.6: almost disjoint.
    XCTAssertGreaterThan(resp.value ?? 0, 0.5)
    run.reset()
    XCTAssertEqual(run.generatedCount, 0)
  }
}
