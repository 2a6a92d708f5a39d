// Spot rounding: expected energy kept per voxel, values at or above ε untouched, reproducible by seed,
// the threshold fit against a hand-computed case, and strict table files; the conserving variant keeps
// every layer's energy exactly and its occupancy matches the fit's expectation.
import CaloGeometry
import CaloTensor
import Foundation
import XCTest
@testable import CaloModel

final class SpotRoundingTests: XCTestCase {
  let kind = DatasetKind.ds1Photon
  let g = DatasetKind.ds1Photon.geometry   // stored: building a Geometry per access is slow

  /// A table with ε in layer `layer` only, the same in every energy bin.
  func table(layer: Int, epsilon: Double) -> SpotRoundingTable {
    let edges = SpotRoundingTable.defaultEdges(for: kind)
    var eps = Array(repeating: Array(repeating: 0.0, count: g.layers.count), count: edges.count - 1)
    for b in eps.indices { eps[b][layer] = epsilon }
    return SpotRoundingTable(dataset: kind, log10EnergyEdges: edges, thresholdsMeV: eps)
  }

  func testDS1BinsAreTheFifteenEnergies() {
    let t = table(layer: 1, epsilon: 1)
    XCTAssertEqual(t.binCount, 15)
    for (k, e) in DatasetKind.ds1Energies.enumerated() { XCTAssertEqual(t.bin(of: e), k) }
    XCTAssertEqual(t.bin(of: 1), 0, "below the range: first bin")
    XCTAssertEqual(t.bin(of: 1e9), 14, "above the range: last bin")
    let t2 = SpotRoundingTable(dataset: .ds2, log10EnergyEdges: SpotRoundingTable.defaultEdges(for: .ds2), thresholdsMeV: [])
    XCTAssertEqual(t2.binCount, 12)
    XCTAssertEqual(t2.bin(of: 1000), 0)
    XCTAssertEqual(t2.bin(of: 1_000_000), 11)
    XCTAssertEqual(t2.bin(of: 1800), 1, "log10(1800) = 3.255 lies in [3.25, 3.5)")
  }

  func testRoundingKeepsExpectedEnergyAndLeavesOtherVoxels() {
    let n = 20000, v = g.voxelCount, l = 1, eps: Float = 2
    let o = g.offsets[l]
    var s = [Float](repeating: 0.3, count: n * v)   // 0.3 MeV everywhere (other layers: ε = 0, untouched)
    for i in 0..<n { s[i * v + o] = 0.5; s[i * v + o + 1] = 3; s[i * v + o + 2] = 0 }
    let before = s
    table(layer: l, epsilon: Double(eps)).apply(&s, energies: [Double](repeating: 65536, count: n),
                                               seeds: (0..<n).map { UInt64($0) })
    // Counted in plain loops and asserted once: an XCTAssert per voxel takes minutes in a debug build.
    var sum05 = 0.0, otherChanged = 0, bigChanged = 0, emptyFilled = 0, offGrid = 0
    for i in 0..<n {
      let row = i * v
      for k in 0..<v where (k < o || k >= g.offsets[l + 1]) && s[row + k] != before[row + k] { otherChanged += 1 }
      if s[row + o + 1] != 3 { bigChanged += 1 }
      if s[row + o + 2] != 0 { emptyFilled += 1 }
      for k in [o] + Array((o + 3)..<g.offsets[l + 1]) where s[row + k] != 0 && s[row + k] != eps { offGrid += 1 }
      sum05 += Double(s[row + o])
    }
    XCTAssertEqual(otherChanged, 0, "layers with ε = 0 are untouched")
    XCTAssertEqual(bigChanged, 0, "a voxel ≥ ε is kept")
    XCTAssertEqual(emptyFilled, 0, "an empty voxel stays empty")
    XCTAssertEqual(offGrid, 0, "a voxel below ε becomes 0 or ε")
    // E[x'] = ε · P(ε) = 0.5; standard error ε·sqrt(p(1−p)/n) with p = 0.25 is 0.0061.
    XCTAssertEqual(sum05 / Double(n), 0.5, accuracy: 4 * 0.0062)
  }

  func testSameSeedsSameShowers() {
    let v = g.voxelCount
    let base = (0..<(3 * v)).map { Float(($0 * 7919) % 997) / 997 }
    let t = table(layer: 1, epsilon: 0.8)
    var a = base, b = base, c = base
    let e = [256.0, 65536, 4194304]
    t.apply(&a, energies: e, seeds: [1, 2, 3])
    t.apply(&b, energies: e, seeds: [1, 2, 3])
    t.apply(&c, energies: e, seeds: [1, 2, 4])
    XCTAssertEqual(a, b)
    XCTAssertEqual(a[0..<(2 * v)], c[0..<(2 * v)], "shower i depends on seeds[i] only")
    XCTAssertNotEqual(a[(2 * v)...], c[(2 * v)...])
  }

