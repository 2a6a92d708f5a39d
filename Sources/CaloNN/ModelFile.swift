// Model files in the safetensors layout: u64 little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then the raw little-endian tensor
// bytes. Our metadata adds a format name and version and the model config (a JSON string), so a
// file is self-describing and loads with the Python `safetensors` package.
import CaloTensor
import Foundation

/// Storage type of the tensors in a model file.
public enum ModelFileDType: String, Sendable {
  /// IEEE float32 (exact round trip).
  case f32 = "F32"
  /// IEEE float16 (half the size; values rounded to nearest, |x| > 65504 becomes ±inf).
  case f16 = "F16"
  var bytes: Int { self == .f32 ? 4 : 2 }
}

/// A problem reading or writing a model file; `description` says what to do.
public enum ModelFileError: Error, CustomStringConvertible, Equatable {
  case cannotRead(path: String, reason: String)
  case truncated(path: String, detail: String)
  case badHeader(path: String, detail: String)
  case notCaloVQ(path: String)
  case unsupportedVersion(path: String, version: String)
  case unsupportedDType(path: String, tensor: String, dtype: String)
  case missingTensor(path: String, name: String)
  case unexpectedTensor(path: String, name: String)
  case shapeMismatch(path: String, name: String, file: [Int], model: [Int])
  case writeFailed(path: String, reason: String)

  public var description: String {
    switch self {
    case let .cannotRead(p, r): return "cannot read model file '\(p)': \(r). Check the path."
    case let .truncated(p, d): return "model file '\(p)' is truncated (\(d)); it was probably not written completely — re-run the training or copy it again."
    case let .badHeader(p, d): return "'\(p)' is not a valid safetensors model file: \(d)."
    case let .notCaloVQ(p): return "'\(p)' is a safetensors file but not a CaloVQ model (no calovq format metadata); give a file written by `calovq train`."
    case let .unsupportedVersion(p, v): return "model file '\(p)' has format version \(v); this build reads version \(ModelFile.formatVersion). Use a matching calovq build or re-train."
    case let .unsupportedDType(p, t, d): return "model file '\(p)': tensor '\(t)' has dtype \(d); only F32 and F16 are supported."
    case let .missingTensor(p, n): return "model file '\(p)' has no tensor '\(n)' that the model needs; was it written for a different dataset/config?"
    case let .unexpectedTensor(p, n): return "model file '\(p)' has a tensor '\(n)' that the model does not have; was it written for a different dataset/config?"
    case let .shapeMismatch(p, n, f, m): return "model file '\(p)': tensor '\(n)' has shape \(f) but the model expects \(m); the file was written for a different config."
    case let .writeFailed(p, r): return "cannot write model file '\(p)': \(r). Check the folder exists and is writable."
    }
  }
}

/// Read and write CaloVQ model files (safetensors layout, see the file comment).
public enum ModelFile {
  /// Value of `__metadata__.format`.
  public static let formatName = "calovq-model"
  /// Value of `__metadata__.format_version`; bump when the meaning of the tensors changes.
  public static let formatVersion = "1"

  /// The decoded contents of a model file.
  public struct Contents {
    /// Tensors by name in file order, as Float32 (F16 files are widened).
    public var tensors: [(name: String, shape: [Int], values: [Float])]
    /// The model config JSON string from the metadata ("" if absent).
    public var config: String
    /// All metadata entries (format, format_version, config, and any extras).
    public var metadata: [String: String]
    /// Storage type of the file's tensors (of the first tensor; mixed files are allowed).
    public var dtype: ModelFileDType
  }

