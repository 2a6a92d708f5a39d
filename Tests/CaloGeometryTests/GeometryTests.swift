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
}
