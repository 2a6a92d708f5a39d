// The fourth spot-rounding refinement: angular spread σ (lognormal factors on each voxel, each ring
// rescaled to its energy). Hand-computed cases for the spreading and the angular-variation statistic,
// the fit recovering a known σ, strict tables, and tables without the field behaving as before.
import CaloGeometry
import CaloTensor
import Foundation
import XCTest
@testable import CaloModel

final class SpotRoundingSpreadTests: XCTestCase {
  let kind = DatasetKind.ds2
  let g = DatasetKind.ds2.geometry   // 45 layers of 16 angles × 9 radii, radius fastest

  func testSpreadMultipliesByLognormalFactorsAndKeepsEachRing() {
    // 2 angles × 2 radii, radius fastest: ring 0 = voxels 0 and 2, ring 1 = voxels 1 and 3 (voxel 3
    // empty: it draws nothing and stays 0). The voxel after the range is untouched.
    var x: [Float] = [1, 2, 3, 0, 9]
    let sigma = 0.5
    var rng = RNG(seed: 42), twin = rng
    x.withUnsafeMutableBufferPointer { SpotRoundingTable.spreadAngles($0, 0..<4, nR: 2, sigma: sigma, rng: &rng) }
    let f = (0..<3).map { _ in exp(sigma * Double(twin.normal()) - sigma * sigma / 2) }
    let y0 = 1 * f[0], y2 = 3 * f[2]   // f[1] multiplies ring 1's only voxel, which its rescale undoes
    let want: [Double] = [y0 * 4 / (y0 + y2), 2, y2 * 4 / (y0 + y2), 0, 9]   // ring 1 holds one voxel: 2 again
    for (got, w) in zip(x, want) { XCTAssertEqual(Double(got), w, accuracy: 1e-5) }
    XCTAssertNotEqual(x[0], 1, "the ring's voxels change")
    XCTAssertEqual(rng.next(), twin.next(), "one normal per non-empty voxel, in order")
    var same: [Float] = [1, 2, 3, 4]
    var r0 = RNG(seed: 1), r1 = r0
    same.withUnsafeMutableBufferPointer { SpotRoundingTable.spreadAngles($0, 0..<4, nR: 2, sigma: 0, rng: &r0) }
    XCTAssertEqual(same, [1, 2, 3, 4], "σ = 0 leaves the layer")
    XCTAssertEqual(r0.next(), r1.next(), "and draws nothing")
  }

  func testMeanAngularCVOnHandCases() {
    // 4 angles × 2 radii (radius fastest). Shower 1: ring 0 = [4, 0, 0, 0] (CV √3), ring 1 = [1, 1, 1, 1]
    // (CV 0), equal energies → √3 / 2. Shower 2: ring 0 = [2, 2, 0, 0] (CV 1), ring 1 holds only a voxel
    // below the threshold (left out) → 1. Shower 3 has nothing above the threshold: left out.
    let x: [Float] = [4, 1, 0, 1, 0, 1, 0, 1,
                      2, 0.001, 2, 0, 0, 0, 0, 0,
                      0.001, 0, 0, 0, 0, 0, 0, 0]
    let cv = SpotRoundingFit.meanAngularCV(x, showers: 3, nR: 2, threshold: 0.01)
    XCTAssertEqual(cv, (3.0.squareRoot() / 2 + 1) / 2, accuracy: 1e-12)
    XCTAssertTrue(SpotRoundingFit.meanAngularCV([1, 2, 3], showers: 1, nR: 3, threshold: 0).isNaN, "one angular bin: undefined")
  }

