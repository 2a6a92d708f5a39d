// The SIMD8 kernels of the fast GPT sampler against their naive twins: vector exp and the fused
// softmax pass, the rational erf and GELU, attention of one query, LayerNorm (GPTKernels).
import CaloTensor
import Foundation
import XCTest

@testable import CaloModel

final class GPTVectorKernelTests: XCTestCase {
  /// Inputs for exp: −∞, the cut-off at −87.3 from both sides, very negative, tiny and zero, and a
  /// dense sweep of [−90, 0].
  func expInputs() -> [Float] {
    var xs: [Float] = [-.infinity, -1e30, -1000, -103.97, -88, -87.33, Float(-87.3).nextDown, -87.3, Float(-87.3).nextUp, -87.29,
                       -50, -10, -1, -0.5, -0.346_573_6, -1e-3, -1e-7, -1e-30, -Float.leastNonzeroMagnitude, -0.0, 0]
    for i in 0..<90_001 { xs.append(-90 + Float(i) * 0.001) }
    while xs.count % 8 != 0 { xs.append(-0.25) }
    return xs
  }

  /// `exp8` equals the scalar `exp` bit for bit for x ≤ 0 (same operations), and both are within
  /// 2.5e-7 relative of the Double exponential; below −87.3 both give exactly 0.
  func testExp8MatchesScalarExpAndDouble() {
    let xs = expInputs()
    var maxRel = 0.0
    xs.withUnsafeBufferPointer { p in
      for i in stride(from: 0, to: xs.count, by: 8) {
        let v = GPTKernels.exp8(GPTKernels.load8(p.baseAddress! + i))
        for k in 0..<8 {
          let x = xs[i + k], s = GPTKernels.exp(x)
          XCTAssertEqual(v[k].bitPattern, s.bitPattern, "exp8(\(x)) = \(v[k]), scalar \(s)")
          if x < -87.3 {
            XCTAssertEqual(v[k], 0, "exp8(\(x))")
          } else {
            let r = Foundation.exp(Double(x))
            maxRel = max(maxRel, abs(Double(v[k]) - r) / r)
          }
        }
      }
    }
    XCTAssertLessThan(maxRel, 2.5e-7)
    XCTAssertEqual(GPTKernels.exp8(SIMD8(repeating: 0)), SIMD8(repeating: 1))
  }

  /// The fused SIMD8 softmax pass against the scalar loop: same values and the same sum (same
  /// summation order), for lengths with and without a scalar tail, masked (−∞) entries and a
  /// temperature.
  func testExpShiftSumMatchesNaiveTwin() {
    var rng = RNG(seed: 3)
    for n in [1, 7, 8, 13, 1024, 1027] {
      for invT: Float in [1, 1 / 0.7] {
        var x = (0..<n).map { _ in rng.uniform(-30, 12) }
        for j in stride(from: 0, to: n, by: 5) where j > 0 { x[j] = -.infinity }
        let m = x.max()!
        var a = x, b = x
        let sa = a.withUnsafeMutableBufferPointer { GPTKernels.expShiftSum($0.baseAddress!, n, max: m, invT: invT) }
        let sb = b.withUnsafeMutableBufferPointer { GPTKernels.expShiftSumNaive($0.baseAddress!, n, max: m, invT: invT) }
        XCTAssertEqual(a, b, "n \(n)")
        XCTAssertEqual(sa, sb, "n \(n)")
      }
    }
  }

  /// The rational `erf8` against the Double erf: |error| ≤ 5e-7 on [−8, 8] and at ±∞-ish inputs.
  func testErf8AgainstDouble() {
    var xs: [Float] = [-.greatestFiniteMagnitude, -1e10, -4.5, 4.5, 1e10, .greatestFiniteMagnitude, 0, -1e-30, 1e-30]
    for i in 0..<160_000 { xs.append(-8 + Float(i) * 1e-4) }
    for i in stride(from: 0, to: xs.count & ~7, by: 8) {
      let v = GPTKernels.erf8(SIMD8((0..<8).map { xs[i + $0] }))
      for k in 0..<8 {
        let x = xs[i + k]
        XCTAssertEqual(Double(v[k]), Foundation.erf(Double(x)), accuracy: 5e-7, "erf8(\(x))")
      }
    }
  }

