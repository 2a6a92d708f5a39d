import CaloGeometry
import XCTest

@testable import CaloMetrics

/// Hand-computed high-level features of tiny synthetic showers in every geometry.
final class FeatureTests: XCTestCase {
  /// A zero shower of `kind` with the given (layer id, alpha, r) → MeV voxels set.
  func shower(_ kind: DatasetKind, _ voxels: [(Int, Int, Int, Float)]) -> [Float] {
    let g = kind.geometry
    var s = [Float](repeating: 0, count: g.voxelCount)
    for (id, a, r, e) in voxels {
      let l = g.layers.firstIndex { $0.id == id }!
      s[g.index(layer: l, alpha: a, r: r)] = e
    }
    return s
  }

  func testLayoutWidths() {
    XCTAssertEqual(FeatureLayout(geometry: DatasetKind.ds1Photon.geometry).width, 30)
    XCTAssertEqual(FeatureLayout(geometry: DatasetKind.ds1Pion.geometry).width, 46)
    XCTAssertEqual(FeatureLayout(geometry: DatasetKind.ds2.geometry).width, 362)
    XCTAssertEqual(FeatureLayout(geometry: DatasetKind.ds3.geometry).width, 362)
  }

  func testPhotonTwoVoxelsThresholdAndEmptyLayer() {
    // Layer 1 (photons): radial edges 0,2,4,... → centre of r-bin 1 is 3 mm, r-bin 3 is 7 mm;
    // 10 alpha bins, bin 0 centred at −162°, bin 5 at +18°.
    // Layer 0: one voxel of 0.5 MeV (below the 1 MeV threshold → empty layer);
    // layer 3: exactly 1 MeV at r-bin 0 (kept: the cut is strict).
    let s = shower(.ds1Photon, [(1, 0, 1, 3), (1, 5, 3, 1), (0, 0, 2, 0.5), (3, 0, 0, 1)])
    let t = FeatureExtractor(kind: .ds1Photon).features(energies: [4], showers: s)
    let L = t.layout
    XCTAssertEqual(L.relevantIds, [0, 1, 2, 3, 12])
    XCTAssertEqual(L.angularIds, [1, 2])
    let deg = Double.pi / 180
    let eta1 = 3 * cos(-162 * deg), phi1 = 3 * sin(-162 * deg)
    let eta2 = 7 * cos(18 * deg), phi2 = 7 * sin(18 * deg)
    let S = 4.0 + 1e-16
    let me = (3 * eta1 + 1 * eta2) / S, mp = (3 * phi1 + 1 * phi2) / S
    let we = (max((3 * eta1 * eta1 + eta2 * eta2) / S - me * me, 0)).squareRoot()
    let wp = (max((3 * phi1 * phi1 + phi2 * phi2) / S - mp * mp, 0)).squareRoot()
    let mr = (3 * 3 + 7.0) / S, wr = ((3 * 9 + 49.0) / S - mr * mr).squareRoot()
    XCTAssertEqual(t[0, L.incidentEnergy], 4)
    XCTAssertEqual(t[0, L.totalEnergy], 5, accuracy: 1e-12)
    XCTAssertEqual(t[0, L.layerEnergy + 0], 0)  // layer 0 empty after threshold
    XCTAssertEqual(t[0, L.layerEnergy + 1], 4)
    XCTAssertEqual(t[0, L.layerEnergy + 3], 1)
    XCTAssertEqual(t[0, L.ecEta + 0], me, accuracy: 1e-12)
    XCTAssertEqual(t[0, L.ecPhi + 0], mp, accuracy: 1e-12)
    XCTAssertEqual(t[0, L.widthEta + 0], we, accuracy: 1e-9)
    XCTAssertEqual(t[0, L.widthPhi + 0], wp, accuracy: 1e-9)
    XCTAssertEqual(t[0, L.ecR + 1], mr, accuracy: 1e-12)
    XCTAssertEqual(t[0, L.widthR + 1], wr, accuracy: 1e-9)
    XCTAssertEqual(t[0, L.sparsity + 1], 1 - 2.0 / 160, accuracy: 1e-15)
    // Empty layers: centres and widths 0 (not NaN), sparsity 1.
    XCTAssertEqual(t[0, L.ecR + 0], 0)
    XCTAssertEqual(t[0, L.widthR + 0], 0)
    XCTAssertEqual(t[0, L.sparsity + 0], 1)
    XCTAssertEqual(t[0, L.ecEta + 1], 0)
    XCTAssertEqual(t[0, L.widthPhi + 1], 0)
    // Layer 3 single voxel at r-centre 25 mm: centre 25 (up to ε), width 0.
    XCTAssertEqual(t[0, L.ecR + 3], 25, accuracy: 1e-12)
    XCTAssertEqual(t[0, L.widthR + 3], 0, accuracy: 1e-6)
    XCTAssertFalse(t.values.contains { $0.isNaN })
  }

