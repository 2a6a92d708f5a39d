import XCTest
import CaloGeometry

final class GeometryTests: XCTestCase {
  func testVoxelTotalsAndOffsets() {
    XCTAssertEqual(DatasetKind.ds1Photon.geometry.voxelCount, 368)
    XCTAssertEqual(DatasetKind.ds1Pion.geometry.voxelCount, 533)
    XCTAssertEqual(DatasetKind.ds2.geometry.voxelCount, 6480)
    XCTAssertEqual(DatasetKind.ds3.geometry.voxelCount, 40500)
    let p = DatasetKind.ds1Photon.geometry
    // offsets of layer ids 0,1,2,3,12 (calochallenge_facts §a.2)
    XCTAssertEqual([0, 1, 2, 3, 12].map { p.offsets[$0] }, [0, 8, 168, 358, 363])
    let pi = DatasetKind.ds1Pion.geometry
    XCTAssertEqual([0, 1, 2, 3, 12, 13, 14].map { pi.offsets[$0] }, [0, 8, 108, 208, 213, 363, 523])
    XCTAssertEqual(DatasetKind.ds2.geometry.index(layer: 2, alpha: 3, r: 4), 144 * 2 + 9 * 3 + 4)
    XCTAssertEqual(DatasetKind.ds3.geometry.index(layer: 44, alpha: 49, r: 17), 40499)
  }

  func testCoordinatesOfChosenVoxels() {
    let g = DatasetKind.ds2.geometry
    let c = g.voxelCoordinates()
    // layer 0, alpha 0, r 0: r = 2.325, alpha = -pi + pi/16
    let a0 = -Double.pi + Double.pi / 16
    XCTAssertEqual(c.r[0], 2.325, accuracy: 1e-9)
    XCTAssertEqual(c.eta[0], 2.325 * cos(a0), accuracy: 1e-9)
    XCTAssertEqual(c.phi[0], 2.325 * sin(a0), accuracy: 1e-9)
    // ds1 photon layer 0 (unsegmented): alpha = 0, so eta = r, phi = 0
    let p = DatasetKind.ds1Photon.geometry.voxelCoordinates()
    XCTAssertEqual(p.eta[2], 20, accuracy: 1e-12)
    XCTAssertEqual(p.phi[2], 0, accuracy: 1e-12)
  }

  func testCoordinatesInAngularDS1LayerAndDS3() {
    // ds1-pion layer id 12 (index 12): offset 213, 15 radial bins, 10 angular bins.
    // Voxel a = 3, r = 4: r centre (50 + 80)/2 = 65 mm, alpha = -pi + 3.5 * 2pi/10 = -0.3 pi.
    let g = DatasetKind.ds1Pion.geometry
    let i = g.index(layer: 12, alpha: 3, r: 4)
    XCTAssertEqual(i, 213 + 3 * 15 + 4)
    let c = g.voxelCoordinates()
    XCTAssertEqual(c.r[i], 65, accuracy: 1e-12)
    XCTAssertEqual(c.eta[i], 65 * cos(-0.3 * Double.pi), accuracy: 1e-9)
    XCTAssertEqual(c.phi[i], 65 * sin(-0.3 * Double.pi), accuracy: 1e-9)
    // ds3 last voxel: r centre 40.6875, alpha = -pi + 49.5 * 2pi/50 = pi - pi/50.
    let d = DatasetKind.ds3.geometry.voxelCoordinates()
    XCTAssertEqual(d.r[40499], 40.6875, accuracy: 1e-9)
    XCTAssertEqual(d.eta[40499], 40.6875 * cos(Double.pi - Double.pi / 50), accuracy: 1e-9)
    XCTAssertEqual(d.phi[40499], 40.6875 * sin(Double.pi - Double.pi / 50), accuracy: 1e-9)
  }

  func testLocationInvertsIndexEverywhere() {
    for kind in [DatasetKind.ds1Photon, .ds1Pion, .ds2] {
      let g = kind.geometry
      for i in 0..<g.voxelCount {
        let (l, a, r) = g.location(of: i)
        XCTAssertEqual(g.index(layer: l, alpha: a, r: r), i)
      }
    }
  }

  func testRelevantAndAngularLayers() {
    let p = DatasetKind.ds1Photon.geometry
    XCTAssertEqual(p.layers.count, 24)
    XCTAssertEqual(p.relevantLayerIndices.map { p.layers[$0].id }, [0, 1, 2, 3, 12])
    XCTAssertEqual(p.angularLayerIndices.map { p.layers[$0].id }, [1, 2])
    let pi = DatasetKind.ds1Pion.geometry
    XCTAssertEqual(pi.angularLayerIndices.map { pi.layers[$0].id }, [1, 2, 12, 13])
    XCTAssertEqual(DatasetKind.ds2.geometry.angularLayerIndices.count, 45)
  }

  func testDatasetNames() {
    XCTAssertEqual(DatasetKind(name: "1-photons"), .ds1Photon)
    XCTAssertEqual(DatasetKind(name: "PION"), .ds1Pion)
    XCTAssertEqual(DatasetKind(name: "2"), .ds2)
    XCTAssertEqual(DatasetKind(name: "ds3"), .ds3)
    XCTAssertNil(DatasetKind(name: "ds4"))
    XCTAssertEqual(DatasetKind.allCases.map(\.particleName), ["photon", "pion", "electron", "electron"])
    XCTAssertEqual(DatasetKind(voxelCount: 40500), .ds3)
    XCTAssertNil(DatasetKind(voxelCount: 367))
  }
}
