// Round trips, streaming, storage layout and attributes of CaloChallenge shower files, on real libhdf5
// files in temporary folders.
import CaloData
import CaloGeometry
import CaloTestSupport
import XCTest

final class ShowerFileTests: XCTestCase {
  // MARK: - Round trips

  func testFloat32RoundTripOfA_FewHundredShowers() throws {
    let dir = TempDir()
    let path = dir.file("a.h5")
    let (e, s) = makeShowers(n: 300, voxels: 368)
    try writeShowerFile(path: path, energies: e, showers: s, voxels: 368)
    let r = try ShowerFileReader(path: path)
    XCTAssertEqual(r.kind, .ds1Photon)
    XCTAssertEqual(r.count, 300)
    XCTAssertEqual(r.storedType, "float32")
    XCTAssertEqual(r.energies, e)
    var got: [Float] = []
    try r.forEachBatch(size: 128) { got += $0.showers }
    XCTAssertEqual(got, s)
    XCTAssertEqual(dir.contents(), ["a.h5"], "no partial file may remain")
  }

  func testFloat64FileIsReadAndConverted() throws {
    let dir = TempDir()
    let path = dir.file("f64.h5")
    let n = 250, v = 533
    let (e, s32) = makeShowers(n: n, voxels: v, seed: 7)
    // Values with more precision than float32 holds: the reader must round them like Float(x).
    let s = s32.enumerated().map { Double($0.element) + ($0.offset % 3 == 0 ? 1e-9 : 0) }
    let eDouble = e.map { $0 * (1 + 1e-12) }
    RawHDF5.write(path: path, datasets: [
      .init("incident_energies", shape: [n, 1], values: eDouble, type: .float64),
      .init("showers", shape: [n, v], values: s, type: .float64),
    ])
    let r = try ShowerFileReader(path: path)
    XCTAssertEqual(r.kind, .ds1Pion)
    XCTAssertEqual(r.storedType, "float64")
    XCTAssertEqual(r.energies, eDouble, "incident energies are read as Double without loss")
    let all = try r.read(from: 0, count: n)
    XCTAssertEqual(all.showers, s.map { Float($0) })
  }

  func testFloat32FileFromAnotherWriterWithOneDimensionalEnergies() throws {
    let dir = TempDir()
    let path = dir.file("raw32.h5")
    let (e, s) = makeShowers(n: 40, voxels: 368, seed: 3)
    RawHDF5.write(path: path, datasets: [
      .init("incident_energies", shape: [40], values: e, type: .float32),
      .init("showers", shape: [40, 368], values: s.map(Double.init), type: .float32),
    ])
    let r = try ShowerFileReader(path: path)
    XCTAssertEqual(r.energies, e)
    XCTAssertEqual(try r.read(from: 10, count: 5).showers, Array(s[(10 * 368)..<(15 * 368)]))
  }

  func testIntegerDatasetsAreConverted() throws {
    let dir = TempDir()
    let path = dir.file("int.h5")
    let s = (0..<(3 * 368)).map { Double($0 % 5) }
    RawHDF5.write(path: path, datasets: [
      .init("incident_energies", shape: [3, 1], values: [256, 512, 1024], type: .int64),
      .init("showers", shape: [3, 368], values: s, type: .int64),
    ])
    let r = try ShowerFileReader(path: path)
    XCTAssertEqual(r.storedType, "int64")
    XCTAssertEqual(r.energies, [256, 512, 1024])
    XCTAssertEqual(try r.read(from: 0, count: 3).showers, s.map { Float($0) })
  }

  // MARK: - Streaming

  func testStreamingReadOfAFileLargerThanTheBatch() throws {
    let dir = TempDir()
    let path = dir.file("big.h5")
    let n = 2500, v = 368
    let (e, s) = makeShowers(n: n, voxels: v, seed: 11)
    // Written in uneven appends so rows cross chunk (1000-row) boundaries.
    let w = try ShowerFileWriter(path: path, voxelCount: v)
    var start = 0
    for size in [700, 1300, 500] {
      try w.append(energies: Array(e[start..<(start + size)]), showers: Array(s[(start * v)..<((start + size) * v)]))
      start += size
    }
    try w.finish()
    let r = try ShowerFileReader(path: path)
    XCTAssertEqual(r.count, n)
    var sizes: [Int] = [], firstRows: [Int] = []
    var got: [Float] = []
    got.reserveCapacity(n * v)
    try r.forEachBatch(size: 1000) { b in
      sizes.append(b.count)
      firstRows.append(b.firstRow)
      XCTAssertEqual(b.energies, Array(e[b.firstRow..<(b.firstRow + b.count)]))
      got += b.showers
    }
    XCTAssertEqual(sizes, [1000, 1000, 500])
    XCTAssertEqual(firstRows, [0, 1000, 2000])
    XCTAssertEqual(got, s)
    var limited = 0
    try r.forEachBatch(size: 300, limit: 1000) { limited += $0.count }
    XCTAssertEqual(limited, 1000)
    XCTAssertEqual(try r.read(from: 2400, count: 500).count, 100, "reads are clamped at the end of the file")
  }

  // MARK: - Storage layout and attributes

