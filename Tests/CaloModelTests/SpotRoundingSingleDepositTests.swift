// The sixth spot-rounding refinement: single deposits (a layer holding less than E_c gets its whole
// energy in one voxel drawn ∝ its value). Hand-computed cases for the collapse and the single-deposit
// share, the fit recovering a known share, strict tables, and old tables unchanged.
import CaloGeometry
import CaloTensor
import Foundation
import XCTest
@testable import CaloModel

final class SpotRoundingSingleDepositTests: XCTestCase {
  let g = DatasetKind.ds2.geometry   // 45 layers of 16 angles × 9 radii, radius fastest

  func testCollapseMovesTheLayerIntoOneVoxelDrawnByValue() {
    // Values 1, 0, 3, 4 (sum 8): the uniform u picks the first voxel whose running sum exceeds 8u.
    var rng = RNG(seed: 5), twin = rng
    var x: [Float] = [1, 0, 3, 4, 9]
    x.withUnsafeMutableBufferPointer { SpotRoundingTable.collapse($0, 0..<4, below: 10, rng: &rng) }
    let u = Double(twin.uniform()) * 8
    let chosen = u < 1 ? 0 : u < 4 ? 2 : 3
    var want: [Float] = [0, 0, 0, 0, 9]
    want[chosen] = 8
    XCTAssertEqual(x, want, "u·8 = \(u)")
    XCTAssertEqual(rng.next(), twin.next(), "one uniform")
    // At or above E_c, E_c = 0 and an empty layer: unchanged; a uniform is drawn whenever E_c > 0.
    var big: [Float] = [1, 0, 3, 4]
    var r0 = RNG(seed: 1), r1 = r0
    big.withUnsafeMutableBufferPointer { SpotRoundingTable.collapse($0, 0..<4, below: 8, rng: &r0) }
    XCTAssertEqual(big, [1, 0, 3, 4])
    _ = r1.uniform()
    XCTAssertEqual(r0.next(), r1.next())
    var empty: [Float] = [0, 0]
    var r2 = RNG(seed: 1), r3 = r2
    empty.withUnsafeMutableBufferPointer { SpotRoundingTable.collapse($0, 0..<2, below: 0, rng: &r2) }
    XCTAssertEqual(r2.next(), r3.next(), "E_c = 0 draws nothing")
    // Over many draws the choice follows the values: voxel 3 gets 4/8 of them.
    var counts = [0, 0, 0, 0]
    var r = RNG(seed: 11)
    for _ in 0..<4000 {
      var y: [Float] = [1, 0, 3, 4]
      y.withUnsafeMutableBufferPointer { SpotRoundingTable.collapse($0, 0..<4, below: 10, rng: &r) }
      counts[y.firstIndex(of: 8)!] += 1
    }
    XCTAssertEqual(counts[1], 0)
    XCTAssertEqual(Double(counts[3]) / 4000, 0.5, accuracy: 0.03)
    XCTAssertEqual(Double(counts[0]) / 4000, 0.125, accuracy: 0.02)
  }

  func testSingleDepositFractionOnHandCases() {
    // Width 3, threshold 1: [2, 0.5, 0] one voxel ≥ 1 → single; [2, 1, 0] two; [0.5, 0, 0] nothing
    // (left out); [0, 0, 5] single → 2 of 3.
    let x: [Float] = [2, 0.5, 0, 2, 1, 0, 0.5, 0, 0, 0, 0, 5]
    XCTAssertEqual(SpotRoundingFit.singleDepositFraction(x, showers: 4, threshold: 1), 2.0 / 3, accuracy: 1e-12)
    XCTAssertTrue(SpotRoundingFit.singleDepositFraction([0, 0], showers: 1, threshold: 1).isNaN)
  }

  /// Dense layers spread over the whole ring (energies 10…1000 MeV, log-uniform) against targets that
  /// are the same showers with every layer below 100 MeV collapsed into one voxel: the fitted E_c lands
  /// between the neighbouring energies around 100 MeV, so the single-deposit share comes back. Layer 7.
  func testFitRecoversTheShareOfSingleDeposits() {
    let l = 7, v = g.voxelCount, n = 600
    var dense = [Float](repeating: 0, count: n * v)
    var rng = RNG(seed: 3)
    var energies: [Double] = []
    for i in 0..<n {
      let e = pow(10, 1 + 2 * Double(rng.uniform()))
      energies.append(e)
      for k in 0..<144 { dense[i * v + g.offsets[l] + k] = Float(e / 144) }
    }
    var target = dense
    var rt = RNG(seed: 4)
    target.withUnsafeMutableBufferPointer { buf in
      for i in 0..<n { SpotRoundingTable.collapse(buf, (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1]), below: 100, rng: &rt) }
    }
    let fit = ds2Fit(dense: dense, target: target, energy: 20_000)
    let t = fit.table(exponents: true, conservingLayerEnergy: true, singleDeposits: true)
    XCTAssertNoThrow(try t.validate())
    let b = t.bin(of: 20_000)
    assertBetweenNeighbours(t.singleDepositBelowMeV![b][l], of: energies, around: 100)
    XCTAssertEqual(t.singleDepositBelowMeV![b][l + 1], 0, "an empty layer gets none")
    XCTAssertNil(fit.table(exponents: true, conservingLayerEnergy: true).singleDepositBelowMeV, "off: not written")
    // A target that already matches needs no collapse.
    let same = ds2Fit(dense: dense, target: dense, energy: 20_000)
    XCTAssertEqual(same.table(exponents: true, conservingLayerEnergy: true, singleDeposits: true).singleDepositBelowMeV![b][l], 0)
  }

  /// Applied by a table: layers below E_c hold one voxel with the layer's energy, the others are
  /// untouched, the same seeds give the same showers, and all-zero E_c equals a table without the field.
  func testApplyCollapsesOnlyLowEnergyLayersAndOldTablesAreUnchanged() throws {
    let l = 3, v = g.voxelCount, o = g.offsets[l], n = 40
    var base = [Float](repeating: 0, count: n * v)
    for i in 0..<n { for k in 0..<144 { base[i * v + o + k] = Float(i + 1) / 144 } }   // layer energy i + 1 MeV
    let t = try ds2Table(setting: \.singleDepositBelowMeV, to: 20.5, layer: l, checkedOn: base)
    let c = applying(t, to: base)
    XCTAssertEqual(c, applying(t, to: base), "same seeds, same showers")
    for i in 0..<n {
      let layer = Array(c[(i * v + o)..<(i * v + o + 144)])
      XCTAssertEqual(Double(layer.reduce(0, +)), Double(i + 1), accuracy: 1e-3, "the layer keeps its energy")
      XCTAssertEqual(layer.filter { $0 > 0 }.count, i + 1 < 21 ? 1 : 144, "shower \(i)")
    }
    var bad = t
    bad.singleDepositBelowMeV![0][2] = -1
    XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("singleDepositBelowMeV must be finite and ≥ 0"), "\($0)") }
    bad.singleDepositBelowMeV = [[0]]
    XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("rows (energy bins)"), "\($0)") }
    XCTAssertFalse(String(decoding: try JSONEncoder().encode(ds2Table()), as: UTF8.self).contains("singleDeposit"))
  }
}
