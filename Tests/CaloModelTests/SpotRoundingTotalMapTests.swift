// The E_tot/E_inc map of session 19: each shower scaled as a whole by a per-bin quantile map of its
// ratio to the incident energy. Hand-computed cases, the fit recovering a known spread with the order
// of the showers kept, the dither spreading a quantised ratio, strict tables, old tables unchanged.
import CaloGeometry
import CaloTensor
import Foundation
import XCTest
@testable import CaloModel

final class SpotRoundingTotalMapTests: XCTestCase {
  let g = DatasetKind.ds2.geometry

  func testMapRatioInterpolatesBetweenKnotsAndScalesBeyondThem() {
    let d = [1.0, 2, 4], t = [10.0, 20, 30]
    XCTAssertEqual(SpotRoundingTable.mapRatio(1.5, dense: d, target: t), 15, accuracy: 1e-12)
    XCTAssertEqual(SpotRoundingTable.mapRatio(3, dense: d, target: t), 25, accuracy: 1e-12)
    XCTAssertEqual(SpotRoundingTable.mapRatio(2, dense: d, target: t), 20, accuracy: 1e-12)
    XCTAssertEqual(SpotRoundingTable.mapRatio(0.5, dense: d, target: t), 5, accuracy: 1e-12, "below: × 10/1")
    XCTAssertEqual(SpotRoundingTable.mapRatio(5, dense: d, target: t), 37.5, accuracy: 1e-12, "above: × 30/4")
    // Equal knots: r between the last of them and the next knot interpolates from the last.
    XCTAssertEqual(SpotRoundingTable.mapRatio(1.5, dense: [1, 1, 2], target: [10, 12, 20]), 16, accuracy: 1e-12)
    XCTAssertEqual(SpotRoundingTable.mapRatio(0.7, dense: [], target: []), 0.7, "no knots: unchanged")
  }

  /// 0…99 at 4 levels: positions 0.125, 0.375, 0.625, 0.875 of 99.
  func testQuantileKnotsInterpolateTheSortedValues() {
    let k = SpotRoundingFit.quantileKnots((0..<100).reversed().map(Double.init), count: 4)
    XCTAssertEqual(k.count, 4)
    for (a, b) in zip(k, [12.375, 37.125, 61.875, 86.625]) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    XCTAssertEqual(SpotRoundingFit.quantileKnots([], count: 4), [])
  }

  /// A 200 MeV shower holding 100 MeV (r = 0.5) through knots [0.4, 0.6] → [0.8, 1.2] becomes 1.0:
  /// every voxel doubles. With a dither w the ratio is first r + u·w, u the shower's first uniform.
  func testMapTotalScalesTheWholeShower() {
    var x: [Float] = [20, 30, 50, 0]
    var rng = RNG(seed: 3)
    x.withUnsafeMutableBufferPointer {
      SpotRoundingTable.mapTotal($0, 0..<4, energy: 200, dense: [0.4, 0.6], target: [0.8, 1.2], dither: 0, rng: &rng)
    }
    XCTAssertEqual(x, [40, 60, 100, 0])
    var y: [Float] = [20, 30, 50, 0]
    var a = RNG(seed: 3), b = RNG(seed: 3)
    y.withUnsafeMutableBufferPointer {
      SpotRoundingTable.mapTotal($0, 0..<4, energy: 200, dense: [0.4, 0.6], target: [0.8, 1.2], dither: 0.05, rng: &a)
    }
    let want = (0.5 + Double(b.uniform()) * 0.05 - 0.4) / 0.2 * 0.4 + 0.8
    XCTAssertEqual(Double(y.reduce(0, +)) / 200, want, accuracy: 1e-5)
    XCTAssertEqual(Double(y[2] / y[0]), 2.5, accuracy: 1e-5, "shares unchanged")
    var empty: [Float] = [0, 0, 0, 0]
    empty.withUnsafeMutableBufferPointer {
      SpotRoundingTable.mapTotal($0, 0..<4, energy: 200, dense: [0.4, 0.6], target: [0.8, 1.2], dither: 0, rng: &rng)
    }
    XCTAssertEqual(empty, [0, 0, 0, 0], "a shower without energy stays empty")
  }

