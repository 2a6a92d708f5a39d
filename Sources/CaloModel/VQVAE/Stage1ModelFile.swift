// Model files and training checkpoints for stage 1, both safetensors. Metadata keys:
// "format" = "calovq-stage1" (model) or "calovq-stage1-checkpoint", "version" = "1",
// "config" = the Stage1Config JSON; checkpoints add the optimiser counters and the caller's state.
import CaloNN
import CaloTensor
import Foundation

extension Stage1Model {
  /// Format tag of model files.
  public static let modelFormat = "calovq-stage1"
  /// Format tag of checkpoints.
  public static let checkpointFormat = "calovq-stage1-checkpoint"

  /// The config as JSON text (stored in every file's metadata).
  public var configJSON: String {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    return String(decoding: try! enc.encode(config), as: UTF8.self)
  }

  var storedParameters: [StoredTensor] {
    (generator.tensors + discriminator.tensors).map { StoredTensor(name: $0.name!, shape: $0.shape, values: $0.data) }
  }

  /// Writes the model (generator and discriminator weights, config in the metadata) to `path`
  /// atomically. `float16` halves the file; values are rounded to half precision.
  public func save(to path: String, float16: Bool = false) throws {
    try Stage1SafeTensors.write(storedParameters, metadata: ["format": Self.modelFormat, "version": "1", "config": configJSON],
                                to: path, float16: float16)
  }

  /// Loads a model file written by `save(to:)` (or a checkpoint: its weights are used).
  public static func load(from path: String) throws -> Stage1Model {
    let (tensors, meta) = try Stage1SafeTensors.read(path)
    guard meta["format"] == modelFormat || meta["format"] == checkpointFormat else {
      throw Stage1FileError.badFormat(path: path, reason: "metadata format is '\(meta["format"] ?? "missing")'")
    }
    let model = try Stage1Model(configJSON: meta["config"], path: path)
    try model.assign(tensors, path: path)
    return model
  }

  convenience init(configJSON: String?, path: String) throws {
    guard let s = configJSON, let c = try? JSONDecoder().decode(Stage1Config.self, from: Data(s.utf8)) else {
      throw Stage1FileError.badFormat(path: path, reason: "missing or unreadable config")
    }
    self.init(config: c, seed: 0)
  }

  /// Copies stored values into the parameters (names and shapes must match).
  func assign(_ tensors: [String: StoredTensor], path: String) throws {
    for t in generator.tensors + discriminator.tensors {
      guard let s = tensors[t.name!] else { throw Stage1FileError.mismatch(path: path, reason: "no tensor '\(t.name!)'") }
      guard s.shape == t.shape else {
        throw Stage1FileError.mismatch(path: path, reason: "'\(t.name!)' has shape \(s.shape), config needs \(t.shape)")
      }
      t.data = s.values
    }
  }
}

extension Stage1Trainer {
  /// Writes weights, both optimisers' moments and counters, and `state` (caller's JSON, e.g. epoch
  /// and RNG position) to `path` atomically, in full float32 so resuming is bit-exact.
  public func saveCheckpoint(to path: String, state: String) throws {
    var ts = model.storedParameters
    for (tag, opt) in [("optG", optG), ("optD", optD)] {
      let st = opt.state
      for (k, p) in opt.parameters.tensors.enumerated() where k < st.m.count {
        ts.append(StoredTensor(name: "\(tag).m.\(p.name!)", shape: p.shape, values: st.m[k]))
        ts.append(StoredTensor(name: "\(tag).v.\(p.name!)", shape: p.shape, values: st.v[k]))
      }
    }
    let meta = ["format": Stage1Model.checkpointFormat, "version": "1", "config": model.configJSON,
                "batches": String(batchesDone), "optG.step": String(optG.state.step), "optD.step": String(optD.state.step),
                "state": state]
    try Stage1SafeTensors.write(ts, metadata: meta, to: path)
  }

  /// Rebuilds a trainer from a checkpoint; returns it with the caller's `state` string.
  public static func loadCheckpoint(from path: String) throws -> (trainer: Stage1Trainer, state: String) {
    let (tensors, meta) = try Stage1SafeTensors.read(path)
    guard meta["format"] == Stage1Model.checkpointFormat else {
      throw Stage1FileError.badFormat(path: path, reason: "not a checkpoint (format '\(meta["format"] ?? "missing")')")
    }
    let model = try Stage1Model(configJSON: meta["config"], path: path)
    try model.assign(tensors, path: path)
    let trainer = Stage1Trainer(model: model)
    for (tag, opt) in [("optG", trainer.optG), ("optD", trainer.optD)] {
      var m: [[Float]] = [], v: [[Float]] = []
      for p in opt.parameters.tensors {
        guard let a = tensors["\(tag).m.\(p.name!)"], let b = tensors["\(tag).v.\(p.name!)"] else { break }
        m.append(a.values); v.append(b.values)
      }
      opt.restore(step: Int(meta["\(tag).step"] ?? "0") ?? 0, m: m, v: v)
    }
    trainer.setBatchesDone(Int(meta["batches"] ?? "0") ?? 0)
    return (trainer, meta["state"] ?? "")
  }
}
