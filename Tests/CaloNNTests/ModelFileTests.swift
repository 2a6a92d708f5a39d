// Model files: F32/F16 round trips through real files, atomic write, and every corrupt-file case.
import CaloNN
import CaloTensor
import Foundation
import XCTest

final class ModelFileTests: XCTestCase {
  var dir: String = ""

  override func setUpWithError() throws {
    dir = NSTemporaryDirectory() + "calovq-modelfile-\(getpid())-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

  func makeParams(seed: UInt64) -> ParameterSet {
    var rng = RNG(seed: seed)
    let ps = ParameterSet()
    _ = Linear(ps, "dec.fc", in: 5, out: 3, rng: &rng)
    _ = CylConv2d(ps, "dec.conv.0", in: 2, out: 4, rng: &rng)
    _ = ps.make("codebook", [7, 3], .normal(std: 1), rng: &rng)
    return ps
  }

  let config = #"{"dataset":"ds2","nEmbd":64,"note":"quote \" and\nnewline"}"#

  func testFloat32RoundTripIsExact() throws {
    let ps = makeParams(seed: 1)
    let path = dir + "/m.safetensors"
    try ModelFile.write(path: path, parameters: ps, config: config)
    let c = try ModelFile.read(path: path)
    XCTAssertEqual(c.config, config)
    XCTAssertEqual(c.metadata["format_version"], ModelFile.formatVersion)
    XCTAssertEqual(c.dtype, .f32)
    let fresh = makeParams(seed: 2)
    XCTAssertNotEqual(fresh.tensors[0].data, ps.tensors[0].data)
    try ModelFile.load(c, into: fresh, path: path)
    for (a, b) in zip(ps.tensors, fresh.tensors) { XCTAssertEqual(a.data, b.data); XCTAssertEqual(a.shape, b.shape) }
    // The header length is 8-aligned and the file holds exactly header + data.
    let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    let hlen = bytes.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
    XCTAssertEqual((8 + hlen) % 8, 0)
    XCTAssertEqual(size, 8 + hlen + 4 * ps.scalarCount)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial-\(getpid())"))
  }

  func testFloat16RoundTripWithinHalfPrecision() throws {
    let ps = makeParams(seed: 1)
    let path = dir + "/h.safetensors"
    try ModelFile.write(path: path, parameters: ps, config: config, dtype: .f16)
    let c = try ModelFile.read(path: path)
    XCTAssertEqual(c.dtype, .f16)
    let fresh = makeParams(seed: 2)
    try ModelFile.load(c, into: fresh, path: path)
    for (a, b) in zip(ps.tensors, fresh.tensors) {
      for (x, y) in zip(a.data, b.data) { XCTAssertEqual(x, y, accuracy: Swift.max(Swift.abs(x) * 1e-3, 1e-7)) }
    }
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    let hlen = bytes.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
    XCTAssertEqual(bytes.count, 8 + hlen + 2 * ps.scalarCount)   // two bytes per value
  }

  func write(_ bytes: [UInt8], _ name: String) -> String {
    let p = dir + "/" + name
    FileManager.default.createFile(atPath: p, contents: Data(bytes))
    return p
  }

  func header(_ json: String) -> [UInt8] {
    var h = Array(json.utf8)
    while h.count % 8 != 0 { h.append(0x20) }
    var out: [UInt8] = []
    withUnsafeBytes(of: UInt64(h.count).littleEndian) { out += $0 }
    return out + h
  }

  let meta = #""__metadata__":{"format":"calovq-model","format_version":"1","config":"{}"}"#

  func assertReadError(_ path: String, _ check: (ModelFileError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
    do {
      _ = try ModelFile.read(path: path)
      XCTFail("read should have failed", file: file, line: line)
    } catch let e as ModelFileError {
      XCTAssertTrue(check(e), "unexpected error: \(e)", file: file, line: line)
      XCTAssertFalse(e.description.isEmpty)
    } catch { XCTFail("wrong error type \(error)", file: file, line: line) }
  }

  func testCorruptFiles() throws {
    let ps = makeParams(seed: 1)
    let good = dir + "/good.safetensors"
    try ModelFile.write(path: good, parameters: ps, config: "{}")
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
    // Truncated in the length field, in the header, and in the data.
    assertReadError(write(Array(bytes.prefix(5)), "t1")) { if case .truncated = $0 { return true }; return false }
    assertReadError(write(Array(bytes.prefix(40)), "t2")) { if case .truncated = $0 { return true }; return false }
    assertReadError(write(Array(bytes.dropLast(3)), "t3")) { if case .truncated = $0 { return true }; return false }
    // Trailing garbage.
    assertReadError(write(bytes + [1, 2, 3, 4], "t4")) { if case .badHeader = $0 { return true }; return false }
    // Not JSON; not safetensors at all (implausible length).
    assertReadError(write(header("not json"), "j")) { if case .badHeader = $0 { return true }; return false }
    assertReadError(write(Array("HDF5 file pretending".utf8), "h")) { if case .badHeader = $0 { return true }; return false }
    // Mislabelled dtype; shape inconsistent with offsets; non-contiguous data.
    assertReadError(write(header("{\(meta),\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}") + [UInt8](repeating: 0, count: 8), "d")) {
      if case .unsupportedDType(_, "w", "I64") = $0 { return true }; return false
    }
    assertReadError(write(header("{\(meta),\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}") + [UInt8](repeating: 0, count: 8), "s")) {
      if case .badHeader = $0 { return true }; return false
    }
    assertReadError(write(header("{\(meta),\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}") + [UInt8](repeating: 0, count: 8), "g")) {
      if case .badHeader = $0 { return true }; return false
    }
    // A valid safetensors file that is not ours; a future version.
    assertReadError(write(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}") + [0, 0, 0, 0], "n")) {
      if case .notCaloVQ = $0 { return true }; return false
    }
    assertReadError(write(header(#"{"__metadata__":{"format":"calovq-model","format_version":"99"}}"#), "v")) {
      if case .unsupportedVersion(_, "99") = $0 { return true }; return false
    }
    assertReadError(dir + "/does-not-exist") { if case .cannotRead = $0 { return true }; return false }
    assertReadError(dir) { if case .cannotRead = $0 { return true }; return false }
    // One sentence, saying why: no Foundation full stop before ours.
    XCTAssertThrowsError(try ModelFile.read(path: dir + "/does-not-exist")) {
      XCTAssertEqual("\($0)", "cannot read model file '\(dir)/does-not-exist': no such file. Check the path.")
    }
    XCTAssertThrowsError(try ModelFile.read(path: dir)) { XCTAssertTrue("\($0)".contains("': it is a directory. Check"), "\($0)") }
  }

  func testMismatchedModelIsRejectedAndLeavesParametersUntouched() throws {
    let ps = makeParams(seed: 1)
    let path = dir + "/m.safetensors"
    try ModelFile.write(path: path, parameters: ps, config: "{}")
    let c = try ModelFile.read(path: path)
    // Different shape.
    var rng = RNG(seed: 9)
    let other = ParameterSet()
    _ = Linear(other, "dec.fc", in: 6, out: 3, rng: &rng)
    let before = other.tensors[0].data
    XCTAssertThrowsError(try ModelFile.load(c, into: other, path: path)) { e in
      XCTAssertEqual(e as? ModelFileError, .shapeMismatch(path: path, name: "dec.fc.weight", file: [3, 5], model: [3, 6]))
    }
    XCTAssertEqual(other.tensors[0].data, before)
    // Missing tensor.
    let bigger = makeParams(seed: 3)
    bigger.make("extra", [2], .zeros, rng: &rng)
    XCTAssertThrowsError(try ModelFile.load(c, into: bigger, path: path)) { e in
      XCTAssertEqual(e as? ModelFileError, .missingTensor(path: path, name: "extra"))
    }
    // File has a tensor the model lacks.
    let smaller = ParameterSet()
    _ = Linear(smaller, "dec.fc", in: 5, out: 3, rng: &rng)
    XCTAssertThrowsError(try ModelFile.load(c, into: smaller, path: path)) { e in
      guard case .unexpectedTensor = e as? ModelFileError else { return XCTFail("\(e)") }
    }
    XCTAssertNoThrow(try ModelFile.load(c, into: smaller, path: path, allowExtra: true))
  }

  func testWriteIntoMissingFolderFailsClearly() {
    let ps = makeParams(seed: 1)
    XCTAssertThrowsError(try ModelFile.write(path: dir + "/no/such/dir/m.safetensors", parameters: ps, config: "{}")) { e in
      guard case .writeFailed = e as? ModelFileError else { return XCTFail("\(e)") }
    }
  }
}
