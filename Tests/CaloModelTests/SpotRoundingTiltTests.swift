// The fifth spot-rounding refinement: centre tilt τ (a random dipole exp(τ(z₁ cos α + z₂ sin α)) on
// each layer's rings, each ring rescaled to its energy). Hand-computed cases for the tilt and the
// centre-offset statistic, the fit recovering a known τ, strict tables, and old tables unchanged.
import CaloGeometry
import CaloTensor
import Foundation
import XCTest
@testable import CaloModel

final class SpotRoundingTiltTests: XCTestCase {
  let kind = DatasetKind.ds2
  let g = DatasetKind.ds2.geometry   // 45 layers of 16 angles × 9 radii, radius fastest

  func testTiltMultipliesByADipoleAndKeepsEachRing() {
    // 4 angles (centres −3π/4, −π/4, π/4, 3π/4) × 2 radii, radius fastest: ring 0 = voxels 0, 2, 4, 6.
    // Ring 1 holds one voxel (7): its rescale undoes any factor. The voxel after the range is untouched.
    var x: [Float] = [1, 0, 2, 0, 3, 0, 4, 5, 9]
    let tau = 0.7
    var rng = RNG(seed: 42), twin = rng
    x.withUnsafeMutableBufferPointer { SpotRoundingTable.tiltCentre($0, 0..<8, layer: Layer(id: 0, rEdges: [0, 1, 2], nAlpha: 4), tau: tau, rng: &rng) }
    let z1 = tau * Double(twin.normal()), z2 = tau * Double(twin.normal())
    let f = (0..<4).map { a -> Double in
      let alpha = -Double.pi + (Double(a) + 0.5) * Double.pi / 2
      return exp(z1 * cos(alpha) + z2 * sin(alpha))
    }
    let y = [1 * f[0], 2 * f[1], 3 * f[2], 4 * f[3]], sum = y.reduce(0, +)
    let want: [Double] = [y[0] * 10 / sum, 0, y[1] * 10 / sum, 0, y[2] * 10 / sum, 0, y[3] * 10 / sum, 5, 9]
    for (got, w) in zip(x, want) { XCTAssertEqual(Double(got), w, accuracy: 1e-5) }
    XCTAssertNotEqual(x[0], 1, "the ring's voxels change")
    XCTAssertEqual(rng.next(), twin.next(), "two normals per layer")
    // τ = 0 and a layer without angular bins: unchanged, nothing drawn. An empty layer still draws.
    var same: [Float] = [1, 2, 3, 4]
    var r0 = RNG(seed: 1), r1 = r0
    same.withUnsafeMutableBufferPointer { SpotRoundingTable.tiltCentre($0, 0..<4, layer: Layer(id: 0, rEdges: [0, 1, 2], nAlpha: 2), tau: 0, rng: &r0) }
    same.withUnsafeMutableBufferPointer { SpotRoundingTable.tiltCentre($0, 0..<4, layer: Layer(id: 0, rEdges: [0, 1, 2, 3, 4], nAlpha: 1), tau: 1, rng: &r0) }
    XCTAssertEqual(same, [1, 2, 3, 4])
    XCTAssertEqual(r0.next(), r1.next())
    var empty: [Float] = [0, 0, 0, 0]
    var r2 = RNG(seed: 1), r3 = r2
    empty.withUnsafeMutableBufferPointer { SpotRoundingTable.tiltCentre($0, 0..<4, layer: Layer(id: 0, rEdges: [0, 1, 2], nAlpha: 2), tau: 1, rng: &r2) }
    _ = r3.normal(); _ = r3.normal()
    XCTAssertEqual(empty, [0, 0, 0, 0])
    XCTAssertEqual(r2.next(), r3.next(), "the stream does not depend on the values")
  }

  func testMeanCentreOffsetOnHandCases() {
    // 4 angles (centres −3π/4, −π/4, π/4, 3π/4) × 1 radius with centre r = 2. Shower 1: all energy at
    // α = π/4 → offset 2. Shower 2: equal at −π/4 and π/4 → η = 2 cos(π/4) = √2, φ = 0 → √2. Shower 3:
    // symmetric → 0. Shower 4: only a voxel below the threshold → left out.
    let x: [Float] = [0, 0, 5, 0,
                      0, 1, 1, 0,
                      1, 1, 1, 1,
                      0, 0.001, 0, 0]
    let m = SpotRoundingFit.meanCentreOffset(x, showers: 4, layer: Layer(id: 0, rEdges: [0, 4], nAlpha: 4), threshold: 0.01)
    XCTAssertEqual(m, (2 + 2.0.squareRoot() + 0) / 3, accuracy: 1e-12)
    XCTAssertTrue(SpotRoundingFit.meanCentreOffset([1, 2, 3], showers: 1, layer: Layer(id: 0, rEdges: [0, 1, 2, 3], nAlpha: 1), threshold: 0).isNaN,
                  "one angular bin: undefined")
  }

