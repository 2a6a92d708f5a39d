import XCTest

@testable import CaloMetrics

/// Isotonic calibration (pool-adjacent-violators, clipped outputs, clipped inputs, linear interpolation).
final class IsotonicTests: XCTestCase {
  func testHandWorkedExample() {
    // x:    0.1  0.2  0.2  0.3  0.4  0.5
    // y:    0    1    0    0    1    1
    // Equal x merge: 0.2 → ½ (weight 2). PAV: 0, ½(w2), 0 violates → pool (½·2 + 0)/3 = ⅓ (w3);
    // 0 ≤ ⅓, then 1, 1. Fitted: 0.1→0, 0.2→⅓, 0.3→⅓, 0.4→1, 0.5→1; clipped to [1e-6, 1 − 1e-6].
    let iso = IsotonicRegression(x: [0.3, 0.1, 0.2, 0.5, 0.2, 0.4], y: [0, 0, 1, 1, 0, 1])
    let lo = 1e-6, hi = 1 - 1e-6
    XCTAssertEqual(iso.xs, [0.1, 0.2, 0.3, 0.4, 0.5])
    let expected = [lo, 1.0 / 3, 1.0 / 3, hi, hi]
    for (a, b) in zip(iso.ys, expected) { XCTAssertEqual(a, b, accuracy: 1e-15) }
    // Between fitted points: linear interpolation; outside the fitted range: the end values.
    XCTAssertEqual(iso(0.15), (lo + 1.0 / 3) / 2, accuracy: 1e-12)
    XCTAssertEqual(iso(0.25), 1.0 / 3, accuracy: 1e-12)
    XCTAssertEqual(iso(0.325), 1.0 / 3 + 0.25 * (hi - 1.0 / 3), accuracy: 1e-12)
    XCTAssertEqual(iso(0.45), hi, accuracy: 1e-15)
    XCTAssertEqual(iso(-3), lo)
    XCTAssertEqual(iso(7), hi)
    XCTAssertEqual(iso([0.1, 0.5]), [lo, hi])
  }

  func testMonotoneDataIsKeptAndDecreasingDataIsPooled() {
    let up = IsotonicRegression(x: [1, 2, 3, 4], y: [0.1, 0.2, 0.2, 0.9])
    XCTAssertEqual(up.ys, [0.1, 0.2, 0.2, 0.9])
    let down = IsotonicRegression(x: [1, 2, 3, 4], y: [0.9, 0.6, 0.3, 0.2])
    for v in down.ys { XCTAssertEqual(v, 0.5, accuracy: 1e-15) }  // one block: the mean
    XCTAssertEqual(down(2.5), 0.5, accuracy: 1e-15)
  }

  func testWeightsAndCustomBounds() {
    // Weighted pool of (0.8, w3) and (0.2, w1): (2.4 + 0.2) / 4 = 0.65; bounds [0.1, 0.6] clip it.
    let iso = IsotonicRegression(x: [1, 2], y: [0.8, 0.2], weights: [3, 1], yMin: 0.1, yMax: 0.6)
    XCTAssertEqual(iso.ys, [0.6, 0.6])
    let free = IsotonicRegression(x: [1, 2], y: [0.8, 0.2], weights: [3, 1], yMin: 0, yMax: 1)
    for v in free.ys { XCTAssertEqual(v, 0.65, accuracy: 1e-15) }
  }

  func testResultIsMonotoneAndMinimisesSquaredError() {
    // On random data the fit is non-decreasing, and no small monotone-preserving change of a block
    // lowers the squared error (PAV block means are optimal).
    var rng = SeededRandom(seed: 3)
    let x = (0..<200).map { _ in Double.random(in: 0..<1, using: &rng) }
    let y = x.map { Double.random(in: 0..<1, using: &rng) < $0 ? 1.0 : 0.0 }
    let iso = IsotonicRegression(x: x, y: y, yMin: 0, yMax: 1)
    for k in 1..<iso.ys.count { XCTAssertLessThanOrEqual(iso.ys[k - 1], iso.ys[k]) }
    func sse(_ f: [Double]) -> Double {
      var s = 0.0
      for (xi, yi) in zip(x, y) { s += (f[iso.xs.firstIndex(of: xi)!] - yi) * (f[iso.xs.firstIndex(of: xi)!] - yi) }
      return s
    }
    let base = sse(iso.ys)
    for value in Set(iso.ys) {
      for delta in [-1e-3, 1e-3] {
        let moved = iso.ys.map { $0 == value ? $0 + delta : $0 }
        XCTAssertGreaterThanOrEqual(sse(moved), base - 1e-12)
      }
    }
  }
}
