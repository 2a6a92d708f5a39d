// The seventh spot-rounding refinement: random rotation (each shower turned about the axis by a whole
// number of angular bins, all layers alike). Hand cases for the turn, the table leaving showers as
// before but turned, old tables unchanged, and the fit's symmetry test deciding whether to turn.
import CaloGeometry
import CaloTensor
import Foundation
import XCTest
@testable import CaloModel

final class SpotRoundingRotationTests: XCTestCase {
  let g = DatasetKind.ds1Pion.geometry   // layers 1, 2, 12, 13 have 10 angular bins; 0, 3, 14 one

  /// The k that `rotate` draws from a copy of its stream.
  func turn(seed: UInt64) -> Int {
    var rng = RNG(seed: seed)
    return min(Int(rng.uniform() * 10), 9)
  }

  func testRotateMovesEveryAngularLayerByTheSameNumberOfBins() {
    // A seed whose draw is a turn of at least one bin.
    let seed = (UInt64(1)...).first { turn(seed: $0) > 0 }!, k = turn(seed: seed)
    var x = (0..<g.voxelCount).map { Float($0 + 1) }   // every voxel different
    let before = x
    var rng = RNG(seed: seed), twin = RNG(seed: seed)
    XCTAssertEqual(SpotRoundingTable.rotationBins(g), 10)
    x.withUnsafeMutableBufferPointer { SpotRoundingTable.rotate($0, shower: 0, geometry: g, bins: 10, rng: &rng) }
    _ = twin.uniform()
    XCTAssertEqual(rng.next(), twin.next(), "one uniform")
    for (l, layer) in g.layers.enumerated() where layer.voxelCount > 0 {
      for a in 0..<layer.nAlpha {
        for r in 0..<layer.nR {
          let to = layer.isAngular ? (a + k) % layer.nAlpha : a
          XCTAssertEqual(x[g.index(layer: l, alpha: to, r: r)], before[g.index(layer: l, alpha: a, r: r)],
                         "layer \(l), bin \(a), ring \(r), turn \(k)")
        }
      }
    }
    // Over many seeds every turn 0…9 comes up about equally often.
    var counts = [Int](repeating: 0, count: 10)
    for s in 0..<5000 { counts[turn(seed: UInt64(s))] += 1 }
    XCTAssertEqual(counts.min()!, 500, accuracy: 90)
    XCTAssertEqual(counts.max()!, 500, accuracy: 90)
  }

  func testTableTurnsTheShowersItWouldOtherwiseLeaveAsTheyAre() {
    // A table with spot rounding and single deposits: with the rotation each shower is its unturned
    // version turned by the k of its own stream; without the field the showers are as before.
    let v = g.voxelCount, n = 40
    var rng = RNG(seed: 9)
    let showers = (0..<(n * v)).map { _ in rng.uniform() * 3 }
    let energies = (0..<n).map { DatasetKind.ds1Energies[$0 % 15] }
    let seeds = (0..<n).map { UInt64(100 + $0) }
    let bins = SpotRoundingTable.defaultEdges(for: .ds1Pion).count - 1
    var plain = SpotRoundingTable(dataset: .ds1Pion, log10EnergyEdges: SpotRoundingTable.defaultEdges(for: .ds1Pion),
                                  thresholdsMeV: Array(repeating: Array(repeating: 2.0, count: g.layers.count), count: bins),
                                  conservesLayerEnergy: true,
                                  singleDepositBelowMeV: Array(repeating: Array(repeating: 50.0, count: g.layers.count), count: bins))
    XCTAssertNoThrow(try plain.validate())
    var a = showers, b = showers
    plain.apply(&a, energies: energies, seeds: seeds)
    plain.randomRotation = true
    plain.apply(&b, energies: energies, seeds: seeds)
    XCTAssertNotEqual(a, b)
    var turned = 0
    for i in 0..<n {
      let k = turn(seed: SpotRoundingTable.rotationSeed(seeds[i]))
      if k > 0 { turned += 1 }
      for (l, layer) in g.layers.enumerated() {
        for al in 0..<layer.nAlpha {
          for r in 0..<layer.nR {
            let to = layer.isAngular ? (al + k) % layer.nAlpha : al
            XCTAssertEqual(b[i * v + g.index(layer: l, alpha: to, r: r)], a[i * v + g.index(layer: l, alpha: al, r: r)])
          }
        }
      }
    }
    XCTAssertGreaterThan(turned, n / 2)
  }

