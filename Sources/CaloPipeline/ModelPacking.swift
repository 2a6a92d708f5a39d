// Packing a trained model folder for distribution (sample-data/models/): both stages in float16,
// which halves the files; sampling.json travels with them. The packed folder is loaded back before
// this returns, so a pack that cannot be used is reported here, not when a user opens it.
import CaloModel
import Foundation

/// Sizes of a packed model folder, in bytes.
public struct PackedModelSummary: Sendable {
  public var stage1Bytes: Int
  public var stage2Bytes: Int
  public var hasSampling: Bool
  public var hasSpotRounding: Bool
}

/// Writes `source`'s stage1.safetensors and stage2.safetensors to `destination` as float16 files
/// (each written to a temporary name and renamed) and copies its sampling.json and spot-rounding.json
/// if present (and removes stale ones from the destination).
/// - Throws: the loaders' errors for a missing or broken source file; `Stage2Error.badInput` for an
///   invalid sampling.json (`SpotRoundingError` for an invalid spot-rounding.json) or when source and destination are the same folder.
public func packModelDirectory(from source: String, to destination: String) throws -> PackedModelSummary {
  let fm = FileManager.default
  let src = URL(fileURLWithPath: source).standardizedFileURL.path, dst = URL(fileURLWithPath: destination).standardizedFileURL.path
  guard src != dst else { throw Stage2Error.badInput("pack: the destination '\(destination)' is the source folder; give another folder") }
  _ = try loadModelDirectory(source)            // the source must be a complete, loadable model
  let sampling = try loadModelSampling(source)  // and its sampling.json (if any) valid
  let spots = try loadModelSpotRounding(source) // and its spot-rounding.json
  try fm.createDirectory(atPath: dst, withIntermediateDirectories: true)

  try Stage1Model.load(from: src + "/stage1.safetensors").save(to: dst + "/stage1.safetensors", float16: true)
  let (tensors, meta) = try SafeTensorsF32.read(src + "/stage2.safetensors")
  try SafeTensorsF32.write(tensors.keys.sorted().map { ($0, tensors[$0]!.shape, tensors[$0]!.data) }, metadata: meta,
                           to: dst + "/stage2.safetensors", float16: true)
  // The settings files travel with the weights; a stale one in the destination would change how the
  // new pack generates, so it is removed.
  for name in [modelSamplingFileName, modelSpotRoundingFileName] {
    let from = src + "/" + name, to = dst + "/" + name
    if fm.fileExists(atPath: from) {
      try Data(contentsOf: URL(fileURLWithPath: from)).write(to: URL(fileURLWithPath: to), options: .atomic)
    } else if fm.fileExists(atPath: to) {
      try fm.removeItem(atPath: to)
    }
  }
  _ = try loadModelDirectory(dst)
  guard try loadModelSampling(dst) == sampling, try loadModelSpotRounding(dst) == spots else {
    throw Stage2Error.badInput("pack: the settings files in '\(dst)' differ from the source's; copy them again")
  }
  func size(_ p: String) -> Int { ((try? fm.attributesOfItem(atPath: p)[.size]) as? NSNumber)?.intValue ?? 0 }
  return PackedModelSummary(stage1Bytes: size(dst + "/stage1.safetensors"), stage2Bytes: size(dst + "/stage2.safetensors"),
                            hasSampling: fm.fileExists(atPath: src + "/" + modelSamplingFileName),
                            hasSpotRounding: spots != nil)
}