  /// Dense layer 1 per shower: four voxels of 0.1 MeV and one of 10 MeV; the target has 3 non-empty
  /// voxels there. occ(ε) = 1 + 0.4/ε for 0.1 < ε ≤ 10, so ε = 0.2 MeV by hand. Layer 0: the dense
  /// output (2 voxels) is already sparser than the target (5), so ε = 0.
  func testFitMatchesHandComputedThreshold() {
    let v = g.voxelCount, n = 10
    var dense = [Float](repeating: 0, count: n * v), target = dense
    for i in 0..<n {
      let o1 = i * v + g.offsets[1], o0 = i * v + g.offsets[0]
      for k in 0..<4 { dense[o1 + k] = 0.1 }
      dense[o1 + 4] = 10
      for k in 0..<3 { target[o1 + 10 + k] = 5 }
      dense[o0] = 1; dense[o0 + 1] = 1
      for k in 0..<5 { target[o0 + k] = 1 }
    }
    var fit = SpotRoundingFit(dataset: kind)
    let e = [Double](repeating: 65536, count: n)
    fit.addDense(showers: dense, energies: e)
    fit.addTarget(showers: target, energies: e)
    let b = 8   // 65536 MeV = 2^16: the ninth ds1 energy
    XCTAssertEqual(fit.targetOccupancy[b][1], 3)
    XCTAssertEqual(fit.denseOccupancy[b][1], 5)
    XCTAssertEqual(fit.expectedOccupancy(bin: b, layer: 1, epsilon: 1), 1.4, accuracy: 1e-6)
    let t = fit.table()
    XCTAssertEqual(t.thresholdsMeV[b][1], 0.2, accuracy: 0.2 * 0.01)
    XCTAssertEqual(t.thresholdsMeV[b][0], 0)
    XCTAssertEqual(t.thresholdsMeV[0][1], 0, "a bin without showers is left alone")
    XCTAssertTrue(fit.targetOccupancy[0][1].isNaN)
    XCTAssertNoThrow(try t.validate())
  }

  func testSharpenKeepsTheLayerEnergy() {
    var x: [Float] = [9, 1, 4, 0, 7]
    x.withUnsafeMutableBufferPointer { SpotRoundingTable.sharpen($0, 1..<4, gamma: 0.5) }
    // [1, 4, 0] → sqrt → [1, 2, 0], rescaled to the old sum 5: [5/3, 10/3, 0]; voxels outside untouched.
    XCTAssertEqual(x[0], 9); XCTAssertEqual(x[4], 7); XCTAssertEqual(x[3], 0)
    XCTAssertEqual(x[1], 5.0 / 3, accuracy: 1e-6)
    XCTAssertEqual(x[2], 10.0 / 3, accuracy: 1e-6)
    var tiny: [Float] = [1e-30, 4e-30, 1e-38]   // no overflow or NaN for γ > 1 on tiny values
    tiny.withUnsafeMutableBufferPointer { SpotRoundingTable.sharpen($0, 0..<3, gamma: 3) }
    XCTAssertTrue(tiny.allSatisfy { $0.isFinite && $0 >= 0 })
    XCTAssertEqual(Double(tiny.reduce(0, +)), 5e-30, accuracy: 1e-35)
  }

  /// Showers at 65.5 GeV whose layer `layer` holds 100·exp(−r/scale)·U(0.5, 1.5) MeV per voxel (r the
  /// radial bin) for the dense and the target side, and the fit fed with both. Shapes: (showers, voxels).
  private func radialLayers(layer l: Int, denseScale: Double, targetScale: Double, seed: UInt64,
                            showers n: Int = 200) -> (SpotRoundingFit, dense: [Float], target: [Float]) {
    let v = g.voxelCount, lay = g.layers[l], nR = lay.nR
    var dense = [Float](repeating: 0, count: n * v), target = dense
    var rng = RNG(seed: seed)
    for i in 0..<n {
      for a in 0..<lay.nAlpha {
        for r in 0..<nR {
          let k = i * v + g.offsets[l] + a * nR + r
          dense[k] = 100 * Float(Foundation.exp(-Double(r) / denseScale)) * (0.5 + rng.uniform())
          target[k] = 100 * Float(Foundation.exp(-Double(r) / targetScale)) * (0.5 + rng.uniform())
        }
      }
    }
    var fit = SpotRoundingFit(dataset: kind)
    let e = [Double](repeating: 65536, count: n)
    fit.addDense(showers: dense, energies: e)
    fit.addTarget(showers: target, energies: e)
    return (fit, dense, target)
  }