  /// Dense showers with E_tot/E_inc = 0.9 + 0.05 z, target 0.97 + 0.01 z' (other draws): after the
  /// fitted map the 10th/50th/90th percentiles are the target's, no two showers swap places and each
  /// keeps its split between layers.
  func testFitRecoversTheTargetsSpreadAndKeepsTheOrder() throws {
    let n = 2000, e = 50_000.0
    let denseRatios = normals(n, seed: 5).map { 0.9 + 0.05 * $0 }
    let targetRatios = normals(n, seed: 6).map { 0.97 + 0.01 * $0 }
    let dense = twoLayerShowers(ratios: denseRatios, energy: e)
    let target = twoLayerShowers(ratios: targetRatios, energy: e)
    let fit = ds2Fit(dense: dense, target: target, energy: e)
    let t = fit.table(totalEnergyMap: true)
    XCTAssertNoThrow(try t.validate())
    let b = t.bin(of: e)
    XCTAssertEqual(t.totalRatioDense![b].count, SpotRoundingFit.totalMapKnots)
    XCTAssertTrue(t.totalRatioDense![(b + 1) % t.binCount].isEmpty, "a bin without showers is left alone")
    XCTAssertNil(t.totalRatioDither, "no dither asked")
    var out = dense
    t.apply(&out, energies: [Double](repeating: e, count: n), seeds: (0..<n).map { UInt64($0) })
    let mapped = ratios(out, energy: e)
    for q in [0.1, 0.5, 0.9] {
      XCTAssertEqual(quantile(mapped, q), quantile(targetRatios, q), accuracy: 0.001, "level \(q)")
    }
    let order = denseRatios.indices.sorted { denseRatios[$0] < denseRatios[$1] }
    XCTAssertTrue(zip(order, order.dropFirst()).allSatisfy { mapped[$0] <= mapped[$1] }, "the order stays")
    for i in [0, 7, 1999] {
      XCTAssertEqual(share(out, shower: i), share(dense, shower: i), accuracy: 1e-5, "layer split of shower \(i)")
    }
    XCTAssertNil(fit.table().totalRatioDense, "off: not written")
  }

  /// Dense ratios on levels 0.01 apart (the GPT's quantised R, each value its level's lower edge):
  /// undithered, the map sends each level to one value; dithered over the level, the outputs spread
  /// continuously and their median moves up by half a level's worth of the target.
  func testDitherSpreadsAQuantisedRatioOverItsLevel() throws {
    let n = 2000, e = 50_000.0, w = 0.01
    let levels = normals(n, seed: 8).map { ((0.95 + 0.02 * $0) / w).rounded(.down) * w }
    let dense = twoLayerShowers(ratios: levels, energy: e)
    let target = twoLayerShowers(ratios: normals(n, seed: 9).map { 0.95 + 0.02 * $0 }, energy: e)
    let fit = ds2Fit(dense: dense, target: target, energy: e)
    func distinct(_ t: SpotRoundingTable) -> Int {
      var out = dense
      t.apply(&out, energies: [Double](repeating: e, count: n), seeds: (0..<n).map { UInt64($0) })
      return Set(ratios(out, energy: e).map { ($0 * 1e6).rounded() }).count
    }
    let plain = fit.table(totalEnergyMap: true), dithered = fit.table(totalEnergyMap: true, totalRatioDither: w)
    XCTAssertEqual(dithered.totalRatioDither, w)
    XCTAssertLessThan(distinct(plain), 30, "one value per level")
    XCTAssertGreaterThan(distinct(dithered), n / 2, "spread over the levels")
  }

