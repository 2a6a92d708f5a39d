import XCTest
import CaloData
import CaloGeometry

final class ShowerFileTests: XCTestCase {
  func testRoundTripAndStreaming() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("calovq-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/a.h5"
    let n = 300, v = 368
    let e = (0..<n).map { Double(256 << ($0 % 15)) }
    let s = (0..<(n * v)).map { Float($0 % 97) * 0.5 }
    try writeShowerFile(path: path, energies: e, showers: s, voxels: v)
    let r = try ShowerFileReader(path: path)
    XCTAssertEqual(r.kind, .ds1Photon)
    XCTAssertEqual(r.count, n)
    XCTAssertEqual(r.energies, e)
    var got: [Float] = []
    try r.forEachBatch(size: 128) { got += $0.showers }
    XCTAssertEqual(got, s)
    XCTAssertThrowsError(try ShowerFileReader(path: path, expected: .ds2)) {
      XCTAssertTrue("\($0)".contains("6480"))
    }
  }
}
