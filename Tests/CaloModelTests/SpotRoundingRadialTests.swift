// The two calibration refinements of spot rounding: radial weights (each layer's mean radial profile
// brought to the training showers') and κ (a shower's ε scales with its layer energy^κ). Hand-computed
// cases for the reweighting, the profile and the scaled threshold; the weight fit reaching a known
// profile; strict tables; and tables without the fields behaving as before.
import CaloGeometry
import CaloTensor
import Foundation
import XCTest
@testable import CaloModel

final class SpotRoundingRadialTests: XCTestCase {
  let kind = DatasetKind.ds2
  let g = DatasetKind.ds2.geometry   // 45 layers of 16 angles × 9 radii, radius fastest

  func testReweightScalesRadialBinsAndKeepsTheLayerEnergy() {
    // One layer of 2 angles × 3 radii: [1, 2, 3 | 4, 5, 6], weights (1, 2, 0.5) → [1, 4, 1.5 | 4, 10, 3]
    // (sum 23.5), rescaled to the old sum 21. The voxel outside the range is untouched.
    var x: [Float] = [1, 2, 3, 4, 5, 6, 9]
    x.withUnsafeMutableBufferPointer { SpotRoundingTable.reweight($0, 0..<6, weights: [1, 2, 0.5]) }
    let s = Float(21.0 / 23.5)
    for (got, want) in zip(x, [1 * s, 4 * s, 1.5 * s, 4 * s, 10 * s, 3 * s, 9]) { XCTAssertEqual(got, want, accuracy: 1e-5) }
    var empty: [Float] = [0, 0, 0]
    empty.withUnsafeMutableBufferPointer { SpotRoundingTable.reweight($0, 0..<3, weights: [1, 2, 3]) }
    XCTAssertEqual(empty, [0, 0, 0], "an empty layer stays empty")
  }

  func testRadialProfileIsTheMeanPerShowerShare() {
    // Two showers of 2 angles × 2 radii: shares (0.75, 0.25) and (0, 1); an empty third is left out.
    let x: [Float] = [1, 1, 2, 0,   0, 3, 0, 1,   0, 0, 0, 0]
    let p = SpotRoundingFit.radialProfile(x, showers: 3, nR: 2)
    XCTAssertEqual(p[0], 0.375, accuracy: 1e-12)
    XCTAssertEqual(p[1], 0.625, accuracy: 1e-12)
  }

  /// Dense showers that all share one radial profile d (uniform in angle) against target showers with
  /// profile p: the fitted weights are ∝ p/d, and the reweighted dense profile is p. Layer 30 of ds2.
  func testWeightFitReachesTheTargetProfile() {
    let l = 30, nR = 9, nA = 16, v = g.voxelCount, n = 50
    let d: [Double] = [0.10, 0.50, 0.10, 0.01, 0.15, 0.10, 0.02, 0.01, 0.01]
    let p: [Double] = [0.36, 0.21, 0.15, 0.10, 0.07, 0.04, 0.03, 0.02, 0.02]
    var dense = [Float](repeating: 0, count: n * v), target = dense
    var rng = RNG(seed: 7)
    for i in 0..<n {
      let energy = 10 + 90 * Double(rng.uniform())   // each shower its own layer energy
      for a in 0..<nA {
        for r in 0..<nR {
          let k = i * v + g.index(layer: l, alpha: a, r: r)
          dense[k] = Float(energy * d[r] / Double(nA))
          target[k] = Float(3 * p[r] / Double(nA))
        }
      }
    }
    var fit = SpotRoundingFit(dataset: kind)
    let e = [Double](repeating: 20_000, count: n)
    fit.addDense(showers: dense, energies: e)
    fit.addTarget(showers: target, energies: e)
    let t = fit.table(radialWeights: true)
    XCTAssertNoThrow(try t.validate())
    let b = t.bin(of: 20_000)
    let w = t.radialWeights![b][l]
    for r in 0..<nR {
      XCTAssertEqual(w[r] / w[0], (p[r] / d[r]) / (p[0] / d[0]), accuracy: 0.01 * (p[r] / d[r]) / (p[0] / d[0]), "r \(r)")
    }
    let layer = Array(dense[g.offsets[l]..<g.offsets[l + 1]])
    var y = layer
    SpotRoundingFit.reweight(&y, showers: 1, weights: w)
    let got = SpotRoundingFit.radialProfile(y, showers: 1, nR: nR)
    for r in 0..<nR { XCTAssertEqual(got[r], p[r], accuracy: 1e-3, "r \(r)") }
    XCTAssertEqual(Double(y.reduce(0, +)), Double(layer.reduce(0, +)), accuracy: 1e-3, "the layer keeps its energy")
    XCTAssertNil(fit.table().radialWeights, "off unless asked for")
  }