  /// Dense showers with rings uniform in angle against targets with the same rings tilted by τ = 0.8:
  /// the fitted τ comes back, γ stays near 1 and nothing is rounded. Layer 7 of ds2.
  func testFitRecoversAKnownTilt() {
    let l = 7, v = g.voxelCount, n = 400, tau = 0.8, layer = g.layers[l]
    let (dense, target) = uniformRingShowers(layer: l, count: n, seed: 9) { buf, range, rng in
      SpotRoundingTable.tiltCentre(buf, range, layer: layer, tau: tau, rng: &rng)
    }
    var fit = SpotRoundingFit(dataset: kind)
    let e = [Double](repeating: 20_000, count: n)
    fit.addDense(showers: dense, energies: e)
    fit.addTarget(showers: target, energies: e)
    let t = fit.table(exponents: true, conservingLayerEnergy: true, angularSpreads: true, centreTilts: true)
    XCTAssertNoThrow(try t.validate())
    let b = t.bin(of: 20_000)
    XCTAssertEqual(t.centreTilts![b][l], tau, accuracy: 0.08)
    XCTAssertEqual(t.exponents![b][l], 1, accuracy: 0.05)
    XCTAssertEqual(t.thresholdsMeV[b][l], 0)
    XCTAssertEqual(t.centreTilts![b][l + 1], 0, "an empty layer gets none")
    XCTAssertNil(fit.table(exponents: true, conservingLayerEnergy: true).centreTilts, "off: not written")
    // A target beyond the bound is out of reach: the layer is left untilted.
    var far = dense
    var rf = RNG(seed: 10)
    for i in 0..<n {
      far.withUnsafeMutableBufferPointer {
        SpotRoundingTable.tiltCentre($0, (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1]), layer: layer, tau: 4, rng: &rf)
      }
    }
    var fitFar = SpotRoundingFit(dataset: kind)
    fitFar.addDense(showers: dense, energies: e)
    fitFar.addTarget(showers: far, energies: e)
    XCTAssertEqual(fitFar.table(exponents: true, conservingLayerEnergy: true, centreTilts: true).centreTilts![b][l], 0)
  }

  /// Applied by a table: each ring keeps its energy, the centre moves, the same seeds give the same
  /// showers, and all-zero tilts equal a table without the field.
  func testApplyKeepsRingsAndOldTablesAreUnchanged() {
    let l = 3, v = g.voxelCount, o = g.offsets[l], n = 50
    var base = [Float](repeating: 0, count: n * v)
    for i in 0..<n { for k in 0..<144 { base[i * v + o + k] = Float(1 + k % 9) } }   // ring r holds 16·(r+1)
    let old = ds2Table()
    var t = old
    t.centreTilts = ds2LayerValues()
    XCTAssertEqual(applying(old, to: base), applying(t, to: base), "τ = 0 everywhere is the table without the field")
    t.centreTilts = ds2LayerValues(1, layer: l)
    XCTAssertNoThrow(try t.validate())
    let c = applying(t, to: base)
    XCTAssertEqual(c, applying(t, to: base), "same seeds, same showers")
    let layer = g.layers[l]
    let before = SpotRoundingFit.meanCentreOffset(Array(base[o..<(o + 144)]), showers: 1, layer: layer, threshold: 0)
    var moved = 0.0
    for i in 0..<n {
      for r in 0..<9 {
        let ring = (0..<16).map { Double(c[i * v + o + $0 * 9 + r]) }
        XCTAssertEqual(ring.reduce(0, +), Double(16 * (r + 1)), accuracy: 1e-3)
      }
      moved += SpotRoundingFit.meanCentreOffset(Array(c[(i * v + o)..<(i * v + o + 144)]), showers: 1,
                                                layer: layer, threshold: 0) / Double(n)
    }
    XCTAssertLessThan(before, 1e-6, "uniform rings are centred")
    XCTAssertGreaterThan(moved, 1, "tilted ones are not (mm)")
  }

  func testBadTiltsAreRejected() throws {
    let row = Array(repeating: 0.0, count: g.layers.count)
    let ok = SpotRoundingTable(dataset: kind, log10EnergyEdges: [3.0, 4.0], thresholdsMeV: [row])
    XCTAssertFalse(String(decoding: try JSONEncoder().encode(ok), as: UTF8.self).contains("centreTilts"))
    func rejects(_ s: [[Double]], _ fragment: String) {
      var t = ok
      t.centreTilts = s
      XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains(fragment), "\($0)") }
    }
    rejects([Array(row.dropLast())], "rows (energy bins)")
    rejects([row, row], "rows (energy bins)")
    var bad = row
    bad[4] = -0.1
    rejects([bad], "[0, 1.5]")
    bad[4] = 1.6
    rejects([bad], "[0, 1.5]")
    bad[4] = .infinity
    rejects([bad], "[0, 1.5]")
  }
}