  /// Writes `tensors` (name, tensor) with the given config JSON to `path` atomically (temporary
  /// file + rename). `extraMetadata` entries are stored beside format/version/config.
  public static func write(path: String, tensors: [(String, Tensor)], config: String, dtype: ModelFileDType = .f32,
                           extraMetadata: [String: String] = [:]) throws {
    var meta = extraMetadata
    meta["format"] = formatName
    meta["format_version"] = formatVersion
    meta["config"] = config
    var header = "{\"__metadata__\":{"
    header += meta.keys.sorted().map { "\(jsonString($0)):\(jsonString(meta[$0]!))" }.joined(separator: ",")
    header += "}"
    var offset = 0
    var seen = Set<String>()
    for (name, t) in tensors {
      guard seen.insert(name).inserted, name != "__metadata__" else {
        throw ModelFileError.writeFailed(path: path, reason: "duplicate or reserved tensor name '\(name)'")
      }
      let n = t.count * dtype.bytes
      header += ",\(jsonString(name)):{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + n)]}"
      offset += n
    }
    header += "}"
    // Pad with spaces so the data starts 8-byte aligned (the safetensors convention).
    var headerBytes = Array(header.utf8)
    while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
    var out = Data(capacity: 8 + headerBytes.count + offset)
    var len = UInt64(headerBytes.count).littleEndian
    withUnsafeBytes(of: &len) { out.append(contentsOf: $0) }
    out.append(contentsOf: headerBytes)
    for (_, t) in tensors {
      switch dtype {
      case .f32:
        t.data.withUnsafeBytes { out.append(contentsOf: $0) }   // x86-64/arm64 are little-endian
      case .f16:
        let h = t.data.map { Float16($0) }
        h.withUnsafeBytes { out.append(contentsOf: $0) }
      }
    }
    let tmp = path + ".partial-\(getpid())"
    do {
      try out.write(to: URL(fileURLWithPath: tmp))
    } catch {
      throw ModelFileError.writeFailed(path: path, reason: "\(error.localizedDescription)")
    }
    guard rename(tmp, path) == 0 else {
      try? FileManager.default.removeItem(atPath: tmp)
      throw ModelFileError.writeFailed(path: path, reason: String(cString: strerror(errno)))
    }
  }

  /// Writes every parameter of `parameters` under its registered name.
  public static func write(path: String, parameters: ParameterSet, config: String, dtype: ModelFileDType = .f32,
                           extraMetadata: [String: String] = [:]) throws {
    try write(path: path, tensors: parameters.tensors.map { ($0.name!, $0) }, config: config, dtype: dtype, extraMetadata: extraMetadata)
  }

