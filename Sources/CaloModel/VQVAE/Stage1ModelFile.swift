// Model files and training checkpoints for stage 1, both CaloNN `ModelFile`s (safetensors).
// Metadata: "config" = the Stage1Config JSON, "kind" = "stage1" (model) or "stage1-checkpoint";
// checkpoints add the optimiser counters, the batch counter and the caller's state string, and
// store the Adam moments as extra tensors "optG.m.<name>", "optG.v.<name>", "optD.…".
import CaloNN
import CaloTensor
import Foundation

/// Errors specific to stage-1 files (format-level errors are CaloNN `ModelFileError`s).
public enum Stage1FileError: Error, CustomStringConvertible {
  case wrongKind(path: String, kind: String, expected: String)
  case badConfig(path: String)

  public var description: String {
    switch self {
    case let .wrongKind(p, k, e):
      return "'\(p)' is a CaloVQ '\(k)' file, not a \(e); give a file written by `calovq train stage1`."
    case let .badConfig(p):
      return "'\(p)' has no readable stage-1 config in its metadata; the file is corrupt or from another version."
    }
  }
}

extension Stage1Model {
  /// Metadata "kind" of model files.
  public static let modelKind = "stage1"
  /// Metadata "kind" of checkpoints.
  public static let checkpointKind = "stage1-checkpoint"

  /// The config as JSON text (stored in every file's metadata).
  public var configJSON: String {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    return String(decoding: try! enc.encode(config), as: UTF8.self)
  }

  /// All weights, generator first, under their registered names.
  var namedParameters: [(String, Tensor)] {
    (generator.tensors + discriminator.tensors).map { ($0.name!, $0) }
  }

  /// Writes the model (generator and discriminator weights, config in the metadata) to `path`
  /// atomically. `float16` halves the file; values are rounded to half precision.
  public func save(to path: String, float16: Bool = false) throws {
    try ModelFile.write(path: path, tensors: namedParameters, config: configJSON, dtype: float16 ? .f16 : .f32,
                        extraMetadata: ["kind": Self.modelKind])
  }

  /// Loads a model file written by `save(to:)`, or the weights of a training checkpoint.
  public static func load(from path: String) throws -> Stage1Model {
    let c = try ModelFile.read(path: path)
    let kind = c.metadata["kind"] ?? "(none)"
    guard kind == modelKind || kind == checkpointKind else {
      throw Stage1FileError.wrongKind(path: path, kind: kind, expected: "stage-1 model")
    }
    let model = try Stage1Model(configJSON: c.config, path: path)
    try model.assign(c, path: path)
    return model
  }

  /// Loads the weights of a model file or checkpoint into a model whose config is the file's, changed
  /// by `adjust` (loss weights, batch size: training settings; the architecture must stay, as the
  /// weights fix it). Used to continue training with other settings (`calovq train stage1 --init-from`).
  public static func load(from path: String, adjusting adjust: (inout Stage1Config) -> Void) throws -> Stage1Model {
    let c = try ModelFile.read(path: path)
    let kind = c.metadata["kind"] ?? "(none)"
    guard kind == modelKind || kind == checkpointKind else {
      throw Stage1FileError.wrongKind(path: path, kind: kind, expected: "stage-1 model")
    }
    var config = try Stage1Model(configJSON: c.config, path: path).config
    adjust(&config)
    let model = Stage1Model(config: config, seed: 0)
    try model.assign(c, path: path)
    return model
  }

  convenience init(configJSON: String, path: String) throws {
    guard let c = try? JSONDecoder().decode(Stage1Config.self, from: Data(configJSON.utf8)) else {
      throw Stage1FileError.badConfig(path: path)
    }
    self.init(config: c, seed: 0)
  }

  /// Copies a file's weights into both parameter sets (extra tensors such as optimiser moments are allowed).
  func assign(_ c: ModelFile.Contents, path: String) throws {
    try ModelFile.load(c, into: generator, path: path, allowExtra: true)
    try ModelFile.load(c, into: discriminator, path: path, allowExtra: true)
  }
}

extension Stage1Trainer {
  /// Writes weights, both optimisers' moments and counters, and `state` (the caller's JSON, e.g.
  /// epoch and position) to `path` atomically, in float32 so that resuming is bit-exact.
  public func saveCheckpoint(to path: String, state: String) throws {
    var ts = model.namedParameters
    for (tag, opt) in [("optG", optG), ("optD", optD)] {
      let st = opt.state
      for (k, p) in opt.parameters.tensors.enumerated() where k < st.m.count {
        ts.append(("\(tag).m.\(p.name!)", Tensor(p.shape, data: st.m[k])))
        ts.append(("\(tag).v.\(p.name!)", Tensor(p.shape, data: st.v[k])))
      }
    }
    ts.append(("trainer.lastUsed", Tensor([lastUsed.count], data: lastUsed.map { Float($0) })))
    let meta = ["kind": Stage1Model.checkpointKind, "batches": String(batchesDone), "seed": String(seed),
                "optG.step": String(optG.state.step), "optD.step": String(optD.state.step), "state": state]
    try ModelFile.write(path: path, tensors: ts, config: model.configJSON, extraMetadata: meta)
  }

  /// Rebuilds a trainer from a checkpoint; returns it with the caller's `state` string.
  public static func loadCheckpoint(from path: String) throws -> (trainer: Stage1Trainer, state: String) {
    let c = try ModelFile.read(path: path)
    let kind = c.metadata["kind"] ?? "(none)"
    guard kind == Stage1Model.checkpointKind else {
      throw Stage1FileError.wrongKind(path: path, kind: kind, expected: "stage-1 checkpoint")
    }
    let model = try Stage1Model(configJSON: c.config, path: path)
    try model.assign(c, path: path)
    var byName: [String: [Float]] = [:]
    for t in c.tensors { byName[t.name] = t.values }
    let trainer = Stage1Trainer(model: model, seed: UInt64(c.metadata["seed"] ?? "0") ?? 0)
    if let lu = byName["trainer.lastUsed"], lu.count == trainer.lastUsed.count { trainer.lastUsed = lu.map { Int($0) } }
    for (tag, opt) in [("optG", trainer.optG), ("optD", trainer.optD)] {
      var m: [[Float]] = [], v: [[Float]] = []
      for p in opt.parameters.tensors {
        guard let a = byName["\(tag).m.\(p.name!)"], let b = byName["\(tag).v.\(p.name!)"] else { break }
        m.append(a); v.append(b)
      }
      opt.restore(step: Int(c.metadata["\(tag).step"] ?? "0") ?? 0, m: m, v: v)
    }
    trainer.setBatchesDone(Int(c.metadata["batches"] ?? "0") ?? 0)
    return (trainer, c.metadata["state"] ?? "")
  }
}
