// The ninth spot-rounding refinement: layer scales (each layer of a shower multiplied by s, the shower
// rescaled to its energy). A hand-computed case, the fit recovering known scales (with and without
// empty target layers), strict tables, and old tables unchanged.
import CaloGeometry
import CaloTensor
import Foundation
import XCTest
@testable import CaloModel

final class SpotRoundingLayerScaleTests: XCTestCase {
  let g = DatasetKind.ds2.geometry   // 45 layers of 16 angles × 9 radii

  /// Layer 3 holds 10 MeV in two voxels, layer 10 90 MeV in one; s = 2 in layer 3: 20 + 90 = 110 MeV,
  /// scaled back by 100/110, so layer 3 holds 2000/110 and layer 10 9000/110.
  func testScaleLayersMovesTheSplitAndKeepsTheEnergy() {
    let v = g.voxelCount, o3 = g.offsets[3], o10 = g.offsets[10]
    var x = [Float](repeating: 0, count: 2 * v)
    x[o3] = 4; x[o3 + 1] = 6; x[o10] = 90
    var scales = [Double](repeating: 1, count: g.layers.count)
    scales[3] = 2
    x.withUnsafeMutableBufferPointer { SpotRoundingTable.scaleLayers($0, shower: 0, geometry: g, scales: scales) }
    XCTAssertEqual(Double(x[o3]), 800.0 / 110, accuracy: 1e-4)
    XCTAssertEqual(Double(x[o3 + 1]), 1200.0 / 110, accuracy: 1e-4)
    XCTAssertEqual(Double(x[o10]), 9000.0 / 110, accuracy: 1e-4)
    XCTAssertEqual(Double(x[0..<v].reduce(0, +)), 100, accuracy: 1e-4, "the shower keeps its energy")
    XCTAssertTrue(x[v...].allSatisfy { $0 == 0 }, "the second (empty) shower stays empty")
    // All ones: nothing moves.
    let before = x
    x.withUnsafeMutableBufferPointer {
      SpotRoundingTable.scaleLayers($0, shower: 0, geometry: g, scales: [Double](repeating: 1, count: g.layers.count))
    }
    XCTAssertEqual(x, before)
  }

  /// n showers with energy in layers 3, 10 and 20 (random shares); the target is the same showers with
  /// layer 3 scaled by 2 and layer 20 by 0.5 (each rescaled to its energy). The fit finds those ratios
  /// to layer 10, and the applied table gives the target's median share in each layer.
  func testFitRecoversKnownLayerScales() throws {
    let n = 500
    let dense = threeLayerShowers(count: n)
    let truth = scales([3: 2, 20: 0.5])
    let target = scaled(dense, by: truth)
    let t = ds2Fit(dense: dense, target: target, energy: 5000).table(layerScales: true)
    XCTAssertNoThrow(try t.validate())
    let s = t.layerScales![t.bin(of: 5000)]
    XCTAssertEqual(s[3] / s[10], 2, accuracy: 0.01)
    XCTAssertEqual(s[20] / s[10], 0.5, accuracy: 0.005)
    XCTAssertEqual(s[0], 1, "a layer without target energy keeps 1")
    let out = applying(t, to: dense)
    for l in [3, 10, 20] {
      XCTAssertEqual(medianShare(out, layer: l), medianShare(target, layer: l), accuracy: 0.002, "layer \(l)")
    }
    XCTAssertNil(ds2Fit(dense: dense, target: target, energy: 5000).table().layerScales, "off: not written")
  }

