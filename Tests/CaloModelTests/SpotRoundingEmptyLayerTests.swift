// The seventh spot-rounding refinement: empty layers (a layer holding less than E_0 loses its energy,
// so it reads out empty). Hand-computed cases for the emptying and the empty share, the fit recovering
// a known E_0, strict tables, and old tables unchanged.
import CaloGeometry
import CaloTensor
import Foundation
import XCTest
@testable import CaloModel

final class SpotRoundingEmptyLayerTests: XCTestCase {
  let g = DatasetKind.ds2.geometry   // 45 layers of 16 angles × 9 radii, radius fastest

  func testEmptyZeroesOnlyLayersBelowTheFloor() {
    var x: [Float] = [1, 0, 3, 4, 9]
    x.withUnsafeMutableBufferPointer { SpotRoundingTable.empty($0, 0..<4, below: 9) }
    XCTAssertEqual(x, [0, 0, 0, 0, 9], "8 < 9: emptied; the voxel outside the range stays")
    var kept: [Float] = [1, 0, 3, 4]
    kept.withUnsafeMutableBufferPointer { SpotRoundingTable.empty($0, 0..<4, below: 8) }
    XCTAssertEqual(kept, [1, 0, 3, 4], "8 is not below 8")
    kept.withUnsafeMutableBufferPointer { SpotRoundingTable.empty($0, 0..<4, below: 0) }
    XCTAssertEqual(kept, [1, 0, 3, 4], "E_0 = 0: never")
  }

  func testEmptyFractionOnHandCases() {
    // Width 3, threshold 1: [2, 0.5, 0] reads out; [0.5, 0.9, 0] empty; [0, 0, 0] empty; [0, 0, 1] reads out.
    let x: [Float] = [2, 0.5, 0, 0.5, 0.9, 0, 0, 0, 0, 0, 0, 1]
    XCTAssertEqual(SpotRoundingFit.emptyFraction(x, showers: 4, threshold: 1), 0.5, accuracy: 1e-12)
    XCTAssertTrue(SpotRoundingFit.emptyFraction([], showers: 0, threshold: 1).isNaN)
  }

  /// Dense layers of 2 equal voxels (energies 0.04…0.4 MeV, log-uniform, every voxel above the 15 keV
  /// readout threshold) against targets that are the same showers with every layer below 0.1 MeV
  /// emptied: the model's layers never read out empty, the target's a third of the time, and the fitted
  /// E_0 lands between the neighbouring energies around 0.1 MeV. Layer 7.
  func testFitRecoversTheFloorBelowWhichLayersAreEmpty() {
    let l = 7, v = g.voxelCount, n = 600
    let (dense, energies) = twoVoxelLayers(layer: l, showers: n)
    let target = emptied(dense, layer: l, below: 0.1)
    let fit = ds2Fit(dense: dense, target: target, energy: 5000)   // `applying` uses 5 GeV
    let t = fit.table(exponents: true, conservingLayerEnergy: true, emptyLayers: true)
    XCTAssertNoThrow(try t.validate())
    let b = t.bin(of: 5000)
    assertBetweenNeighbours(t.emptyBelowMeV![b][l], of: energies, around: 0.1)
    XCTAssertEqual(t.emptyBelowMeV![b][l + 1], 0, "a layer with no energy anywhere gets none")
    XCTAssertNil(fit.table(exponents: true, conservingLayerEnergy: true).emptyBelowMeV, "off: not written")
    // The applied table gives the target's empty share.
    let out = applying(t, to: dense)
    let layer = (0..<n).flatMap { i in out[(i * v + g.offsets[l])..<(i * v + g.offsets[l + 1])] }
    let want = SpotRoundingFit.emptyFraction(target.enumerated().filter { k, _ in (g.offsets[l]..<g.offsets[l + 1]).contains(k % v) }.map(\.1),
                                             showers: n, threshold: Float(DatasetKind.ds2.voxelThresholdMeV))
    XCTAssertEqual(SpotRoundingFit.emptyFraction(layer, showers: n, threshold: Float(DatasetKind.ds2.voxelThresholdMeV)), want, accuracy: 0.01)
    // A target that already matches needs no emptying.
    let same = ds2Fit(dense: dense, target: dense, energy: 5000)
    XCTAssertEqual(same.table(exponents: true, conservingLayerEnergy: true, emptyLayers: true).emptyBelowMeV![b][l], 0)
  }

