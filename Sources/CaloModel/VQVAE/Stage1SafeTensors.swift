// Minimal safetensors reader/writer for stage-1 model and checkpoint files: an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {string: string}},
// then the raw little-endian tensor bytes. F32 and F16 are supported. Written to a temporary name and
// renamed into place. (CaloNN had no model-file format when this was written; see README.)
import Foundation

/// Errors reading or writing a stage-1 file.
public enum Stage1FileError: Error, CustomStringConvertible {
  case cannotRead(path: String, reason: String)
  case badFormat(path: String, reason: String)
  case cannotWrite(path: String, reason: String)
  case mismatch(path: String, reason: String)

  public var description: String {
    switch self {
    case let .cannotRead(p, r): return "cannot read '\(p)': \(r). Check the path."
    case let .badFormat(p, r):
      return "'\(p)' is not a CaloVQ stage-1 safetensors file (\(r)). Give a file written by `calovq train stage1`."
    case let .cannotWrite(p, r): return "cannot write '\(p)': \(r). Check the folder exists and has free space."
    case let .mismatch(p, r): return "'\(p)' does not match its config (\(r)); the file is corrupt or from another version."
    }
  }
}

/// One named float tensor as stored in a file.
struct StoredTensor {
  var name: String
  var shape: [Int]
  var values: [Float]
}

enum Stage1SafeTensors {
  /// Writes tensors (in the given order) and string metadata to `path` atomically.
  static func write(_ tensors: [StoredTensor], metadata: [String: String], to path: String, float16: Bool = false) throws {
    var header: [String: Any] = ["__metadata__": metadata]
    var offset = 0
    for t in tensors {
      let bytes = t.values.count * (float16 ? 2 : 4)
      header[t.name] = ["dtype": float16 ? "F16" : "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]]
      offset += bytes
    }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces so the data is 8-byte aligned
    var out = Data(capacity: 8 + json.count + offset)
    var len = UInt64(json.count).littleEndian
    withUnsafeBytes(of: &len) { out.append(contentsOf: $0) }
    out.append(json)
    for t in tensors {
      if float16 {
        var h = t.values.map { Float16($0).bitPattern.littleEndian }
        h.withUnsafeMutableBytes { out.append(contentsOf: $0) }
      } else {
        var f = t.values.map { $0.bitPattern.littleEndian }
        f.withUnsafeMutableBytes { out.append(contentsOf: $0) }
      }
    }
    let tmp = path + ".partial-\(getpid())"
    do {
      try out.write(to: URL(fileURLWithPath: tmp))
    } catch {
      throw Stage1FileError.cannotWrite(path: path, reason: "\(error.localizedDescription)")
    }
    guard rename(tmp, path) == 0 else {
      try? FileManager.default.removeItem(atPath: tmp)
      throw Stage1FileError.cannotWrite(path: path, reason: "rename from \(tmp) failed")
    }
  }

  /// Reads all tensors (as Float) and the metadata of `path`.
  static func read(_ path: String) throws -> (tensors: [String: StoredTensor], metadata: [String: String]) {
    guard FileManager.default.fileExists(atPath: path) else { throw Stage1FileError.cannotRead(path: path, reason: "no such file") }
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
      throw Stage1FileError.cannotRead(path: path, reason: error.localizedDescription)
    }
    guard data.count >= 8 else { throw Stage1FileError.badFormat(path: path, reason: "shorter than 8 bytes") }
    let hlen = data.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
    guard hlen > 0, 8 + hlen <= data.count else { throw Stage1FileError.badFormat(path: path, reason: "bad header length") }
    guard let obj = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + hlen))) as? [String: Any] else {
      throw Stage1FileError.badFormat(path: path, reason: "header is not JSON")
    }
    let meta = (obj["__metadata__"] as? [String: String]) ?? [:]
    let base = 8 + hlen
    var out: [String: StoredTensor] = [:]
    for (name, v) in obj where name != "__metadata__" {
      guard let d = v as? [String: Any], let dtype = d["dtype"] as? String, let shape = d["shape"] as? [Int],
        let offs = d["data_offsets"] as? [Int], offs.count == 2
      else { throw Stage1FileError.badFormat(path: path, reason: "bad entry '\(name)'") }
      let n = shape.reduce(1, *), width = dtype == "F16" ? 2 : 4
      guard dtype == "F32" || dtype == "F16", offs[1] - offs[0] == n * width, base + offs[1] <= data.count else {
        throw Stage1FileError.badFormat(path: path, reason: "entry '\(name)' has dtype \(dtype) / offsets \(offs)")
      }
      let bytes = data.subdata(in: (base + offs[0])..<(base + offs[1]))
      var values = [Float](repeating: 0, count: n)
      bytes.withUnsafeBytes { raw in
        for i in 0..<n {
          if width == 2 {
            values[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
          } else {
            values[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
          }
        }
      }
      out[name] = StoredTensor(name: name, shape: shape, values: values)
    }
    return (out, meta)
  }
}
