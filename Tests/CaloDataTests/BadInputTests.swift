// Every kind of bad shower file must give a CaloDataError whose text names the problem; none may trap.
import CaloData
import CaloTestSupport
import XCTest

final class BadInputTests: TempDirTestCase {
  /// Writes a raw file with the given energies (N,1) and showers (N,V), float32 unless told.
  private func raw(_ name: String, energies: [Double], showers: [Double], voxels: Int,
                   type: RawHDF5.ElementType = .float32) -> String {
    let path = dir.file(name)
    RawHDF5.write(path: path, datasets: [
      .init("incident_energies", shape: [energies.count, 1], values: energies, type: type),
      .init("showers", shape: [showers.count / voxels, voxels], values: showers, type: type),
    ])
    return path
  }

  /// Asserts that opening (and reading all of) `path` fails with an error whose text contains every
  /// fragment.
  private func assertRejected(_ path: String, _ fragments: [String], file: StaticString = #filePath,
                              line: UInt = #line) {
    do {
      let r = try ShowerFileReader(path: path)
      try r.forEachBatch(size: 64) { _ in }
      XCTFail("\(path) was accepted", file: file, line: line)
    } catch {
      XCTAssertTrue(error is CaloDataError, "\(type(of: error))", file: file, line: line)
      for f in fragments {
        XCTAssertTrue("\(error)".contains(f), "'\(error)' lacks '\(f)'", file: file, line: line)
      }
    }
  }

  func testWrongVoxelCount() {
    let p = raw("v.h5", energies: [256, 512], showers: [Double](repeating: 1, count: 2 * 367), voxels: 367)
    assertRejected(p, ["367 voxels", "none of the CaloChallenge datasets", "--binning"])
  }

  func testMissingDatasets() {
    let a = dir.file("no-showers.h5")
    RawHDF5.write(path: a, datasets: [.init("incident_energies", shape: [1, 1], values: [256], type: .float32)])
    assertRejected(a, ["no dataset 'showers'"])
    let b = dir.file("no-energies.h5")
    RawHDF5.write(path: b, datasets: [.init("showers", shape: [1, 368], values: .init(repeating: 0, count: 368),
                                            type: .float32)])
    assertRejected(b, ["no dataset 'incident_energies'"])
  }

  func testMismatchedRows() {
    let p = dir.file("rows.h5")
    RawHDF5.write(path: p, datasets: [
      .init("incident_energies", shape: [3, 1], values: [256, 512, 1024], type: .float32),
      .init("showers", shape: [2, 368], values: .init(repeating: 0, count: 736), type: .float32),
    ])
    assertRejected(p, ["'showers' has 2 rows", "'incident_energies' has 3"])
  }

  func testWrongRankAndType() {
    let p = dir.file("rank.h5")
    RawHDF5.write(path: p, datasets: [
      .init("incident_energies", shape: [2, 2], values: [1, 2, 3, 4], type: .float32),
      .init("showers", shape: [2, 368], values: .init(repeating: 0, count: 736), type: .float32),
    ])
    assertRejected(p, ["'incident_energies' has shape [2, 2]", "(N,1)"])
    let q = dir.file("type.h5")
    RawHDF5.write(path: q, datasets: [
      .init("incident_energies", shape: [2, 1], values: [256, 512], type: .string(8)),
      .init("showers", shape: [2, 368], values: .init(repeating: 0, count: 736), type: .float32),
    ])
    assertRejected(q, ["'incident_energies' holds string values"])
  }

  func testBadIncidentEnergies() {
    let zeros = [Double](repeating: 0, count: 3 * 368)
    for (i, bad) in [Double.nan, -5, .infinity, 0].enumerated() {
      let p = raw("e\(i).h5", energies: [256, bad, 1024], showers: zeros, voxels: 368, type: .float64)
      assertRejected(p, ["incident energy in row 1 is \(bad)", "finite and > 0"])
    }
  }

  func testBadVoxelEnergies() {
    for (i, bad) in [Double.nan, -0.5, .infinity, -.infinity].enumerated() {
      var s = [Double](repeating: 1, count: 3 * 368)
      s[2 * 368 + 17] = bad
      let p = raw("s\(i).h5", energies: [256, 512, 1024], showers: s, voxels: 368)
      assertRejected(p, ["voxel 17 of shower 2 is \(Float(bad))", "finite and ≥ 0"])
    }
  }

  func testTruncatedFile() throws {
    let p = dir.file("cut.h5")
    let (e, s) = makeShowers(n: 200, voxels: 368)
    try writeShowerFile(path: p, energies: e, showers: s, voxels: 368)
    let size = try FileManager.default.attributesOfItem(atPath: p)[.size] as! UInt64
    let h = try XCTUnwrap(FileHandle(forWritingAtPath: p))
    try h.truncate(atOffset: size / 2)
    try h.close()
    assertRejected(p, ["truncated"])
  }

  func testNonHDF5File() throws {
    let p = dir.file("notes.h5")
    try "incident_energies,showers\n1,2\n".write(toFile: p, atomically: true, encoding: .utf8)
    assertRejected(p, ["is not an HDF5 file"])
    let empty = dir.file("empty.h5")
    _ = FileManager.default.createFile(atPath: empty, contents: Data())
    assertRejected(empty, ["is not an HDF5 file"])
  }

  func testUnreadablePaths() {
    assertRejected(dir.file("missing.h5"), ["cannot open", "no such file"])
    assertRejected(dir.path, ["cannot open", "is a directory"])
  }
}
