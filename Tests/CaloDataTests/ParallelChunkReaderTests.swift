// The parallel chunk reader must return exactly what libhdf5 returns through ShowerFileReader (bit for
// bit, same errors) on every layout it accepts, and refuse every layout it does not understand.
import CaloData
import Foundation
import CaloTestSupport
import XCTest

final class ParallelChunkReaderTests: XCTestCase {
  /// Reads of (start, count) windows that cross chunk boundaries, start mid-chunk and run past the end.
  func windows(_ n: Int) -> [(Int, Int)] {
    [(0, n), (0, 1), (1, 6), (5, 17), (n / 3, n / 2), (n - 1, 5), (n - 9, 9), (n, 3)]
  }

  func assertSameReads(_ path: String, expectChunkRows: Int? = nil, file: StaticString = #filePath,
                       line: UInt = #line) throws {
    let r = try ShowerFileReader(path: path)
    guard let p = ParallelChunkReader(r) else { return XCTFail("layout not accepted", file: file, line: line) }
    if let c = expectChunkRows { XCTAssertEqual(p.chunkRows, c, file: file, line: line) }
    for (s, c) in windows(r.count) {
      let a = try r.read(from: s, count: c), b = try p.read(from: s, count: c)
      XCTAssertEqual(a.showers.map(\.bitPattern), b.showers.map(\.bitPattern), "window \(s), \(c)",
                     file: file, line: line)
      XCTAssertEqual(a.energies, b.energies, file: file, line: line)
      XCTAssertEqual(a.firstRow, b.firstRow, file: file, line: line)
    }
    // The batch source picks the parallel path and returns the same data.
    let src = r.fastBatchSource()
    XCTAssertEqual(src.chunkRows, p.chunkRows, file: file, line: line)
    XCTAssertEqual(try src.read(3, 11).showers, try r.read(from: 3, count: 11).showers, file: file, line: line)
  }

  func testFileWrittenByCaloVQ() throws {
    let dir = TempDir()
    let path = dir.file("a.h5")
    // ds1 photons: ShowerFileWriter uses 1000-row chunks, gzip + shuffle; 2300 rows end mid-chunk.
    let (e, s) = makeShowers(n: 2300, voxels: 368, seed: 3)
    try writeShowerFile(path: path, energies: e, showers: s, voxels: 368)
    XCTAssertEqual(RawHDF5.layout(path: path, dataset: "showers").filters, [2, 1])
    try assertSameReads(path, expectChunkRows: 1000)
    let p = ParallelChunkReader(try ShowerFileReader(path: path))!
    XCTAssertEqual(try p.read(from: 0, count: 2300).showers, s)
  }

  /// A damaged gzip chunk must fail the read with a message naming the chunk, never return garbage
  /// (libdeflate checks the stream and its Adler-32).
  func testCorruptChunkIsAnError() throws {
    let dir = TempDir()
    let path = dir.file("bad.h5")
    let (e, s) = makeShowers(n: 2300, voxels: 368, seed: 5)
    try writeShowerFile(path: path, energies: e, showers: s, voxels: 368)
    // Chunk data fills almost all of the file; flip bytes in its middle.
    var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    let mid = bytes.count * 6 / 10
    for i in mid..<(mid + 64) { bytes[i] ^= 0x5A }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let p = try XCTUnwrap(ParallelChunkReader(try ShowerFileReader(path: path)))
    XCTAssertThrowsError(try p.read(from: 0, count: 2300)) { err in
      XCTAssertTrue("\(err)".contains("corrupt gzip data in the chunk"), "\(err)")
    }
  }

