// Stage-1 preprocessing ↔ postprocessing, conditions and augmentations (calovq_facts.md §1, §7).
import CaloGeometry
import CaloTensor
import XCTest

@testable import CaloModel

final class Stage1PreprocessingTests: XCTestCase {
  func testRoundTripEveryDatasetAndNorm() {
    for (d, n) in stage1Combos {
      let pre = Stage1Preprocessing(dataset: d, norm: n)
      var (e, s) = Stage1ToyShowers.make(d, count: 4, seed: 7)
      // Empty the first group of shower 1 to exercise the 0/0 fill.
      for i in pre.groupBounds[0]..<pre.groupBounds[1] { s[d.voxelCount + i] = 0 }
      let ratios = pre.ratios(showers: s, energies: e)
      let r = pre.rValues(ratios: ratios)
      XCTAssertEqual(r.count, 4 * pre.groupCount)
      let u = pre.unitPixels(ratios: ratios, r: r)
      for sh in 0..<4 {
        for g in 0..<pre.groupCount {
          let range = pre.groupBounds[g]..<pre.groupBounds[g + 1]
          let sum = range.reduce(0.0) { $0 + Double(u[sh * d.voxelCount + $1]) }
          if r[sh * pre.groupCount + g] == 0 {
            XCTAssertTrue(range.allSatisfy { u[sh * d.voxelCount + $0] == pre.emptyFill }, "\(d) \(n)")
          } else {
            XCTAssertEqual(sum, 1, accuracy: 1e-4, "\(d) \(n) shower \(sh) group \(g)")
          }
        }
      }
      let back = pre.assemble(pixelsU: u, r: r, energies: e)
      for i in s.indices { XCTAssertEqual(back[i], s[i], accuracy: 1e-5 * Swift.max(1, s[i]), "\(d) \(n) voxel \(i)") }
      // Total R equals E_dep/E_inc.
      let tot = (0..<pre.groupCount).reduce(Float(0)) { $0 + r[$1] }
      let dep = s[0..<d.voxelCount].reduce(Float(0), +) / Float(e[0])
      XCTAssertEqual(tot, dep, accuracy: 1e-4)
    }
  }

  func testGroupLayoutsAndFillValues() {
    let p1 = Stage1Preprocessing(dataset: .ds1Photon, norm: .layerwise)
    XCTAssertEqual(p1.groupSizes, [8, 160, 190, 5, 5])
    XCTAssertEqual(p1.emptyFill, 1 / 368)
    XCTAssertEqual(Stage1Preprocessing(dataset: .ds1Pion, norm: .layerwise).groupSizes, [8, 100, 100, 5, 150, 160, 10])
    let p3 = Stage1Preprocessing(dataset: .ds3, norm: .layerwise)
    XCTAssertEqual(p3.groupCount, 45)
    XCTAssertEqual(p3.emptyFill, 1.0 / 3.0)   // the reference's bug, kept
    XCTAssertEqual(Stage1Preprocessing(dataset: .ds2, norm: .layerwise).emptyFill, 1 / 144)
    XCTAssertEqual(Stage1Preprocessing(dataset: .ds3, norm: .global).emptyFill, 1 / 40500)
  }

  func testConditions() {
    XCTAssertEqual(Stage1Preprocessing.ds1Class(256), 0)
    XCTAssertEqual(Stage1Preprocessing.ds1Class(4_194_304), 14)
    XCTAssertEqual(Stage1Preprocessing.ds1Class(65536), 8)
    XCTAssertEqual(Stage1Preprocessing.logEnergyCondition(1000), -1, accuracy: 1e-6)
    XCTAssertEqual(Stage1Preprocessing.logEnergyCondition(1e6), 1, accuracy: 1e-6)
    XCTAssertEqual(Stage1Preprocessing.logEnergyCondition(sqrt(1e9)), 0, accuracy: 1e-6)
  }

  func testRollFlipAndNoise() {
    let pre = Stage1Preprocessing(dataset: .ds2, norm: .global)
    let geo = DatasetKind.ds2.geometry
    var s = [Float](repeating: 0, count: 6480)
    s[geo.index(layer: 3, alpha: 2, r: 5)] = 1
    var rolled = s
    pre.roll(&rolled, by: 5)
    XCTAssertEqual(rolled[geo.index(layer: 3, alpha: 7, r: 5)], 1)
    XCTAssertEqual(rolled.reduce(0, +), 1)
    var flipped = s
    pre.flip(&flipped, shower: 0)
    XCTAssertEqual(flipped[geo.index(layer: 3, alpha: 13, r: 5)], 1)
    // Same seed ⇒ same augmentation; a roll by A is the identity.
    var a = Stage1ToyShowers.make(.ds2, count: 3, seed: 2).showers, b = a
    var r1 = RNG(seed: 4), r2 = RNG(seed: 4)
    pre.augment(&a, roll: true, flip: true, rng: &r1)
    pre.augment(&b, roll: true, flip: true, rng: &r2)
    XCTAssertEqual(a, b)
    var c = a
    pre.roll(&c, by: 16)
    XCTAssertEqual(c, a)
    var noisy = [Float](repeating: 0, count: 368)
    var rng = RNG(seed: 1)
    Stage1Preprocessing.addNoise(&noisy, keV: 1, rng: &rng)
    XCTAssertTrue(noisy.allSatisfy { $0 >= 0 && $0 < 1e-3 })
    XCTAssertGreaterThan(noisy.reduce(0, +), 0.1)
  }
}
