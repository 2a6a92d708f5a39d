// Spot-rounding refinements of session 18: layer scales (each layer of a shower multiplied by s, the
// shower rescaled to its energy), layer spreads (the share stretched about a pivot, b₋ below, b₊
// above) and width spreads (γ·exp(ω·z) per shower). Hand-computed cases, the fits recovering known
// maps, strict tables, and old tables unchanged.
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
    XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains("layerScales must be finite and > 0"), "\($0)") }
    t.layerScales![1][4] = 0
    XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains("layerScales must be finite and > 0"), "\($0)") }
    t.layerScales = [[1]]
    XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains("rows (energy bins)"), "\($0)") }
    XCTAssertFalse(String(decoding: try JSONEncoder().encode(ds2Table()), as: UTF8.self).contains("layerScales"))
  }

  /// With spreads: layer 3 holds a share 0.1 against a pivot 0.2 with b₋ = 2, so it is multiplied by
  /// (0.1/0.2)^1 = 0.5; layer 10 (share 0.9, pivot 1, b₋ = 1) by 1: 5 + 90 MeV, scaled back by 100/95.
  func testLayerSpreadsStretchAboutThePivot() {
    let v = g.voxelCount, o3 = g.offsets[3], o10 = g.offsets[10]
    var x = [Float](repeating: 0, count: v)
    x[o3] = 10; x[o10] = 90
    let ones = [Double](repeating: 1, count: g.layers.count)
    var pivots = ones, below = ones
    pivots[3] = 0.2; below[3] = 2
    x.withUnsafeMutableBufferPointer {
      SpotRoundingTable.scaleLayers($0, shower: 0, geometry: g, scales: ones,
                                    spreads: SpotRoundingTable.LayerSpreads(pivots: pivots, below: below, above: [Double](repeating: 3, count: g.layers.count)))
    }
    XCTAssertEqual(Double(x[o3]), 500.0 / 95, accuracy: 1e-4, "below the pivot: b₋ (b₊ = 3 would give 0.5² · 10)")
    XCTAssertEqual(Double(x[o10]), 9000.0 / 95, accuracy: 1e-4)
  }

  /// The target is the dense showers with layer 3's share stretched about 0.1 (near its median) by
  /// b₋ = 1.8 and b₊ = 0.6 (shower rescaled): the fitted map brings the dense showers' 15th, 50th and 85th
  /// percentiles of that share to the target's.
  func testFitRecoversLayerSpreads() throws {
    let n = 600, nl = g.layers.count
    let dense = threeLayerShowers(count: n)
    var pivots = [Double](repeating: 1, count: nl), below = pivots, above = pivots
    pivots[3] = 0.1; below[3] = 1.8; above[3] = 0.6
    var target = dense
    target.withUnsafeMutableBufferPointer { buf in
      for i in 0..<n {
        SpotRoundingTable.scaleLayers(buf, shower: i * g.voxelCount, geometry: g, scales: [Double](repeating: 1, count: nl),
                                      spreads: SpotRoundingTable.LayerSpreads(pivots: pivots, below: below, above: above))
      }
    }
    let fit = ds2Fit(dense: dense, target: target, energy: 5000)
    let t = fit.table(layerSpreads: true)
    XCTAssertNoThrow(try t.validate())
    XCTAssertNotNil(t.layerScales, "spreads come with scales")
    let out = applying(t, to: dense)
    for q in [0.15, 0.5, 0.85] {
      XCTAssertEqual(shareQuantile(out, layer: 3, q), shareQuantile(target, layer: 3, q), accuracy: 0.03 * shareQuantile(target, layer: 3, q), "q \(q)")
    }
    // Scales alone cannot do it: the spread of the share stays the dense one.
    let plain = applying(fit.table(layerScales: true), to: dense)
    XCTAssertGreaterThan([0.15, 0.85].map { abs(shareQuantile(plain, layer: 3, $0) / shareQuantile(target, layer: 3, $0) - 1) }.max()!, 0.1)
  }

  func testLayerSpreadValidation() throws {
    var t = ds2Table()
    let ones = ds2LayerValues().map { $0.map { _ in 1.0 } }
    t.layerPivotShares = ones
    XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains("go together"), "\($0)") }
    t.layerScales = ones; t.layerExponentsBelow = ones; t.layerExponentsAbove = ones
    XCTAssertNoThrow(try t.validate())
    t.layerExponentsAbove![0][0] = 5
    XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains("must be in [0.25, 4.0]"), "\($0)") }
    t.layerExponentsAbove![0][0] = 1; t.layerPivotShares![0][0] = 0
    XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains("layerPivotShares must be in (0, 1]"), "\($0)") }
  }

  // MARK: - width spreads

  /// Single-voxel showers at the centres of radial bins 0, 1, 2 and 3 of layer 5: the radii sorted
  /// are r₀ … r₃, so the spread is ln(r₃ / r₁) (25th and 75th percentiles by index).
  func testRadiusSpreadOnAHandCase() {
    let lay = g.layers[5], w = lay.voxelCount
    var x = [Float](repeating: 0, count: 4 * w)
    for i in 0..<4 { x[i * w + i] = 1 }   // radius fastest: voxel i is radial bin i at angle 0
    XCTAssertEqual(SpotRoundingFit.radiusSpread(x, showers: 4, rCentres: lay.rCentres, threshold: 0.5),
                   log(lay.rCentres[3] / lay.rCentres[1]), accuracy: 1e-12)
    XCTAssertTrue(SpotRoundingFit.radiusSpread(Array(x[0..<(3 * w)]), showers: 3, rCentres: lay.rCentres, threshold: 0.5).isNaN)
  }

  /// Three of four single-voxel showers in the innermost ring: f = 0.75, so γ is fitted at level
  /// 0.875 (the fourth shower's radius); with one of four, at the median.
  func testRadiusLevelLeavesTheInnermostRing() {
    let lay = g.layers[5], w = lay.voxelCount, nR = lay.nR
    var x = [Float](repeating: 0, count: 4 * w)
    for i in 0..<3 { x[i * w + i * nR] = 1 }   // ring 0, angles 0, 1, 2
    x[3 * w + 2] = 1                            // ring 2
    let level = SpotRoundingFit.radiusLevel(x, showers: 4, rCentres: lay.rCentres, threshold: 0.5)
    XCTAssertEqual(level, 0.875, accuracy: 1e-12)
    XCTAssertEqual(SpotRoundingFit.rmsRadiusQuantile(x, showers: 4, rCentres: lay.rCentres, threshold: 0.5, level: level),
                   lay.rCentres[2], accuracy: 1e-12)
    XCTAssertEqual(SpotRoundingFit.rmsRadiusQuantile(x, showers: 4, rCentres: lay.rCentres, threshold: 0.5, level: 0.5),
                   SpotRoundingFit.medianRMSRadius(x, showers: 4, rCentres: lay.rCentres, threshold: 0.5))
    var few = [Float](repeating: 0, count: 4 * w)
    for i in 0..<4 { few[i * w + min(i, 3)] = 1 }   // rings 0, 1, 2, 3
    XCTAssertEqual(SpotRoundingFit.radiusLevel(few, showers: 4, rCentres: lay.rCentres, threshold: 0.5), 0.5)
  }

  /// ω draws one z per shower, shared by its layers: identical showers come out different from one
  /// another, two identical layers of one shower stay identical, the same seeds give the same showers,
  /// and ω = 0 is the table without the field.
  func testWidthSpreadsDrawOneFactorPerShower() throws {
    let n = 30, v = g.voxelCount
    var x = [Float](repeating: 0, count: n * v)
    for i in 0..<n {
      for l in [5, 6] { for k in 0..<g.layers[l].voxelCount { x[i * v + g.offsets[l] + k] = Float(exp(-Double(k % 9) / 2)) } }
    }
    var t = ds2Table()
    t.exponents = ds2LayerValues().map { $0.map { _ in 1.0 } }
    let plain = applying(t, to: x)
    t.widthSpreads = ds2LayerValues()
    XCTAssertEqual(applying(t, to: x), plain, "ω = 0 everywhere is the table without the field")
    t.widthSpreads = ds2LayerValues().map { $0.map { _ in 0.5 } }
    XCTAssertNoThrow(try t.validate())
    let spread = applying(t, to: x)
    XCTAssertEqual(spread, applying(t, to: x), "same seeds, same showers")
    let centre = (0..<n).map { spread[$0 * v + g.offsets[5]] }
    XCTAssertGreaterThan(Set(centre).count, n / 2, "each shower its own γ")
    for i in 0..<n {
      XCTAssertEqual(Array(spread[(i * v + g.offsets[5])..<(i * v + g.offsets[6])]),
                     Array(spread[(i * v + g.offsets[6])..<(i * v + g.offsets[7])]), "one z for all layers of shower \(i)")
    }
    t.widthSpreads![0][0] = 2
    XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains("widthSpreads must be in [0, 1.5]"), "\($0)") }
    t.exponents = nil
    XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains("widthSpreads need exponents"), "\($0)") }
  }

  /// Dense: the same smooth layer 5 in every shower (all voxels above the readout threshold, so no
  /// rounding); target: each shower sharpened by exp(0.4·z). The fitted ω comes out near 0.4, and
  /// without width spreads none is written.
  func testFitRecoversTheWidthSpread() throws {
    let n = 400, v = g.voxelCount, l = 5, lay = g.layers[l]
    var dense = [Float](repeating: 0, count: n * v)
    for i in 0..<n {
      for k in 0..<lay.voxelCount { dense[i * v + g.offsets[l] + k] = Float(exp(-Double(k % lay.nR) / 2)) }
    }
    var target = dense
    var rng = RNG(seed: 99)
    target.withUnsafeMutableBufferPointer { buf in
      for i in 0..<n {
        SpotRoundingTable.sharpen(buf, (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1]), gamma: exp(0.4 * Double(rng.normal())))
      }
    }
    let fit = ds2Fit(dense: dense, target: target, energy: 5000)
    let t = fit.table(exponents: true, conservingLayerEnergy: true, widthSpreads: true)
    XCTAssertNoThrow(try t.validate())
    XCTAssertEqual(t.widthSpreads![t.bin(of: 5000)][l], 0.4, accuracy: 0.1)
    XCTAssertNil(fit.table(exponents: true, conservingLayerEnergy: true).widthSpreads)
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

  func shareQuantile(_ x: [Float], layer l: Int, _ q: Double) -> Double {
    let n = x.count / g.voxelCount
    return (0..<n).map { share(x, shower: $0, layer: l) }.sorted()[Int(q * Double(n - 1))]
  }

  func medianShare(_ x: [Float], layer l: Int) -> Double {
    let n = x.count / g.voxelCount
    return (0..<n).map { share(x, shower: $0, layer: l) }.sorted()[n / 2]
  }
}
