// Stage-2 model files in the safetensors layout: u64 little-endian header length, a JSON header with
// each tensor's dtype (F32), shape and byte range plus `__metadata__` (format, version, config JSON),
// then the raw little-endian data. Written to a temporary name and renamed. F32, or F16 for bundled
// models (half the size; read back widened to Float32).
// (CaloNN is getting a shared model-file module; this minimal one can be swapped for it.)
import Foundation

/// Errors reading or writing stage-2 model files; the descriptions say what to do.
public enum GPTModelFileError: Error, CustomStringConvertible, Equatable {
  case cannotRead(path: String)
  case malformed(path: String, what: String)
  case wrongFormat(path: String, found: String)
  case missingTensor(path: String, name: String)
  case shapeMismatch(path: String, name: String, found: [Int], expected: [Int])
  case writeFailed(path: String)

  public var description: String {
    switch self {
    case let .cannotRead(path): return "cannot read model file '\(path)'; check the path (a model folder holds stage1.safetensors and stage2.safetensors)"
    case let .malformed(path, what): return "'\(path)' is not a valid safetensors file (\(what)); it may be truncated, copy or train it again"
    case let .wrongFormat(path, found): return "'\(path)' is a '\(found)' file, not a Calo-VQ stage-2 GPT; pass the stage2.safetensors of `calovq train stage2`"
    case let .missingTensor(path, name): return "'\(path)' has no tensor '\(name)'; the file does not match its config (wrong or edited file)"
    case let .shapeMismatch(path, name, found, expected): return "'\(path)': tensor '\(name)' has shape \(found), the config needs \(expected)"
    case let .writeFailed(path): return "cannot write '\(path)'; check that the folder exists and is writable"
    }
  }
}

/// Reads and writes float32 (or float16) safetensors files.
public enum SafeTensorsF32 {
  /// Writes `tensors` (name, shape, values) and string metadata to `path` atomically; `float16`
  /// stores every value rounded to half precision.
  public static func write(_ tensors: [(name: String, shape: [Int], data: [Float])], metadata: [String: String],
                           to path: String, float16: Bool = false) throws {
    var header: [String: Any] = ["__metadata__": metadata]
    var offset = 0
    let width = float16 ? 2 : 4
    for t in tensors {
      precondition(t.data.count == t.shape.reduce(1, *), "tensor \(t.name): \(t.data.count) values for shape \(t.shape)")
      header[t.name] = ["dtype": float16 ? "F16" : "F32", "shape": t.shape, "data_offsets": [offset, offset + width * t.data.count]]
      offset += width * t.data.count
    }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces so the data is 8-byte aligned
    var blob = Data(capacity: 8 + json.count + offset)
    var n = UInt64(json.count).littleEndian
    withUnsafeBytes(of: &n) { blob.append(contentsOf: $0) }
    blob.append(json)
    for t in tensors {  // x86/ARM are little-endian
      if float16 { t.data.map { Float16($0) }.withUnsafeBytes { blob.append(contentsOf: $0) } }
      else { t.data.withUnsafeBytes { blob.append(contentsOf: $0) } }
    }
    let tmp = path + ".partial-\(getpid())"
    guard FileManager.default.createFile(atPath: tmp, contents: blob), rename(tmp, path) == 0 else {
      try? FileManager.default.removeItem(atPath: tmp)
      throw GPTModelFileError.writeFailed(path: path)
    }
  }

  /// True when `path`'s tensors are stored in half precision (a packed model), so a rewrite keeps it so.
  public static func storesFloat16(_ path: String) throws -> Bool {
    try readHeader(path).header.values.contains { ($0 as? [String: Any])?["dtype"] as? String == "F16" }
  }