  /// The reverse case, a core too wide (the ds1-pion MIP layer): sharpening needs γ ≈ 4, beyond the
  /// default bound of 2, where the fit stops; `maxExponent` lets it reach the target's radius.
  func testExponentFitBoundLimitsSharpening() {
    let l = 1
    // Wide dense layer exp(−r/2) against a narrow target exp(−2r): γ ≈ 4 matches them.
    let (fit, _, _) = radialLayers(layer: l, denseScale: 2, targetScale: 0.5, seed: 11)
    XCTAssertEqual(SpotRoundingFit.defaultMaxExponent, 2)
    XCTAssertGreaterThan(fit.table(exponents: true).exponents![8][l], 1.95, "stops at the default bound")
    let gamma = fit.table(exponents: true, maxExponent: 8).exponents![8][l]
    XCTAssertGreaterThan(gamma, 2.5)
    XCTAssertLessThan(gamma, 7.5, "within the wider range, not at its bound")
  }

  /// A narrow dense layer (energy in the innermost radial bins) against a target with the same
  /// energy spread over the middle radial bins: the fitted γ < 1 widens the dense showers, and the
  /// median RMS radius after sharpening lands near the target's.
  func testExponentFitWidensANarrowLayer() {
    let v = g.voxelCount, n = 200, l = 1, lay = g.layers[l]
    // Core-heavy dense layer exp(−r) against a wider target exp(−r/2): γ ≈ 0.5.
    let (fit, dense, target) = radialLayers(layer: l, denseScale: 1, targetScale: 2, seed: 9, showers: n)
    let e = [Double](repeating: 65536, count: n)
    let t = fit.table(exponents: true)
    let gamma = t.exponents![8][l]
    XCTAssertLessThan(gamma, 0.7)
    XCTAssertGreaterThan(gamma, 0.35, "within the search range, not at its bound")
    XCTAssertEqual(t.exponents![8][0], 1, "unsegmented layers keep γ = 1")
    XCTAssertEqual(t.thresholdsMeV[8][l], 0, "every target voxel is non-empty: no rounding")
    var y = dense
    t.apply(&y, energies: e, seeds: (0..<n).map { UInt64($0) })
    func median(_ s: [Float]) -> Double {
      SpotRoundingFit.medianRMSRadius((0..<n).flatMap { s[($0 * v + g.offsets[l])..<($0 * v + g.offsets[l + 1])] },
                                      showers: n, rCentres: lay.rCentres, threshold: 1)
    }
    XCTAssertEqual(median(y), median(target), accuracy: 0.02 * median(target))
    XCTAssertLessThan(median(dense), 0.8 * median(target))
  }