  func testWriterChunksAndCompresses() throws {
    let dir = TempDir()
    let path = dir.file("c.h5")
    let (e, s) = makeShowers(n: 50, voxels: 6480, seed: 5)
    try writeShowerFile(path: path, energies: e, showers: s, voxels: 6480)
    let sl = RawHDF5.layout(path: path, dataset: "showers")
    XCTAssertTrue(sl.chunked)
    XCTAssertEqual(sl.chunk.last, 6480, "a chunk holds whole showers")
    XCTAssertTrue(sl.filters.contains(1), "gzip (deflate) filter set, got \(sl.filters)")
    XCTAssertTrue(sl.filters.contains(2), "shuffle filter set, got \(sl.filters)")
    let el = RawHDF5.layout(path: path, dataset: "incident_energies")
    XCTAssertTrue(el.chunked)
    XCTAssertTrue(el.filters.contains(1))
    // Half the voxels are zero, so compression must make the file clearly smaller than the raw data.
    let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    XCTAssertLessThan(size, 50 * 6480 * 4)
  }

  func testStringAttributesRoundTrip() throws {
    let dir = TempDir()
    let path = dir.file("sim.h5")
    let (e, s) = makeShowers(n: 4, voxels: 368)
    try writeShowerFile(path: path, energies: e, showers: s, voxels: 368,
                        attributes: [ShowerSource.attribute: ShowerSource.simulator, "note": "énergie ok"])
    let r = try ShowerFileReader(path: path)
    XCTAssertEqual(r.source, ShowerSource.simulator)
    XCTAssertEqual(r.attributes["note"], "énergie ok")
    XCTAssertTrue(ShowerSource.isSimulator(r.source!))
    XCTAssertFalse(ShowerSource.isSimulator(ShowerSource.model("ds1-photon checkpoint")))

    // Fixed-length string attributes (another writer's choice) are read too; files without any give nil.
    let raw = dir.file("fixed.h5")
    RawHDF5.write(path: raw, datasets: [
      .init("incident_energies", shape: [1, 1], values: [256], type: .float32),
      .init("showers", shape: [1, 368], values: [Double](repeating: 0, count: 368), type: .float32),
    ], fixedStringAttributes: [ShowerSource.attribute: "Calo-VQ model test"])
    XCTAssertEqual(try ShowerFileReader(path: raw).source, "Calo-VQ model test")
    let plain = dir.file("plain.h5")
    try writeShowerFile(path: plain, energies: e, showers: s, voxels: 368)
    XCTAssertNil(try ShowerFileReader(path: plain).source)
  }

  // MARK: - Dataset kind detection and override

  func testDatasetKindDetectionAndOverride() throws {
    let dir = TempDir()
    for kind in DatasetKind.allCases where kind != .ds3 {
      let path = dir.file("\(kind.rawValue).h5")
      let (e, s) = makeShowers(n: 2, voxels: kind.voxelCount)
      try writeShowerFile(path: path, energies: e, showers: s, voxels: kind.voxelCount)
      XCTAssertEqual(try ShowerFileReader(path: path).kind, kind)
      XCTAssertEqual(try ShowerFileReader(path: path, expected: kind).kind, kind)
    }
    let p = dir.file("ds1-photon.h5")
    XCTAssertThrowsError(try ShowerFileReader(path: p, expected: .ds2)) { err in
      XCTAssertEqual(err as? CaloDataError,
                     .wrongVoxelCount(path: p, voxels: 368, expected: 6480, dataset: "ds2"))
      XCTAssertTrue("\(err)".contains("368 voxels but ds2 needs 6480"), "\(err)")
    }
    // A custom binning with the file's voxel count is accepted; another count is not.
    XCTAssertEqual(try ShowerFileReader(path: p, customVoxels: 368).voxelCount, 368)
    XCTAssertThrowsError(try ShowerFileReader(path: p, customVoxels: 100)) {
      XCTAssertTrue("\($0)".contains("needs 100"), "\($0)")
    }
  }

  // MARK: - Failed writes leave nothing behind

  func testAbandonedWriterLeavesNoFile() throws {
    let dir = TempDir()
    let path = dir.file("out.h5")
    do {
      let w = try ShowerFileWriter(path: path, voxelCount: 368)
      let (e, s) = makeShowers(n: 10, voxels: 368)
      try w.append(energies: e, showers: s)
      XCTAssertEqual(dir.contents().count, 1, "the partial file exists while writing")
      XCTAssertFalse(FileManager.default.fileExists(atPath: path), "the target appears only on finish")
    }
    XCTAssertEqual(dir.contents(), [], "dropping an unfinished writer removes its partial file")
  }

  func testWriteIntoMissingFolderFailsCleanly() throws {
    let dir = TempDir()
    let path = dir.file("no/such/folder/out.h5")
    XCTAssertThrowsError(try writeShowerFile(path: path, energies: [256], showers: [Float](repeating: 0, count: 368),
                                             voxels: 368)) {
      XCTAssertTrue("\($0)".contains("does not exist"), "\($0)")
    }
    XCTAssertEqual(dir.contents(), [])
  }

  func testFailedRenameRemovesThePartialFile() throws {
    let dir = TempDir()
    // The target is a non-empty directory, so the final rename must fail.
    let target = dir.file("taken")
    try FileManager.default.createDirectory(atPath: target + "/inside", withIntermediateDirectories: true)
    XCTAssertThrowsError(try writeShowerFile(path: target, energies: [256],
                                             showers: [Float](repeating: 0, count: 368), voxels: 368)) {
      XCTAssertTrue("\($0)".contains("writing '\(target)' failed"), "\($0)")
    }
    XCTAssertEqual(dir.contents(), ["taken"], "only the pre-existing directory remains")
  }
}