  func testPionHadronicLayer() {
    // Pion layer 13: r edges 0,10,20,...; r-bin 2 centre 25 mm; alpha bin 2 centred at −90°.
    let s = shower(.ds1Pion, [(13, 2, 2, 10)])
    let t = FeatureExtractor(kind: .ds1Pion).features(energies: [100], showers: s)
    let L = t.layout
    let ai = L.angularIds.firstIndex(of: 13)!, ri = L.relevantIds.firstIndex(of: 13)!
    XCTAssertEqual(t[0, L.ecEta + ai], 25 * cos(-Double.pi / 2), accuracy: 1e-9)
    XCTAssertEqual(t[0, L.ecPhi + ai], -25, accuracy: 1e-9)
    XCTAssertEqual(t[0, L.widthPhi + ai], 0, accuracy: 1e-5)
    XCTAssertEqual(t[0, L.layerEnergy + ri], 10)
    XCTAssertEqual(t[0, L.sparsity + ri], 1 - 1.0 / 160, accuracy: 1e-15)
  }

  func testDS2OppositeVoxels() {
    // ds2 layer 7, r-bin 2 (centre 11.625 mm), alpha bins 4 and 12 (opposite, α = −168.75° + 22.5°·a).
    // Equal energies: centres 0, width_η = r·|cos α4|, width_φ = r·|sin α4|. Below-threshold voxel dropped.
    let s = shower(.ds2, [(7, 4, 2, 2), (7, 12, 2, 2), (9, 0, 0, 0.015)])
    let t = FeatureExtractor(kind: .ds2).features(energies: [1000], showers: s)
    let L = t.layout
    let a4 = (-168.75 + 22.5 * 4) * Double.pi / 180
    XCTAssertEqual(t[0, L.ecEta + 7], 0, accuracy: 1e-12)
    XCTAssertEqual(t[0, L.ecPhi + 7], 0, accuracy: 1e-12)
    XCTAssertEqual(t[0, L.widthEta + 7], 11.625 * abs(cos(a4)), accuracy: 1e-9)
    XCTAssertEqual(t[0, L.widthPhi + 7], 11.625 * abs(sin(a4)), accuracy: 1e-9)
    XCTAssertEqual(t[0, L.ecR + 7], 11.625, accuracy: 1e-12)
    XCTAssertEqual(t[0, L.layerEnergy + 9], 0)
    XCTAssertEqual(t[0, L.sparsity + 9], 1)
    XCTAssertEqual(t[0, L.totalEnergy], 4, accuracy: 1e-12)
  }

  func testDS3BatchOfTwoMatchesSingles() {
    // ds3 alpha bin 25 is centred at +3.6°, r-bin 17 at 40.6875 mm.
    let a = shower(.ds3, [(44, 25, 17, 5)])
    let b = shower(.ds3, [(0, 0, 0, 1), (0, 0, 1, 1)])
    let ex = FeatureExtractor(kind: .ds3)
    let both = ex.features(energies: [10, 20], showers: a + b)
    let ta = ex.features(energies: [10], showers: a), tb = ex.features(energies: [20], showers: b)
    XCTAssertEqual(both.values, ta.values + tb.values)
    let L = both.layout
    XCTAssertEqual(both[0, L.ecEta + 44], 40.6875 * cos(3.6 * Double.pi / 180), accuracy: 1e-9)
    XCTAssertEqual(both[1, L.ecR + 0], (1.1625 + 3.4875) / 2, accuracy: 1e-12)
    XCTAssertEqual(both[1, L.widthR + 0], (3.4875 - 1.1625) / 2, accuracy: 1e-9)
  }

  func testFeatureVectorTransform() {
    let s = shower(.ds1Photon, [(1, 0, 0, 100)])
    let t = FeatureExtractor(kind: .ds1Photon).features(energies: [1000], showers: s)
    let m = FeatureMatrix(table: t)
    let L = t.layout
    XCTAssertEqual(m.cols, 30)
    XCTAssertEqual(Double(m.values[0]), 3, accuracy: 1e-6)  // log10 E_inc
    XCTAssertEqual(Double(m.values[L.layerEnergy]), -8, accuracy: 1e-6)  // empty layer 0
    XCTAssertEqual(Double(m.values[L.layerEnergy + 1]), 2, accuracy: 1e-6)
    XCTAssertEqual(Double(m.values[L.totalEnergy]), 2, accuracy: 1e-6)
    XCTAssertEqual(Double(m.values[L.ecR + 1]), t[0, L.ecR + 1] / 100, accuracy: 1e-6)
    XCTAssertEqual(Double(m.values[L.sparsity + 1]), 1 - 1.0 / 160, accuracy: 1e-6)
  }

  func testApplyThresholdIsStrict() {
    var s: [Float] = [0.5, 1, 1.5, 0]
    applyThreshold(&s, threshold: 1)
    XCTAssertEqual(s, [0, 1, 1.5, 0])
    let t = DatasetKind.ds2.voxelThresholdMeV
    var u: [Float] = [Float(t) * 0.999, Float(t) * 1.001]
    applyThreshold(&u, threshold: t)
    XCTAssertEqual(u[0], 0)
    XCTAssertGreaterThan(u[1], 0)
  }
}