  /// Reads and validates a model file: header length and JSON, dtypes, shapes against offsets,
  /// offsets contiguous and inside the file, CaloVQ format metadata and version.
  public static func read(path: String) throws -> Contents {
    let data: Data
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw ModelFileError.cannotRead(path: path, reason: "no such file")
    }
    guard !isDirectory.boolValue else { throw ModelFileError.cannotRead(path: path, reason: "it is a directory") }
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      // Foundation's sentences end in a full stop; the message adds its own.
      var reason = error.localizedDescription
      while reason.hasSuffix(".") { reason.removeLast() }
      throw ModelFileError.cannotRead(path: path, reason: reason)
    }
    guard data.count >= 8 else { throw ModelFileError.truncated(path: path, detail: "\(data.count) bytes, shorter than the 8-byte header length") }
    let hlen = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    guard hlen <= UInt64(data.count - 8) else {
      if hlen > 100_000_000 { throw ModelFileError.badHeader(path: path, detail: "header length \(hlen) is implausible (not a safetensors file?)") }
      throw ModelFileError.truncated(path: path, detail: "header needs \(hlen) bytes but only \(data.count - 8) follow")
    }
    let headerData = data.subdata(in: 8..<(8 + Int(hlen)))
    guard let obj = try? JSONSerialization.jsonObject(with: headerData), let header = obj as? [String: Any] else {
      throw ModelFileError.badHeader(path: path, detail: "the header is not a JSON object")
    }
    var metadata: [String: String] = [:]
    if let m = header["__metadata__"] {
      guard let mm = m as? [String: String] else { throw ModelFileError.badHeader(path: path, detail: "__metadata__ must map strings to strings") }
      metadata = mm
    }
    guard metadata["format"] == formatName else { throw ModelFileError.notCaloVQ(path: path) }
    guard metadata["format_version"] == formatVersion else {
      throw ModelFileError.unsupportedVersion(path: path, version: metadata["format_version"] ?? "(none)")
    }
    let body = 8 + Int(hlen)
    let bodyCount = data.count - body
    var entries: [(name: String, dtype: ModelFileDType, shape: [Int], begin: Int, end: Int)] = []
    for (name, v) in header where name != "__metadata__" {
      guard let e = v as? [String: Any], let ds = e["dtype"] as? String, let shape = e["shape"] as? [Int],
            let offs = e["data_offsets"] as? [Int], offs.count == 2 else {
        throw ModelFileError.badHeader(path: path, detail: "entry '\(name)' needs dtype, shape and data_offsets [begin, end]")
      }
      guard let dt = ModelFileDType(rawValue: ds) else { throw ModelFileError.unsupportedDType(path: path, tensor: name, dtype: ds) }
      guard shape.allSatisfy({ $0 >= 0 }), offs[0] >= 0, offs[1] >= offs[0] else {
        throw ModelFileError.badHeader(path: path, detail: "entry '\(name)' has a negative dimension or reversed offsets")
      }
      guard offs[1] - offs[0] == shape.reduce(1, *) * dt.bytes else {
        throw ModelFileError.badHeader(path: path, detail: "entry '\(name)': shape \(shape) as \(ds) needs \(shape.reduce(1, *) * dt.bytes) bytes but data_offsets span \(offs[1] - offs[0])")
      }
      entries.append((name, dt, shape, offs[0], offs[1]))
    }
    entries.sort { $0.begin < $1.begin }
    var expect = 0
    for e in entries {
      guard e.begin == expect else { throw ModelFileError.badHeader(path: path, detail: "tensor data is not contiguous at '\(e.name)' (offset \(e.begin), expected \(expect))") }
      expect = e.end
    }
    guard expect <= bodyCount else { throw ModelFileError.truncated(path: path, detail: "tensor data needs \(expect) bytes but only \(bodyCount) are present") }
    guard expect == bodyCount else { throw ModelFileError.badHeader(path: path, detail: "\(bodyCount - expect) unexpected bytes after the tensor data") }
    var tensors: [(name: String, shape: [Int], values: [Float])] = []
    data.withUnsafeBytes { raw in
      for e in entries {
        let n = e.shape.reduce(1, *)
        let src = raw.baseAddress! + body + e.begin
        var vals = [Float](repeating: 0, count: n)
        switch e.dtype {
        case .f32: for i in 0..<n { vals[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f16: for i in 0..<n { vals[i] = Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
        }
        tensors.append((e.name, e.shape, vals))
      }
    }
    return Contents(tensors: tensors, config: metadata["config"] ?? "", metadata: metadata, dtype: entries.first?.dtype ?? .f32)
  }

  /// Copies a file's tensors into `parameters` by name. Every parameter must be present with the
  /// same shape, and (unless `allowExtra`) the file may hold no other tensors.
  public static func load(_ contents: Contents, into parameters: ParameterSet, path: String, allowExtra: Bool = false) throws {
    var byName: [String: (shape: [Int], values: [Float])] = [:]
    for t in contents.tensors { byName[t.name] = (t.shape, t.values) }
    for p in parameters.tensors {
      guard let f = byName[p.name!] else { throw ModelFileError.missingTensor(path: path, name: p.name!) }
      guard f.shape == p.shape else { throw ModelFileError.shapeMismatch(path: path, name: p.name!, file: f.shape, model: p.shape) }
    }
    if !allowExtra, let extra = contents.tensors.first(where: { parameters[$0.name] == nil }) {
      throw ModelFileError.unexpectedTensor(path: path, name: extra.name)
    }
    for p in parameters.tensors { p.data = byName[p.name!]!.values }
  }

  /// A JSON string literal.
  static func jsonString(_ s: String) -> String {
    var r = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": r += "\\\""
      case "\\": r += "\\\\"
      case "\n": r += "\\n"
      case "\r": r += "\\r"
      case "\t": r += "\\t"
      default:
        if u.value < 0x20 { r += String(format: "\\u%04x", u.value) } else { r.unicodeScalars.append(u) }
      }
    }
    return r + "\""
  }
}