  /// κ = 0.5: a layer of four 1 MeV voxels (4 MeV) with ε = 0.6 gets the threshold 0.6 · 4^0.5 = 1.2,
  /// so every voxel is below it and the layer is rounded (conserving: spots share the 4 MeV); with κ = 0
  /// the voxels are ≥ ε and untouched. The fit's expected count uses the same per-shower threshold.
  func testThresholdScalesWithTheLayerEnergy() {
    let v = g.voxelCount, l = 5, o = g.offsets[l], n = 4000
    var base = [Float](repeating: 0, count: n * v)
    for i in 0..<n { for k in 0..<4 { base[i * v + o + k * 9] = 1 } }
    let edges = SpotRoundingTable.defaultEdges(for: kind)
    var eps = Array(repeating: Array(repeating: 0.0, count: g.layers.count), count: edges.count - 1)
    for b in eps.indices { eps[b][l] = 0.6 }
    var t = SpotRoundingTable(dataset: kind, log10EnergyEdges: edges, thresholdsMeV: eps, conservesLayerEnergy: true)
    var plain = base
    t.apply(&plain, energies: [Double](repeating: 20_000, count: n), seeds: (0..<n).map { UInt64($0) })
    XCTAssertEqual(plain, base, "κ = 0: 1 MeV ≥ ε = 0.6, nothing to round")

    t.epsilonEnergyExponent = 0.5
    XCTAssertNoThrow(try t.validate())
    var scaled = base
    t.apply(&scaled, energies: [Double](repeating: 20_000, count: n), seeds: (0..<n).map { UInt64($0) })
    var spots = 0, worst = 0.0
    for i in 0..<n {
      let layer = scaled[(i * v + o)..<(i * v + g.offsets[l + 1])]
      spots += layer.filter { $0 > 0 }.count
      worst = max(worst, abs(Double(layer.reduce(0, +)) - 4))
    }
    XCTAssertLessThan(worst, 1e-5, "conserving: the layer keeps 4 MeV")
    // Each voxel is a spot with probability 1/1.2; none drawn (probability (1/6)^4) gives one spot.
    let expected = 4 / 1.2 + pow(1 - 1 / 1.2, 4.0)
    XCTAssertEqual(Double(spots) / Double(n), expected, accuracy: 0.05)
    let layer = Array(base[o..<g.offsets[l + 1]])
    let scales = SpotRoundingFit.epsilonScales(layer, showers: 1, kappa: 0.5)
    XCTAssertEqual(scales ?? [], [2])
    XCTAssertEqual(SpotRoundingFit.expectedCount(layer, showers: 1, epsilon: 0.6, conserving: true, scales: scales),
                   expected, accuracy: 1e-9)
    XCTAssertNil(SpotRoundingFit.epsilonScales(layer, showers: 1, kappa: 0))
  }

  /// The fitted ε with κ reproduces the wanted occupancy: showers of 1 and 16 MeV layers (sixteen
  /// equal voxels) against a target of 2 non-empty voxels per shower.
  func testFitWithKappaMatchesTheTargetOccupancy() {
    let v = g.voxelCount, l = 10, o = g.offsets[l], n = 40
    var dense = [Float](repeating: 0, count: n * v), target = dense
    for i in 0..<n {
      let energy: Float = i % 2 == 0 ? 1 : 16
      for k in 0..<16 { dense[i * v + o + k] = energy / 16 }
      target[i * v + o] = 1; target[i * v + o + 9] = 1
    }
    var fit = SpotRoundingFit(dataset: kind)
    let e = [Double](repeating: 20_000, count: n)
    fit.addDense(showers: dense, energies: e)
    fit.addTarget(showers: target, energies: e)
    let t = fit.table(conservingLayerEnergy: true, epsilonEnergyExponent: 0.5)
    XCTAssertEqual(t.epsilonEnergyExponent, 0.5)
    let b = t.bin(of: 20_000)
    let layer = (0..<n).flatMap { Array(dense[($0 * v + o)..<($0 * v + g.offsets[l + 1])]) }
    let got = SpotRoundingFit.expectedCount(layer, showers: n, epsilon: t.thresholdsMeV[b][l], conserving: true,
                                            scales: SpotRoundingFit.epsilonScales(layer, showers: n, kappa: 0.5))
    XCTAssertEqual(got / Double(n), 2, accuracy: 1e-3)
    XCTAssertNil(fit.table().epsilonEnergyExponent, "κ = 0 is not written")
  }