  /// ds1-pion layer-1 showers with the whole layer in one voxel of the innermost ring: at a uniformly
  /// drawn angle (symmetric), or always at bin 4 or 5 (lopsided, like a decoder's MIP).
  func layerOneShowers(count n: Int, lopsided: Bool) -> [Float] {
    let v = g.voxelCount
    var x = [Float](repeating: 0, count: n * v)
    var rng = RNG(seed: 21)
    for i in 0..<n {
      let a = lopsided ? 4 + Int(rng.uniform() * 2) : min(Int(rng.uniform() * 10), 9)
      x[i * v + g.index(layer: 1, alpha: a, r: 0)] = 3
    }
    return x
  }

  func testAsymmetryOnHandCasesAndTheFitTurnsOnlySymmetricTargets() {
    // Hand case: 4 showers with one deposit each in bins 0, 0, 1, 2 of a 10-bin ring. Bin 0: shares
    // 1, 1, 0, 0 → mean 0.5, sample variance 1/3, standard error √(1/12); |0.5 − 0.1| / √(1/12) = 1.386.
    // Bins 3–9: shares all 0 → standard error 0 with mean ≠ 0.1: infinite.
    let v = g.voxelCount
    var x = [Float](repeating: 0, count: 4 * v)
    for (i, a) in [0, 0, 1, 2].enumerated() { x[i * v + g.index(layer: 1, alpha: a, r: 0)] = 1 }
    var hand = SpotRoundingFit(dataset: .ds1Pion)
    hand.addTarget(showers: x, energies: [Double](repeating: 1024, count: 4))
    XCTAssertEqual(hand.angularAsymmetry, .infinity)
    // Every bin hit equally often (10 showers, one per bin): each mean share is exactly 0.1 → 0.
    var flat = [Float](repeating: 0, count: 10 * v)
    for a in 0..<10 { flat[a * v + g.index(layer: 1, alpha: a, r: 0)] = 1 }
    var even = SpotRoundingFit(dataset: .ds1Pion)
    even.addTarget(showers: flat, energies: [Double](repeating: 1024, count: 10))
    XCTAssertEqual(even.angularAsymmetry, 0, accuracy: 1e-9)

    let n = 2000, energies = (0..<n).map { DatasetKind.ds1Energies[$0 % 15] }
    func fitted(lopsidedTarget: Bool, rotation: Bool = true) -> (SpotRoundingTable, Double) {
      var fit = SpotRoundingFit(dataset: .ds1Pion)
      fit.addTarget(showers: layerOneShowers(count: n, lopsided: lopsidedTarget), energies: energies)
      fit.addDense(showers: layerOneShowers(count: n, lopsided: true), energies: energies)
      return (fit.table(exponents: true, conservingLayerEnergy: true, randomRotation: rotation), fit.angularAsymmetry)
    }
    let (symmetric, z) = fitted(lopsidedTarget: false)
    XCTAssertLessThan(z, SpotRoundingFit.symmetryLimit)
    XCTAssertEqual(symmetric.randomRotation, true)
    let (lopsided, zl) = fitted(lopsidedTarget: true)
    XCTAssertGreaterThan(zl, 20)
    XCTAssertNil(lopsided.randomRotation, "a target that is not symmetric keeps its angles")
    XCTAssertNil(fitted(lopsidedTarget: false, rotation: false).0.randomRotation, "off: not written")

    // The turn puts the lopsided deposits at every angle: the turned dense showers pass the test.
    var dense = layerOneShowers(count: n, lopsided: true)
    symmetric.apply(&dense, energies: energies, seeds: (0..<n).map { UInt64($0) })
    var check = SpotRoundingFit(dataset: .ds1Pion)
    check.addTarget(showers: dense, energies: energies)
    XCTAssertLessThan(check.angularAsymmetry, SpotRoundingFit.symmetryLimit)
  }

  func testOldTablesDecodeWithoutRotationAndTheFieldRoundTrips() throws {
    let json = #"{"dataset":"ds1-pion","log10EnergyEdges":[2,3],"thresholdsMeV":[[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]]}"#
    let old = try JSONDecoder().decode(SpotRoundingTable.self, from: Data(json.utf8))
    XCTAssertNil(old.randomRotation)
    var t = old
    t.randomRotation = true
    let back = try JSONDecoder().decode(SpotRoundingTable.self, from: JSONEncoder().encode(t))
    XCTAssertEqual(back.randomRotation, true)
  }
}