  /// The target's layer 20 is empty in its lowest 60 % of showers (by share; energy handed to layer
  /// 10), as when showers that stop early leave a deep layer empty: the scale is fitted at the middle
  /// of the non-empty ones, q = 0.6 + 0.2 = 0.8, where the dense showers, scaled by 0.5 there, meet
  /// the target (a plain median would compare the dense showers with an empty layer).
  func testFitUsesTheMiddleOfTheNonEmptyShowers() throws {
    let n = 500, v = g.voxelCount
    let dense = threeLayerShowers(count: n)
    var target = scaled(dense, by: scales([20: 0.5]))
    let cut = (0..<n).map { share(target, shower: $0, layer: 20) }.sorted()[n * 3 / 5]
    for i in 0..<n where share(target, shower: i, layer: 20) < cut {
      let e = target[(i * v + g.offsets[20])..<(i * v + g.offsets[21])].reduce(0, +)
      for k in (i * v + g.offsets[20])..<(i * v + g.offsets[21]) { target[k] = 0 }
      target[i * v + g.offsets[10]] += e
    }
    let t = ds2Fit(dense: dense, target: target, energy: 5000).table(layerScales: true)
    let s = t.layerScales![t.bin(of: 5000)]
    // Above the cut each kept shower is the dense one scaled by 0.5 in layer 20; layer 10 took the
    // emptied showers' energy, which moves its own median a little, so 3 % slack.
    XCTAssertEqual(s[20] / s[3], 0.5, accuracy: 0.015)
  }

  func testValidationIsStrictAndOldTablesStayTheSame() throws {
    let dense = threeLayerShowers(count: 20)
    var t = ds2Table()
    t.layerScales = ds2LayerValues().map { $0.map { _ in 1 } }
    XCTAssertNoThrow(try t.validate())
    XCTAssertEqual(applying(ds2Table(), to: dense), applying(t, to: dense), "all ones is the table without the field")
    t.layerScales![1][4] = .nan
    XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains("layerScales must be in [0.05, 20.0]"), "\($0)") }
    t.layerScales![1][4] = 0
    XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains("layerScales must be in"), "\($0)") }
    t.layerScales = [[1]]
    XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains("rows (energy bins)"), "\($0)") }
    XCTAssertFalse(String(decoding: try JSONEncoder().encode(ds2Table()), as: UTF8.self).contains("layerScales"))
  }

  // MARK: - fixtures

  /// n ds2 showers of 100 MeV: layer 3 a share u₁ ∈ [0.01, 0.2) in 4 voxels, layer 20 a share
  /// u₂ ∈ [0.02, 0.3) in 2 voxels, layer 10 the rest in 3 voxels (shares uniform, seeded).
  func threeLayerShowers(count n: Int) -> [Float] {
    let v = g.voxelCount
    var x = [Float](repeating: 0, count: n * v)
    var rng = RNG(seed: 11)
    for i in 0..<n {
      let a = 0.01 + 0.19 * Double(rng.uniform()), c = 0.02 + 0.28 * Double(rng.uniform())
      for k in 0..<4 { x[i * v + g.offsets[3] + k] = Float(100 * a / 4) }
      for k in 0..<2 { x[i * v + g.offsets[20] + k] = Float(100 * c / 2) }
      for k in 0..<3 { x[i * v + g.offsets[10] + k] = Float(100 * (1 - a - c) / 3) }
    }
    return x
  }

  /// Scales of 1 but for `set`.
  func scales(_ set: [Int: Double]) -> [Double] {
    (0..<g.layers.count).map { set[$0] ?? 1 }
  }

  func scaled(_ showers: [Float], by s: [Double]) -> [Float] {
    var out = showers
    out.withUnsafeMutableBufferPointer { buf in
      for i in 0..<(showers.count / g.voxelCount) { SpotRoundingTable.scaleLayers(buf, shower: i * g.voxelCount, geometry: g, scales: s) }
    }
    return out
  }

  func share(_ x: [Float], shower i: Int, layer l: Int) -> Double {
    let v = g.voxelCount
    let e = Double(x[(i * v + g.offsets[l])..<(i * v + g.offsets[l + 1])].reduce(0, +))
    return e / Double(x[(i * v)..<((i + 1) * v)].reduce(0, +))
  }

  func medianShare(_ x: [Float], layer l: Int) -> Double {
    let n = x.count / g.voxelCount
    return (0..<n).map { share(x, shower: $0, layer: l) }.sorted()[n / 2]
  }
}
