// `calovq encode` and `calovq reconstruct`: stream a shower file through a stage-1 model, writing
// code grids (.npy or our .bin) or reconstructed showers (.h5). Outputs are written to a temporary
// name and renamed when complete.
import CaloData
import CaloGeometry
import CaloModel
import Foundation

/// Errors of the encode/reconstruct jobs.
public enum Stage1CodesError: Error, CustomStringConvertible {
  case badExtension(String)
  case writeFailed(String, String)
  case wrongDataset(model: String, file: String)

  public var description: String {
    switch self {
    case let .badExtension(p): return "cannot tell the format of '\(p)'; end it in .npy or .bin."
    case let .writeFailed(p, r): return "cannot write '\(p)': \(r). Check the folder exists and is writable."
    case let .wrongDataset(m, f): return "the model is for \(m) but the data file is \(f); give a matching model or file."
    }
  }
}

/// Code-grid files: `.npy` (int32, shape (N, grid…), C order) or `.bin` — magic "CVQCODES",
/// UInt32 version 1, UInt32 rank r, r UInt32 dimensions (N first), then N·L little-endian Int32 codes.
public enum Stage1CodeFile {
  /// Writes `codes` with `shape` (first dimension N) to `path` atomically; the format follows the extension.
  public static func write(_ codes: [Int32], shape: [Int], to path: String) throws {
    var out = Data()
    if path.hasSuffix(".npy") {
      let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
      var header = "{'descr': '<i4', 'fortran_order': False, 'shape': (\(dims)), }"
      while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
      header += "\n"
      out.append(contentsOf: [0x93] + Array("NUMPY".utf8) + [1, 0])
      var hl = UInt16(header.utf8.count).littleEndian
      withUnsafeBytes(of: &hl) { out.append(contentsOf: $0) }
      out.append(contentsOf: Array(header.utf8))
    } else if path.hasSuffix(".bin") {
      out.append(contentsOf: Array("CVQCODES".utf8))
      for v in [UInt32(1), UInt32(shape.count)] + shape.map({ UInt32($0) }) {
        var le = v.littleEndian
        withUnsafeBytes(of: &le) { out.append(contentsOf: $0) }
      }
    } else {
      throw Stage1CodesError.badExtension(path)
    }
    codes.map { $0.littleEndian }.withUnsafeBytes { out.append(contentsOf: $0) }
    let tmp = path + ".partial-\(getpid())"
    do { try out.write(to: URL(fileURLWithPath: tmp)) } catch {
      throw Stage1CodesError.writeFailed(path, error.localizedDescription)
    }
    guard rename(tmp, path) == 0 else {
      try? FileManager.default.removeItem(atPath: tmp)
      throw Stage1CodesError.writeFailed(path, "rename failed")
    }
  }

  /// Reads a `.bin` or `.npy` file written by `write` → (codes, shape).
  public static func read(_ path: String) throws -> (codes: [Int32], shape: [Int]) {
    let d = try Data(contentsOf: URL(fileURLWithPath: path))
    func u32(_ o: Int) -> Int { Int(UInt32(littleEndian: d.subdata(in: o..<(o + 4)).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })) }
    var shape: [Int] = [], off = 0
    if d.starts(with: Array("CVQCODES".utf8)) {
      let rank = u32(12)
      shape = (0..<rank).map { u32(16 + 4 * $0) }
      off = 16 + 4 * rank
    } else if d.starts(with: [0x93] + Array("NUMPY".utf8)) {
      let hl = Int(UInt16(d[8]) | UInt16(d[9]) << 8)
      let header = String(decoding: d.subdata(in: 10..<(10 + hl)), as: UTF8.self)
      if let a = header.range(of: "'shape': ("), let b = header[a.upperBound...].firstIndex(of: ")") {
        shape = header[a.upperBound..<b].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
      }
      off = 10 + hl
    } else {
      throw Stage1CodesError.badExtension(path)
    }
    let n = shape.reduce(1, *)
    var codes = [Int32](repeating: 0, count: n)
    d.subdata(in: off..<(off + 4 * n)).withUnsafeBytes { raw in for i in 0..<n { codes[i] = Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) } }
    return (codes, shape)
  }
}