  /// The bytes of `path`, its JSON header and the offset where the tensor data begins.
  private static func readHeader(_ path: String) throws -> (blob: Data, header: [String: Any], base: Int) {
    guard let blob = FileManager.default.contents(atPath: path) else { throw GPTModelFileError.cannotRead(path: path) }
    guard blob.count >= 8 else { throw GPTModelFileError.malformed(path: path, what: "shorter than 8 bytes") }
    let n = blob.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
    guard n <= UInt64(blob.count - 8) else {
      throw GPTModelFileError.malformed(path: path, what: "header length \(n) beyond the file size \(blob.count)")
    }
    let headerData = blob.subdata(in: 8..<(8 + Int(n)))
    guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
      throw GPTModelFileError.malformed(path: path, what: "header is not a JSON object")
    }
    return (blob, header, 8 + Int(n))
  }

  /// Reads every tensor (F32, or F16 widened to Float32) and the metadata of `path`.
  public static func read(_ path: String) throws -> (tensors: [String: (shape: [Int], data: [Float])], metadata: [String: String]) {
    let (blob, header, base) = try readHeader(path)
    var tensors: [String: (shape: [Int], data: [Float])] = [:]
    for (name, v) in header where name != "__metadata__" {
      guard let d = v as? [String: Any], let dtype = d["dtype"] as? String, let shape = d["shape"] as? [Int],
        let offs = d["data_offsets"] as? [Int], offs.count == 2 else {
        throw GPTModelFileError.malformed(path: path, what: "entry '\(name)'")
      }
      guard dtype == "F32" || dtype == "F16" else {
        throw GPTModelFileError.malformed(path: path, what: "tensor '\(name)' is \(dtype), expected F32 or F16")
      }
      let count = shape.reduce(1, *), width = dtype == "F16" ? 2 : 4
      guard offs[1] - offs[0] == width * count, offs[0] >= 0, base + offs[1] <= blob.count else {
        throw GPTModelFileError.malformed(path: path, what: "byte range of '\(name)' does not match its shape or the file is truncated")
      }
      var data = [Float](repeating: 0, count: count)
      if width == 2 {
        var half = [Float16](repeating: 0, count: count)
        _ = half.withUnsafeMutableBytes { dst in blob.copyBytes(to: dst, from: (base + offs[0])..<(base + offs[1])) }
        for i in 0..<count { data[i] = Float(half[i]) }
      } else {
        _ = data.withUnsafeMutableBytes { dst in blob.copyBytes(to: dst, from: (base + offs[0])..<(base + offs[1])) }
      }
      tensors[name] = (shape, data)
    }
    let metadata = (header["__metadata__"] as? [String: String]) ?? [:]
    return (tensors, metadata)
  }
}

extension GPT {
  /// Value of the `format` metadata key of stage-2 files.
  public static let fileFormat = "calovq-stage2-gpt"
  /// Version of the stage-2 file layout.
  public static let fileVersion = "1"

  /// Writes all parameters and the config (JSON in metadata key `config`) to `path` atomically.
  /// `extraMetadata` is stored alongside (e.g. the training step).
  public func save(to path: String, extraMetadata: [String: String] = [:], float16: Bool = false) throws {
    var meta = extraMetadata
    meta["format"] = GPT.fileFormat
    meta["version"] = GPT.fileVersion
    meta["config"] = config.jsonString()
    try SafeTensorsF32.write(parameters.tensors.map { ($0.name!, $0.shape, $0.data) }, metadata: meta, to: path,
                             float16: float16)
  }

  /// Loads a model written by `save(to:)`; its config comes from the file.
  public static func load(from path: String) throws -> GPT {
    let (tensors, meta) = try SafeTensorsF32.read(path)
    guard meta["format"] == fileFormat else { throw GPTModelFileError.wrongFormat(path: path, found: meta["format"] ?? "unknown") }
    guard let text = meta["config"], let cfg = try? GPTConfig.fromJSON(text) else {
      throw GPTModelFileError.malformed(path: path, what: "missing or unreadable config metadata")
    }
    if let problem = cfg.rSupport?.problem(valueCount: cfg.rTokens.valueCount, digitLimit: RTokenizer.base) {
      throw GPTModelFileError.malformed(path: path, what: problem)
    }
    let g = GPT(config: cfg, seed: 0)
    try g.assign(tensors, path: path)
    return g
  }

  /// Copies tensors (by parameter name) into this model's parameters.
  public func assign(_ tensors: [String: (shape: [Int], data: [Float])], path: String = "") throws {
    for p in parameters.tensors {
      guard let t = tensors[p.name!] else { throw GPTModelFileError.missingTensor(path: path, name: p.name!) }
      guard t.shape == p.shape else {
        throw GPTModelFileError.shapeMismatch(path: path, name: p.name!, found: t.shape, expected: p.shape)
      }
      p.data = t.data
    }
  }
}