  /// Writes `showers` (n × 368) with the given layout through RawHDF5.
  func writeRaw(_ path: String, n: Int, values: [Double], type: RawHDF5.ElementType, chunk: [Int]?,
                shuffle: Bool = false, deflate: Int? = nil, fletcher32: Bool = false) {
    var ds = RawHDF5.Dataset("showers", shape: [n, 368], values: values, type: type)
    ds.chunk = chunk
    ds.shuffle = shuffle
    ds.deflate = deflate
    ds.fletcher32 = fletcher32
    RawHDF5.write(path: path, datasets: [
      .init("incident_energies", shape: [n, 1], values: (0..<n).map { Double(1000 + $0) }, type: .float64), ds,
    ])
  }

  func testOddChunkShapesFiltersAndTypes() throws {
    let dir = TempDir()
    let n = 61
    let (_, s) = makeShowers(n: n, voxels: 368, seed: 11)
    // Extra digits beyond float32, tiny (subnormal in Float) and zero values: rounding must match HDF5's.
    let d = s.enumerated().map { i, x -> Double in
      switch i % 7 {
      case 0: return Double(x) * (1 + 1e-9)
      case 1: return 1e-42 * Double(i % 5)
      case 2: return 1e-310
      default: return Double(x)
      }
    }
    let cases: [(String, RawHDF5.ElementType, [Int], Bool, Int?)] = [
      ("f32-gzip-shuffle-7x100", .float32, [7, 100], true, 4),  // chunks split rows and columns
      ("f32-gzip-13x368", .float32, [13, 368], false, 6),
      ("f32-shuffle-only-5x368", .float32, [5, 368], true, nil),
      ("f32-plain-40x37", .float32, [40, 37], false, nil),
      ("f64-gzip-shuffle-9x200", .float64, [9, 200], true, 1),
      ("f64-plain-1x368", .float64, [1, 368], false, nil),
    ]
    for (name, type, chunk, shuffle, level) in cases {
      let path = dir.file(name + ".h5")
      writeRaw(path, n: n, values: d, type: type, chunk: chunk, shuffle: shuffle, deflate: level)
      try assertSameReads(path, expectChunkRows: chunk[0])
    }
  }

  func testBadValuesGiveTheSameError() throws {
    let dir = TempDir()
    let n = 20
    var (_, s) = makeShowers(n: n, voxels: 368, seed: 5)
    var d = s.map(Double.init)
    d[7 * 368 + 100] = -1
    d[15 * 368 + 3] = 1e300  // +inf as float32
    s = []
    let path = dir.file("bad.h5")
    writeRaw(path, n: n, values: d, type: .float64, chunk: [4, 368], shuffle: true, deflate: 4)
    let r = try ShowerFileReader(path: path)
    let p = try XCTUnwrap(ParallelChunkReader(r))
    for (start, count) in [(0, 20), (10, 10)] {
      var e1: String?, e2: String?
      XCTAssertThrowsError(try r.read(from: start, count: count)) { e1 = "\($0)" }
      XCTAssertThrowsError(try p.read(from: start, count: count)) { e2 = "\($0)" }
      XCTAssertEqual(e1, e2)
    }
  }

  func testUnsupportedLayoutsFallBack() throws {
    let dir = TempDir()
    let n = 10
    let (_, s) = makeShowers(n: n, voxels: 368, seed: 9)
    let d = s.map(Double.init)
    let contiguous = dir.file("contiguous.h5")
    writeRaw(contiguous, n: n, values: d, type: .float32, chunk: nil)
    let checksum = dir.file("fletcher.h5")
    writeRaw(checksum, n: n, values: d, type: .float32, chunk: [4, 368], deflate: 4, fletcher32: true)
    let ints = dir.file("int.h5")
    writeRaw(ints, n: n, values: d.map { $0.rounded() }, type: .int64, chunk: [4, 368], deflate: 4)
    for path in [contiguous, checksum, ints] {
      let r = try ShowerFileReader(path: path)
      XCTAssertNil(ParallelChunkReader(r), path)
      // The batch source still works, through HDF5.
      let src = r.fastBatchSource()
      XCTAssertEqual(src.chunkRows, 1)
      XCTAssertEqual(try src.read(2, 5).showers, try r.read(from: 2, count: 5).showers)
    }
  }
}