  func testValidationIsStrictAndOldTablesStayTheSame() throws {
    let n = 100, e = 50_000.0
    let dense = twoLayerShowers(ratios: normals(n, seed: 1).map { 0.9 + 0.05 * $0 }, energy: e)
    let good = ds2Fit(dense: dense, target: dense, energy: e).table(totalEnergyMap: true, totalRatioDither: 0.001)
    XCTAssertNoThrow(try good.validate())
    func rejects(_ change: (inout SpotRoundingTable) -> Void, _ message: String) {
      var t = good
      change(&t)
      XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
    }
    let b = good.bin(of: e)
    rejects({ $0.totalRatioTarget = nil }, "go together")
    rejects({ $0.totalRatioDense!.removeLast() }, "must be 12 rows")
    rejects({ $0.totalRatioDense![b].removeLast() }, "same length")
    rejects({ $0.totalRatioDense![b] = [1] ; $0.totalRatioTarget![b] = [1] }, "same length ≥ 2")
    rejects({ $0.totalRatioTarget![b].swapAt(0, 49) }, "non-decreasing")
    rejects({ $0.totalRatioDense![b][0] = -1 }, "> 0")
    rejects({ $0.totalRatioDither = -0.1 }, "totalRatioDither must be finite and ≥ 0")
    // Through JSON and back: the same table; a table without the fields maps nothing and says nothing.
    let back = try JSONDecoder().decode(SpotRoundingTable.self, from: JSONEncoder().encode(good))
    XCTAssertEqual(back, good)
    XCTAssertFalse(String(decoding: try JSONEncoder().encode(ds2Table()), as: UTF8.self).contains("totalRatio"))
    var emptyRows = ds2Table()
    emptyRows.totalRatioDense = Array(repeating: [], count: emptyRows.binCount)
    emptyRows.totalRatioTarget = emptyRows.totalRatioDense
    XCTAssertNoThrow(try emptyRows.validate())
    XCTAssertEqual(applying(emptyRows, to: dense), applying(ds2Table(), to: dense), "empty rows: nothing moves")
  }

  // MARK: - fixtures

  func normals(_ n: Int, seed: UInt64) -> [Double] {
    var rng = RNG(seed: seed)
    return (0..<n).map { _ in Double(rng.normal()) }
  }

  /// One ds2 shower per ratio r: r·E in layers 3 (a share varying with the row) and 10, each spread
  /// over 4 voxels of 2–4 MeV and more, so spot rounding at ε = 0 leaves them alone.
  func twoLayerShowers(ratios: [Double], energy e: Double) -> [Float] {
    let v = g.voxelCount
    var x = [Float](repeating: 0, count: ratios.count * v)
    for (i, r) in ratios.enumerated() {
      let a = 0.2 + 0.5 * Double(i % 10) / 10
      for k in 0..<4 {
        x[i * v + g.offsets[3] + k] = Float(r * e * a / 4)
        x[i * v + g.offsets[10] + k] = Float(r * e * (1 - a) / 4)
      }
    }
    return x
  }

  func ratios(_ x: [Float], energy e: Double) -> [Double] {
    let v = g.voxelCount
    return (0..<(x.count / v)).map { i in x[(i * v)..<((i + 1) * v)].reduce(0.0) { $0 + Double($1) } / e }
  }

  func share(_ x: [Float], shower i: Int) -> Double {
    let v = g.voxelCount
    let l3 = x[(i * v + g.offsets[3])..<(i * v + g.offsets[4])].reduce(0.0) { $0 + Double($1) }
    return l3 / x[(i * v)..<((i + 1) * v)].reduce(0.0) { $0 + Double($1) }
  }

  func quantile(_ x: [Double], _ q: Double) -> Double {
    let s = x.sorted()
    let pos = q * Double(s.count - 1), lo = Int(pos)
    return s[lo] + (pos - Double(lo)) * (s[Swift.min(lo + 1, s.count - 1)] - s[lo])
  }
}