  /// Dense showers whose rings are uniform in angle against targets with the same rings spread by σ =
  /// 0.6: the fitted σ comes back, γ stays near 1 (the radial profile is the same) and no voxel is
  /// rounded (every target voxel is non-empty, so ε = 0). Layer 7 of ds2.
  func testFitRecoversAKnownSpread() {
    let l = 7, n = 400, sigma = 0.6, nR = g.layers[l].nR
    let (dense, target) = uniformRingShowers(layer: l, count: n, seed: 9) { buf, range, rng in
      SpotRoundingTable.spreadAngles(buf, range, nR: nR, sigma: sigma, rng: &rng)
    }
    var fit = SpotRoundingFit(dataset: kind)
    let e = [Double](repeating: 20_000, count: n)
    fit.addDense(showers: dense, energies: e)
    fit.addTarget(showers: target, energies: e)
    let t = fit.table(exponents: true, conservingLayerEnergy: true, angularSpreads: true)
    XCTAssertNoThrow(try t.validate())
    let b = t.bin(of: 20_000)
    XCTAssertEqual(t.angularSpreads![b][l], sigma, accuracy: 0.05)
    XCTAssertEqual(t.exponents![b][l], 1, accuracy: 0.05)
    XCTAssertEqual(t.thresholdsMeV[b][l], 0)
    XCTAssertEqual(t.angularSpreads![b][l + 1], 0, "an empty layer gets none")
    XCTAssertNil(fit.table(exponents: true, conservingLayerEnergy: true).angularSpreads, "off: not written")
  }

  /// Applied by a table: each ring of the layer keeps its energy, the angles vary, the same seeds give
  /// the same showers, and all-zero spreads equal a table without the field.
  func testApplyKeepsRingsAndOldTablesAreUnchanged() {
    let l = 3, v = g.voxelCount, o = g.offsets[l], n = 50
    var base = [Float](repeating: 0, count: n * v)
    for i in 0..<n { for k in 0..<144 { base[i * v + o + k] = Float(1 + k % 9) } }   // ring r holds 16·(r+1)
    let old = ds2Table(thresholdsMeV: ds2LayerValues(1.5, layer: l))   // ε 1.5 MeV rounds ring 0 only
    var t = old
    t.angularSpreads = ds2LayerValues()
    let a = applying(old, to: base)
    XCTAssertEqual(a, applying(t, to: base), "σ = 0 everywhere is the table without the field")
    t.angularSpreads = ds2LayerValues(0.8, layer: l)
    XCTAssertNoThrow(try t.validate())
    let c = applying(t, to: base)
    XCTAssertEqual(c, applying(t, to: base), "same seeds, same showers")
    XCTAssertNotEqual(c, a)
    // Rounding conserves the layer, spreading each ring: without ε every ring keeps its energy.
    var unrounded = t
    unrounded.thresholdsMeV = ds2LayerValues()
    let u = applying(unrounded, to: base)
    for i in 0..<n {
      for r in 0..<9 {
        let ring = (0..<16).map { Double(u[i * v + o + $0 * 9 + r]) }
        XCTAssertEqual(ring.reduce(0, +), Double(16 * (r + 1)), accuracy: 1e-3)
        XCTAssertGreaterThan(ring.max()! - ring.min()!, 0.1, "the ring's angles vary")
      }
      XCTAssertEqual(Double(c[(i * v + o)..<(i * v + o + 144)].reduce(0, +)), Double(16 * 45), accuracy: 1e-2)
    }
  }

  func testBadSpreadsAreRejected() throws {
    let edges = [3.0, 4.0]
    let row = Array(repeating: 0.0, count: g.layers.count)
    let ok = SpotRoundingTable(dataset: kind, log10EnergyEdges: edges, thresholdsMeV: [row])
    XCTAssertFalse(String(decoding: try JSONEncoder().encode(ok), as: UTF8.self).contains("angularSpreads"))
    func rejects(_ s: [[Double]], _ fragment: String) {
      var t = ok
      t.angularSpreads = s
      XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains(fragment), "\($0)") }
    }
    rejects([Array(row.dropLast())], "rows (energy bins)")
    rejects([row, row], "rows (energy bins)")
    var bad = row
    bad[4] = -0.1
    rejects([bad], "[0, 3.0]")
    bad[4] = 3.5
    rejects([bad], "[0, 3.0]")
    bad[4] = .nan
    rejects([bad], "[0, 3.0]")
  }
}