  func testTableFilesRoundTripAndBadOnesAreRejected() throws {
    let dir = NSTemporaryDirectory() + "calovq-spots-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let t = table(layer: 2, epsilon: 1.5)
    try t.save(to: dir + "/t.json")
    XCTAssertEqual(try SpotRoundingTable.load(from: dir + "/t.json"), t)
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/t.json.tmp"))

    func rejects(_ text: String, _ fragment: String) throws {
      try text.write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
      XCTAssertThrowsError(try SpotRoundingTable.load(from: dir + "/bad.json"), text) {
        XCTAssertTrue("\($0)".contains(fragment) && "\($0)".contains("bad.json"), "\($0)")
      }
    }
    try rejects("{", "not a spot-rounding table")
    try rejects(#"{"dataset": "ds9", "log10EnergyEdges": [3, 4], "thresholdsMeV": [[0]]}"#, "not a spot-rounding table")
    let zeros = Array(repeating: "0", count: g.layers.count)   // ds1: 24 layer ids, empty ones included
    let row = "[" + zeros.joined(separator: ",") + "]", negative = "[-1," + zeros.dropFirst().joined(separator: ",") + "]"
    try rejects(#"{"dataset": "ds1-photon", "log10EnergyEdges": [3, 4], "thresholdsMeV": [[0, 0]]}"#, "1 rows (energy bins) of 24 values")
    try rejects(#"{"dataset": "ds1-photon", "log10EnergyEdges": [4, 3], "thresholdsMeV": ["# + row + "]}", "increasing")
    try rejects(#"{"dataset": "ds1-photon", "log10EnergyEdges": [3, 4], "thresholdsMeV": ["# + negative + "]}", "≥ 0")
    try rejects(#"{"dataset": "ds1-photon", "log10EnergyEdges": [3, 4], "thresholdsMeV": ["# + row + #"], "exponents": [[1]]}"#,
                "exponents must be 1 rows")
    try rejects(#"{"dataset": "ds1-photon", "log10EnergyEdges": [3, 4], "thresholdsMeV": ["# + row + #"], "exponents": ["#
                + row + "]}", "exponents must be in (0, 10]")
    XCTAssertThrowsError(try SpotRoundingTable.load(from: dir + "/missing.json")) { XCTAssertTrue("\($0)".contains("cannot read"), "\($0)") }
  }

  /// Conserving rounding on a layer of one 3 MeV voxel (≥ ε, untouched) and five 0.2 MeV voxels
  /// (ε = 1): the layer keeps 4 MeV in every shower, the spots are equal shares of the 1 MeV floor,
  /// and the mean number of spots equals the fit's expectation Σ x/ε + Π(1 − x/ε) = 1 + 0.8⁵ (the
  /// fit's count adds the untouched voxel).
  func testConservingRoundingKeepsEachLayerEnergyAndTheExpectedOccupancy() {
    let n = 20000, v = g.voxelCount, l = 1, o = g.offsets[l]
    var s = [Float](repeating: 0, count: n * v)
    for i in 0..<n {
      s[i * v + o] = 3
      for k in 1...5 { s[i * v + o + k] = 0.2 }
      s[i * v + g.offsets[2]] = 0.5   // another layer with ε = 0: untouched
    }
    let before = s
    var t = table(layer: l, epsilon: 1)
    t.conservesLayerEnergy = true
    t.apply(&s, energies: [Double](repeating: 65536, count: n), seeds: (0..<n).map { UInt64($0) })
    var worst = 0.0, spots = 0, badShare = 0, otherChanged = 0
    for i in 0..<n {
      let layer = s[(i * v + o)..<(i * v + g.offsets[l + 1])]
      worst = max(worst, abs(Double(layer.reduce(0, +)) - 4))
      let k = layer.dropFirst().filter { $0 > 0 }
      spots += k.count
      if k.isEmpty || k.contains(where: { abs(Double($0) - 1.0 / Double(k.count)) > 1e-6 }) || layer.first != 3 { badShare += 1 }
      if s[i * v + g.offsets[2]] != before[i * v + g.offsets[2]] { otherChanged += 1 }
    }
    XCTAssertLessThan(worst, 1e-5, "every shower keeps its layer energy")
    XCTAssertEqual(badShare, 0, "≥ 1 spot, each an equal share of the floor; the voxel ≥ ε untouched")
    XCTAssertEqual(otherChanged, 0)
    // Spots per shower: 1 + 0.8^5 = 1.32768; its standard deviation is below 0.6, so 4σ/√n < 0.02.
    let expected = 1 + pow(0.8, 5.0)
    XCTAssertEqual(Double(spots) / Double(n), expected, accuracy: 0.02)
    // The fit's count includes the voxel ≥ ε: 1 + spots (0.2 is not exact in Float32, hence 1e-6).
    XCTAssertEqual(SpotRoundingFit.expectedCount(Array(before[o..<g.offsets[l + 1]]), showers: 1, epsilon: 1, conserving: true),
                   1 + expected, accuracy: 1e-6)
    XCTAssertEqual(SpotRoundingFit.expectedCount(Array(before[o..<g.offsets[l + 1]]), showers: 1, epsilon: 1), 2, accuracy: 1e-6,
                   "plain: 1 (the voxel ≥ ε) + 5 × 0.2")
  }

  /// Tables written before `conservesLayerEnergy` existed (the bundled ds1-photon one among them) load
  /// with it unset and round exactly as plain tables; a fit asked to conserve writes it.
  func testTablesWithoutTheFieldRoundPlainly() throws {
    let plain = table(layer: 1, epsilon: 0.8)
    let json = try JSONEncoder().encode(plain)
    XCTAssertFalse(String(decoding: json, as: UTF8.self).contains("conserves"))
    let decoded = try JSONDecoder().decode(SpotRoundingTable.self, from: json)
    XCTAssertNil(decoded.conservesLayerEnergy)
    let v = g.voxelCount
    let base = (0..<(3 * v)).map { Float(($0 * 7919) % 997) / 997 }
    var a = base, b = base
    let e = [256.0, 65536, 4194304]
    decoded.apply(&a, energies: e, seeds: [1, 2, 3])
    var explicit = plain
    explicit.conservesLayerEnergy = false
    explicit.apply(&b, energies: e, seeds: [1, 2, 3])
    XCTAssertEqual(a, b)
    XCTAssertTrue(a[g.offsets[1]..<g.offsets[2]].allSatisfy { $0 == 0 || $0 == 0.8 || $0 >= 0.8 })

    var fit = SpotRoundingFit(dataset: kind)
    fit.addDense(showers: base, energies: e)
    fit.addTarget(showers: base.map { $0 > 0.5 ? $0 : 0 }, energies: e)
    XCTAssertEqual(fit.table(conservingLayerEnergy: true).conservesLayerEnergy, true)
    XCTAssertNil(fit.table().conservesLayerEnergy)
  }
}