/// What `stage1Encode` did: showers encoded and how they used the codebook.
public struct Stage1EncodeSummary: Sendable {
  public var showers: Int
  /// Usage over every code of every encoded shower.
  public var usage: CodebookUsage
  /// Codebook size K of the model (every code is either used or dead).
  public var codebookSize: Int { usage.used + usage.dead }
}

/// Encodes every shower of `dataPath` with the model at `modelPath`; writes codes (and optionally
/// the R values, float32 .npy (N, nR)). Returns the number of showers and the codebook usage.
@discardableResult
public func stage1Encode(modelPath: String, dataPath: String, out: String, rOut: String? = nil, limit: Int? = nil,
                         batchSize: Int = 256) throws -> Stage1EncodeSummary {
  let model = try Stage1Model.load(from: modelPath)
  let reader = try ShowerFileReader(path: dataPath)
  guard reader.kind == model.config.dataset else {
    throw Stage1CodesError.wrongDataset(model: model.config.dataset.rawValue, file: reader.kind?.rawValue ?? "custom")
  }
  guard out.hasSuffix(".npy") || out.hasSuffix(".bin") else { throw Stage1CodesError.badExtension(out) }
  var codes: [Int32] = [], rs: [Float] = []
  var n = 0
  try reader.forEachBatch(size: batchSize, limit: limit) { b in
    codes += model.encode(energies: b.energies, showers: b.showers)
    if rOut != nil { rs += model.rValues(energies: b.energies, showers: b.showers) }
    n += b.count
  }
  try Stage1CodeFile.write(codes, shape: [n] + model.latentShape, to: out)
  if let rOut { try writeFloatNpy(rs, shape: [n, model.rCount], to: rOut) }
  var counts = [Int](repeating: 0, count: model.config.codebookSize)
  for c in codes { counts[Int(c)] += 1 }
  return Stage1EncodeSummary(showers: n, usage: CodebookUsage(counts: counts))
}

/// encode → decode → assemble with the true R for every shower of `dataPath`; writes a
/// CaloChallenge file. Returns the number of showers.
@discardableResult
public func stage1Reconstruct(modelPath: String, dataPath: String, out: String, limit: Int? = nil,
                              batchSize: Int = 256) throws -> Int {
  let model = try Stage1Model.load(from: modelPath)
  let reader = try ShowerFileReader(path: dataPath)
  guard reader.kind == model.config.dataset else {
    throw Stage1CodesError.wrongDataset(model: model.config.dataset.rawValue, file: reader.kind?.rawValue ?? "custom")
  }
  let writer = try ShowerFileWriter(path: out, voxelCount: model.config.voxels)
  try reader.forEachBatch(size: batchSize, limit: limit) { b in
    try writer.append(energies: b.energies, showers: model.reconstruct(energies: b.energies, showers: b.showers))
  }
  try writer.finish()
  return writer.count
}

/// A float32 .npy file (C order), written atomically.
func writeFloatNpy(_ v: [Float], shape: [Int], to path: String) throws {
  var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", "))), }"
  while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
  header += "\n"
  var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
  var hl = UInt16(header.utf8.count).littleEndian
  withUnsafeBytes(of: &hl) { out.append(contentsOf: $0) }
  out.append(contentsOf: Array(header.utf8))
  v.withUnsafeBytes { out.append(contentsOf: $0) }
  let tmp = path + ".partial-\(getpid())"
  do { try out.write(to: URL(fileURLWithPath: tmp)) } catch { throw Stage1CodesError.writeFailed(path, error.localizedDescription) }
  guard rename(tmp, path) == 0 else { throw Stage1CodesError.writeFailed(path, "rename failed") }
}
