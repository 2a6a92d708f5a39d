// The radial transport of session 19: each layer's energy moved between rings, every angular column
// alike, by the monotone map of the model's mean radial profile onto the training showers'. Hand-
// computed matrices and moves, the fit reviving a ring the dense showers leave empty, strict tables.
import CaloGeometry
import CaloTensor
import Foundation
import XCTest
@testable import CaloModel

final class SpotRoundingRadialTransportTests: XCTestCase {
  let g = DatasetKind.ds2.geometry   // 16 angles × 9 rings per layer

  /// Rings [0, 0.5] and [0.5, 1] onto [0, 0.8] and [0.8, 1]: ring 0 lies inside the new ring 0; ring 1
  /// overlaps it by 0.3 and the new ring 1 by 0.2 of its 0.5. A ring of zero width keeps its energy.
  func testTransportMatrixOnHandCases() {
    let m = SpotRoundingTable.transportMatrix(dense: [0, 0.5, 1], target: [0, 0.8, 1])
    for (a, b) in zip(m, [1, 0, 0.6, 0.4]) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    let z = SpotRoundingTable.transportMatrix(dense: [0, 0, 1], target: [0, 0.9, 1])
    for (a, b) in zip(z, [1, 0, 0.9, 0.1]) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    let same = SpotRoundingTable.transportMatrix(dense: [0, 0.25, 0.6, 1], target: [0, 0.25, 0.6, 1])
    XCTAssertEqual(same, [1, 0, 0, 0, 1, 0, 0, 0, 1], "equal profiles: the identity")
  }

  /// Two angular columns of two rings, (1, 3) and (0, 2), through the first matrix above: (2.8, 1.2)
  /// and (1.2, 0.8). Each column keeps its energy.
  func testTransportMovesEachColumnAlike() {
    var x: [Float] = [9, 1, 3, 0, 2, 9]
    let m = SpotRoundingTable.transportMatrix(dense: [0, 0.5, 1], target: [0, 0.8, 1])
    x.withUnsafeMutableBufferPointer { SpotRoundingTable.transport($0, 1..<5, nR: 2, matrix: m) }
    for (a, b) in zip(x, [9, 2.8, 1.2, 1.2, 0.8, 9] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
  }

  func testCumulativeProfile() {
    XCTAssertEqual(SpotRoundingTable.cumulativeProfile([1, 3]), [0, 0.25, 1])
    XCTAssertEqual(SpotRoundingTable.cumulativeProfile([0, 0]), [0, 0.5, 1], "no energy: even steps")
    XCTAssertEqual(SpotRoundingTable.cumulativeProfile([]), [0], "a layer without voxels")
  }

  /// Layer 5 of the target holds 80 % in ring 0 and 20 % in ring 1; the dense showers hold the same one
  /// ring out (ring 0 empty). Radial weights alone cannot fill ring 0; the transport gives the layer
  /// the target's profile, and the centres of energy come back to the axis.
  func testFitFillsARingTheModelLeavesEmpty() throws {
    let n = 200, v = g.voxelCount, o = g.offsets[5], nR = g.layers[5].nR
    var target = [Float](repeating: 0, count: n * v), dense = target
    var rng = RNG(seed: 2)
    for i in 0..<n {
      for a in 0..<16 {
        let e = Float(1 + rng.uniform())
        target[i * v + o + a * nR] = 0.8 * e; target[i * v + o + a * nR + 1] = 0.2 * e
        dense[i * v + o + a * nR + 1] = 0.8 * e; dense[i * v + o + a * nR + 2] = 0.2 * e
      }
    }
    let fit = ds2Fit(dense: dense, target: target, energy: 5000)
    let t = fit.table(radialTransport: true)
    XCTAssertNoThrow(try t.validate())
    let out = applying(t, to: dense)
    func ringShare(_ x: [Float], _ r: Int) -> Double {
      var s = 0.0, tot = 0.0
      for i in 0..<n { for a in 0..<16 { for k in 0..<nR {
        let e = Double(x[i * v + o + a * nR + k]); tot += e; if k == r { s += e }
      } } }
      return s / tot
    }
    XCTAssertEqual(ringShare(out, 0), 0.8, accuracy: 0.01)
    XCTAssertEqual(ringShare(out, 1), 0.2, accuracy: 0.01)
    XCTAssertEqual(ringShare(out, 2), 0, accuracy: 0.01)
    XCTAssertEqual(Double(out.reduce(0, +)), Double(dense.reduce(0, +)), accuracy: 1e-3 * Double(dense.reduce(0, +)), "energy kept")
    let weightsOnly = applying(fit.table(radialWeights: true), to: dense)
    XCTAssertEqual(ringShare(weightsOnly, 0), 0, "the radial weights cannot fill an empty ring")
    XCTAssertNil(fit.table().radialTransportDense, "off: not written")
    let b = t.bin(of: 5000)
    XCTAssertEqual(t.radialTransportDense![b][0], t.radialTransportTarget![b][0], "a layer without target energy: identity")
  }

  func testValidationIsStrictAndOldTablesStayTheSame() throws {
    var t = ds2Table()
    let identity = (0..<t.binCount).map { _ in g.layers.map { SpotRoundingTable.cumulativeProfile(Array(repeating: 1.0, count: $0.nR)) } }
    t.radialTransportDense = identity
    t.radialTransportTarget = identity
    XCTAssertNoThrow(try t.validate())
    let shower = (0..<g.voxelCount).map { Float($0 % 5) }
    XCTAssertEqual(applying(t, to: shower), applying(ds2Table(), to: shower), "identity rows move nothing")
    func rejects(_ change: (inout SpotRoundingTable) -> Void, _ message: String) {
      var u = t
      change(&u)
      XCTAssertThrowsError(try u.validate()) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
    }
    rejects({ $0.radialTransportTarget = nil }, "go together")
    rejects({ $0.radialTransportDense![0][3].removeLast() }, "one value per ring edge")
    rejects({ $0.radialTransportDense![0][3][4] = 0.01 }, "rise from 0 to 1")
    rejects({ $0.radialTransportTarget![2][0][9] = 0.9 }, "rise from 0 to 1")
    XCTAssertFalse(String(decoding: try JSONEncoder().encode(ds2Table()), as: UTF8.self).contains("radialTransport"))
  }
}