  /// n ds2 showers whose layer `l` holds two equal voxels of E/2 each, E log-uniform in 0.04…0.4 MeV,
  /// and layer 20 one voxel of 100 MeV.
  func twoVoxelLayers(layer l: Int, showers n: Int) -> (showers: [Float], energies: [Double]) {
    let v = g.voxelCount
    var dense = [Float](repeating: 0, count: n * v)
    var rng = RNG(seed: 3)
    var energies: [Double] = []
    for i in 0..<n {
      let e = 0.04 * pow(10, Double(rng.uniform()))
      energies.append(e)
      for k in 0..<2 { dense[i * v + g.offsets[l] + k * g.layers[l].nR] = Float(e / 2) }
      dense[i * v + g.offsets[20]] = 100   // a layer that stays, to take the emptied energy
    }
    return (dense, energies)
  }

  /// `showers` with layer `l` emptied wherever it holds less than `below` MeV.
  func emptied(_ showers: [Float], layer l: Int, below: Double) -> [Float] {
    let v = g.voxelCount
    var out = showers
    out.withUnsafeMutableBufferPointer { buf in
      for i in 0..<(showers.count / v) { SpotRoundingTable.empty(buf, (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1]), below: below) }
    }
    return out
  }

  /// Applied by a table: layers below E_0 are all zeros and their energy goes to the shower's other
  /// layers in proportion, showers above E_0 are untouched, a shower that would lose every layer keeps
  /// them, and all-zero E_0 equals a table without the field, which old JSON stays.
  func testApplyEmptiesLowEnergyLayersAndKeepsTheShowersEnergy() throws {
    let l = 3, v = g.voxelCount, o = g.offsets[l], o2 = g.offsets[10], n = 40
    var base = [Float](repeating: 0, count: n * v)
    for i in 0..<n {
      for k in 0..<144 { base[i * v + o + k] = Float(i + 1) / 144 }   // layer 3: i + 1 MeV
      for k in 0..<2 { base[i * v + o2 + k] = 50 }                      // layer 10: 100 MeV in two voxels
    }
    let t = try ds2Table(setting: \.emptyBelowMeV, to: 20.5, layer: l, checkedOn: base)
    let c = applying(t, to: base)
    for i in 0..<n {
      let layer = c[(i * v + o)..<(i * v + o + 144)]
      let emptied = i + 1 < 21
      XCTAssertTrue(emptied ? layer.allSatisfy { $0 == 0 } : layer.elementsEqual(base[(i * v + o)..<(i * v + o + 144)]),
                    "shower \(i): layer energy \(layer.reduce(0, +)), \(emptied ? "emptied" : "kept")")
      // Emptied: layer 10's two voxels hold 100 + i + 1 MeV between them, equally.
      let other = emptied ? Float(100 + i + 1) / 2 : 50
      XCTAssertEqual(Double(c[i * v + o2]), Double(other), accuracy: 1e-4, "shower \(i)")
      XCTAssertEqual(Double(c[i * v + o2 + 1]), Double(other), accuracy: 1e-4, "shower \(i)")
      XCTAssertEqual(Double(c[(i * v)..<((i + 1) * v)].reduce(0, +)), Double(100 + i + 1), accuracy: 1e-3, "the shower keeps its energy")
    }
    // A shower whose only layer lies below E_0 keeps it: emptying it would leave nothing.
    var lone = [Float](repeating: 0, count: v)
    for k in 0..<144 { lone[o + k] = 1.0 / 144 }
    XCTAssertEqual(applying(t, to: lone), lone)
    var bad = t
    bad.emptyBelowMeV![0][2] = .nan
    XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("emptyBelowMeV must be finite and ≥ 0"), "\($0)") }
    bad.emptyBelowMeV = [[0]]
    XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("rows (energy bins)"), "\($0)") }
    XCTAssertFalse(String(decoding: try JSONEncoder().encode(ds2Table()), as: UTF8.self).contains("emptyBelow"))
  }
}
