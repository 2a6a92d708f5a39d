// Fixtures shared by the calibration tests: showers for the fits that must recover a known ring-wise
// change (angular spread σ, centre tilt τ), and ds2 tables on the default energy bins for the tests
// that apply one refinement (σ, τ, single deposits, empty layers), and the fit and check shared by the
// E_c and E_0 fits.
import CaloGeometry
import CaloTensor
import XCTest
@testable import CaloModel

/// `n` dense ds2 showers whose layer `l` has rings uniform in angle (a fixed radial profile, layer
/// energies uniform in 100–1000 MeV), and a copy in which each shower's layer went through `change`
/// (buffer, the layer's range, the fixture's RNG). One RNG(seed) draws the energies and feeds `change`.
func uniformRingShowers(layer l: Int, count n: Int, seed: UInt64,
                        change: (UnsafeMutableBufferPointer<Float>, Range<Int>, inout RNG) -> Void) -> (dense: [Float], target: [Float]) {
  let g = DatasetKind.ds2.geometry, v = g.voxelCount, nR = g.layers[l].nR, nA = g.layers[l].nAlpha
  let profile: [Double] = [0.40, 0.20, 0.12, 0.08, 0.06, 0.05, 0.04, 0.03, 0.02]
  precondition(nR == profile.count, "the fixture's profile has 9 radial bins")
  var dense = [Float](repeating: 0, count: n * v), target = dense
  var rng = RNG(seed: seed)
  for i in 0..<n {
    let energy = 100 + 900 * Double(rng.uniform())
    for a in 0..<nA {
      for r in 0..<nR {
        let k = i * v + g.index(layer: l, alpha: a, r: r)
        dense[k] = Float(energy * profile[r] / Double(nA))
        target[k] = dense[k]
      }
    }
    target.withUnsafeMutableBufferPointer { change($0, (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1]), &rng) }
  }
  return (dense, target)
}

/// Per (energy bin, layer) values on the ds2 default energy bins: `value` in layer `l` of every bin,
/// 0 elsewhere (all 0 without a layer).
func ds2LayerValues(_ value: Double = 0, layer l: Int? = nil) -> [[Double]] {
  let bins = SpotRoundingTable.defaultEdges(for: .ds2).count - 1
  var row = [Double](repeating: 0, count: DatasetKind.ds2.geometry.layers.count)
  if let l { row[l] = value }
  return Array(repeating: row, count: bins)
}

/// A ds2 table on the default energy bins with layer-conserving spots and these thresholds, no refinements.
func ds2Table(thresholdsMeV: [[Double]] = ds2LayerValues()) -> SpotRoundingTable {
  SpotRoundingTable(dataset: .ds2, log10EnergyEdges: SpotRoundingTable.defaultEdges(for: .ds2),
                    thresholdsMeV: thresholdsMeV, conservesLayerEnergy: true)
}

/// `showers` (N ds2 showers) after `table.apply`, each at 5 GeV with its row number as seed.
func applying(_ table: SpotRoundingTable, to showers: [Float]) -> [Float] {
  let n = showers.count / DatasetKind.ds2.geometry.voxelCount
  var out = showers
  table.apply(&out, energies: [Double](repeating: 5000, count: n), seeds: (0..<n).map { UInt64($0) })
  return out
}

/// A ds2 fit holding `dense` and `target` showers, all at `energy` MeV.
func ds2Fit(dense: [Float], target: [Float], energy: Double) -> SpotRoundingFit {
  let v = DatasetKind.ds2.geometry.voxelCount
  var fit = SpotRoundingFit(dataset: .ds2)
  fit.addDense(showers: dense, energies: [Double](repeating: energy, count: dense.count / v))
  fit.addTarget(showers: target, energies: [Double](repeating: energy, count: target.count / v))
  return fit
}

/// Asserts that a fitted energy lies between the largest of `energies` below `cut` and the smallest
/// at or above it (2 % slack): the quantile bisection of E_c and E_0 found the cut.
func assertBetweenNeighbours(_ value: Double, of energies: [Double], around cut: Double,
                             file: StaticString = #filePath, line: UInt = #line) {
  let lower = energies.filter { $0 < cut }.max()!, upper = energies.filter { $0 >= cut }.min()!
  XCTAssertGreaterThan(value, lower * 0.98, file: file, line: line)
  XCTAssertLessThan(value, upper * 1.02, file: file, line: line)
}

/// `ds2Table()` with `field` set to `value` in layer `l` of every bin, after checking that the field at
/// 0 everywhere changes nothing on `showers` (old tables, written without it, stay as they were).
func ds2Table(setting field: WritableKeyPath<SpotRoundingTable, [[Double]]?>, to value: Double, layer l: Int,
              checkedOn showers: [Float], file: StaticString = #filePath, line: UInt = #line) throws -> SpotRoundingTable {
  let old = ds2Table()
  var t = old
  t[keyPath: field] = ds2LayerValues()
  XCTAssertEqual(applying(old, to: showers), applying(t, to: showers), "0 everywhere is the table without the field",
                 file: file, line: line)
  t[keyPath: field] = ds2LayerValues(value, layer: l)
  try t.validate()
  return t
}