  /// SIMD8 GELU (rational erf, ≤ 4.5e-7) against the scalar loop (A&S erf, ≤ 3e-7): the erf
  /// difference is ≤ 7.5e-7, so |Δgelu| ≤ ½|x|·7.5e-7 + rounding; tolerance 5e-7·max(1, |x|). Over
  /// the old branch point ±0.707, the clamp at ±4√2 and the far tails; lengths with a tail.
  func testGeluMatchesNaiveTwin() {
    var xs: [Float] = [-.greatestFiniteMagnitude, -40, -9.5, -5, -0.708, -0.707, -1e-6, 0, 1e-6, 0.707, 0.708, 5, 9.5, 40]
    for i in 0..<20_003 { xs.append(-12 + Float(i) * 0.0012) }
    var a = xs, b = xs
    a.withUnsafeMutableBufferPointer { GPTKernels.geluInPlace($0.baseAddress!, xs.count) }
    b.withUnsafeMutableBufferPointer { GPTKernels.geluInPlaceNaive($0.baseAddress!, xs.count) }
    for i in 0..<xs.count { XCTAssertEqual(a[i], b[i], accuracy: 5e-7 * max(1, abs(xs[i])), "gelu(\(xs[i]))") }
    XCTAssertEqual(xs.count % 8, 1, "the sweep should leave a scalar tail")
  }

  /// Attention of one query: SIMD path (head sizes multiple of 8) against the scalar twin, relative
  /// 1e-5 of the output scale; odd head sizes take the twin itself.
  func testAttendOneMatchesNaiveTwin() {
    var rng = RNG(seed: 9)
    for (hs, C) in [(32, 64), (16, 16), (128, 128), (8, 24), (12, 24)] {
      for n in [1, 5, 8, 9, 44, 160] {
        let q = (0..<C).map { _ in rng.uniform(-2, 2) }
        let keys = (0..<(n * C)).map { _ in rng.uniform(-2, 2) }, values = (0..<(n * C)).map { _ in rng.uniform(-1, 1) }
        var sa = [Float](repeating: 0, count: (n + 7) & ~7), sb = sa
        var oa = [Float](repeating: 0, count: hs), ob = oa
        q.withUnsafeBufferPointer { pq in keys.withUnsafeBufferPointer { pk in values.withUnsafeBufferPointer { pv in
          GPTKernels.attendOne(q: pq.baseAddress!, keys: pk.baseAddress!, values: pv.baseAddress!, n: n, hs: hs, stride: C,
                               scale: 0.3, scores: &sa, out: &oa)
          GPTKernels.attendOneNaive(q: pq.baseAddress!, keys: pk.baseAddress!, values: pv.baseAddress!, n: n, hs: hs,
                                    stride: C, scale: 0.3, scores: &sb, out: &ob)
        } } }
        for i in 0..<hs { XCTAssertEqual(oa[i], ob[i], accuracy: 1e-5, "hs \(hs) n \(n) i \(i)") }
      }
    }
  }

  /// LayerNorm with 8-wide sums against serial sums (widths with and without a tail).
  func testLayerNormMatchesNaiveTwin() {
    var rng = RNG(seed: 4)
    for C in [16, 64, 67, 128] {
      let rows = 5
      let x = (0..<(rows * C)).map { _ in rng.uniform(-3, 5) }
      let w = (0..<C).map { _ in rng.uniform(0.5, 1.5) }, b = (0..<C).map { _ in rng.uniform(-0.5, 0.5) }
      var ya = [Float](repeating: 0, count: rows * C), yb = ya
      GPTKernels.layerNorm(x, &ya, w, b, rows: rows, C)
      GPTKernels.layerNormNaive(x, &yb, w, b, rows: rows, C)
      for i in 0..<(rows * C) { XCTAssertEqual(ya[i], yb[i], accuracy: 1e-5, "C \(C) i \(i)") }
    }
  }
}