  func testBadFieldsAreRejectedAndOldTablesLackThem() throws {
    let edges = [3.0, 4.0]
    let eps = [Array(repeating: 0.0, count: g.layers.count)]
    let ok = SpotRoundingTable(dataset: kind, log10EnergyEdges: edges, thresholdsMeV: eps)
    let json = String(decoding: try JSONEncoder().encode(ok), as: UTF8.self)
    XCTAssertFalse(json.contains("radialWeights") || json.contains("epsilonEnergyExponent"))

    func rejects(_ t: SpotRoundingTable, _ fragment: String) {
      XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains(fragment), "\($0)") }
    }
    var t = ok
    t.radialWeights = [Array(repeating: Array(repeating: 1.0, count: 8), count: g.layers.count)]
    rejects(t, "one weight per radial bin")
    t.radialWeights = [Array(repeating: Array(repeating: 1.0, count: 9), count: g.layers.count)]
    XCTAssertNoThrow(try t.validate())
    t.radialWeights![0][3][2] = 0
    rejects(t, "finite and > 0")
    t = ok
    t.epsilonEnergyExponent = 1
    rejects(t, "[0, 1)")
    t.epsilonEnergyExponent = -0.1
    rejects(t, "[0, 1)")
  }
}

final class SpotRoundingSizeTests: XCTestCase {
  let g = DatasetKind.ds2.geometry

  /// Random spot sizes change only the sizes: the same seeds give the same non-empty voxels as equal
  /// sizes, every layer keeps its energy, and with two spots the larger holds a share uniform in
  /// [½, 1] (two exponential weights), mean ¾.
  func testRandomSizesKeepTheSpotsAndTheLayerEnergy() {
    let v = g.voxelCount, l = 7, o = g.offsets[l], n = 20000
    var base = [Float](repeating: 0, count: n * v)
    for i in 0..<n { for k in 0..<8 { base[i * v + o + k] = 0.2 } }
    let edges = SpotRoundingTable.defaultEdges(for: .ds2)
    var eps = Array(repeating: Array(repeating: 0.0, count: g.layers.count), count: edges.count - 1)
    for b in eps.indices { eps[b][l] = 1 }
    var t = SpotRoundingTable(dataset: .ds2, log10EnergyEdges: edges, thresholdsMeV: eps, conservesLayerEnergy: true)
    let energies = [Double](repeating: 5000, count: n), seeds = (0..<n).map { UInt64($0 + 11) }
    var equal = base, random = base
    t.apply(&equal, energies: energies, seeds: seeds)
    t.randomSpotSizes = true
    XCTAssertNoThrow(try t.validate())
    t.apply(&random, energies: energies, seeds: seeds)
    var sameSpots = true, worst = 0.0, twoSpot = 0, topShare = 0.0, unequal = 0
    for i in 0..<n {
      let a = equal[(i * v + o)..<(i * v + o + 144)], b = random[(i * v + o)..<(i * v + o + 144)]
      if zip(a, b).contains(where: { ($0 > 0) != ($1 > 0) }) { sameSpots = false }
      worst = max(worst, abs(Double(b.reduce(0, +)) - 1.6))
      let spots = b.filter { $0 > 0 }
      if spots.count == 2 {
        twoSpot += 1
        topShare += Double(spots.max()!) / 1.6
        if abs(spots[0] - spots[1]) > 1e-4 { unequal += 1 }
      }
    }
    XCTAssertTrue(sameSpots, "the sizes draw after the spots: the same voxels are non-empty")
    XCTAssertLessThan(worst, 1e-5, "the layer keeps its 1.6 MeV")
    XCTAssertGreaterThan(twoSpot, 1000)
    XCTAssertEqual(unequal, twoSpot, "random shares are never equal")
    // Var of U(½, 1) is 1/48; 5σ/√twoSpot < 0.02 for twoSpot > 1000.
    XCTAssertEqual(topShare / Double(twoSpot), 0.75, accuracy: 0.02)
  }
}
