import ArgumentParser
import CaloData
import CaloModel
import CaloPipeline
import Foundation

struct GenerateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "generate",
    abstract: "Generate showers with a trained Calo-VQ model into a CaloChallenge HDF5 file.",
    discussion: """
      Energies: --energy E (MeV) for all showers, or --energies ds1|uniform; by default ds1 models use the \
      official ds1 energy list and ds2/ds3 models log-uniform 1 GeV-1 TeV. --shard i/n writes part i \
      (0-based) of one logical run of --count showers; shards with the same --seed concatenated in \
      order (calovq merge) equal the unsharded file.
      """)

  @Option(help: "Model folder with stage1.safetensors and stage2.safetensors.") var model: String
  @Option(help: "Showers in the whole run (all shards).") var count: Int
  @Option(help: "Incident energy in MeV for every shower.") var energy: Double?
  @Option(help: "Energy distribution: ds1 (official ds1 list) or uniform.") var energies: String?
  @Option(help: "Random seed.") var seed: UInt64 = 1
  @Option(help: "Output HDF5 file.") var out: String
  @Option(help: "Part i/n of the run (0-based i).") var shard: String?
  @Option(help: "Showers per batch.") var batch: Int = 1000
  @Option(help: "Sampling temperature (default: the model folder's sampling.json, else 1).") var temperature: Float?
  @Option(name: .customLong("top-k"), help: "Sample from the k most likely tokens only.") var topK: Int?
  @Flag(help: "Keep R tokens within the range seen in training.") var constrainR = false
  @Option(name: .customLong("r-top-p"),
          help: "Nucleus sampling (0 < p ≤ 1) on the leading digit of each R value; codes are unaffected.")
  var rTopP: Float?
  @Flag(name: .customLong("r-level-interpolation"),
        help: "Draw the last digit of each R value from a straight line through its level's and the neighbouring levels' probabilities.")
  var rLevelInterpolation = false
  @Option(name: .customLong("r-layer-fit"),
          help: "How layer ratios are made to add up to the total: proportional (the paper) or size-weighted (large layers absorb the mismatch).")
  var rLayerFit: String?
  @Flag(name: .customLong("no-spot-rounding"),
        help: "Ignore the model folder's spot-rounding.json and write the decoder's dense showers.")
  var noSpotRounding = false

  func run() throws {
    try reportingErrors {
      var opts = GenerateOptions(count: count)
      if energy != nil && energies != nil { throw ValidationError("give either --energy or --energies, not both") }
      if let e = energy { opts.energies = .fixed(e) }
      switch energies {
      case nil: break
      case "ds1": opts.energies = .ds1List
      case "uniform": opts.energies = .uniform
      case let s?: throw ValidationError("unknown --energies '\(s)'; use ds1 or uniform")
      }
      if let s = shard {
        guard let sh = Shard(parsing: s) else { throw ValidationError("--shard must be i/n with 0 ≤ i < n, e.g. 0/4; got '\(s)'") }
        opts.shard = sh
      }
      if let t = temperature, !(t > 0) { throw ValidationError("--temperature must be > 0") }
      if let k = topK, k < 1 { throw ValidationError("--top-k must be ≥ 1") }
      if let p = rTopP, !(p > 0 && p <= 1) { throw ValidationError("--r-top-p must be in (0, 1], e.g. 0.99; got \(p)") }
      let fit = try rLayerFit.map { name in
        guard let f = RTokenizer.LayerFit(rawValue: name) else {
          throw ValidationError("unknown --r-layer-fit '\(name)'; use " + RTokenizer.LayerFit.allCases.map(\.rawValue).joined(separator: " or "))
        }
        return f
      }
      opts.seed = seed
      opts.batchSize = batch
      // The folder's sampling.json (what its evaluation used), each setting overridable here.
      var sampling = try loadModelSampling(model)
      if let t = temperature { sampling.temperature = t }
      if let k = topK { sampling.topK = k }
      if constrainR { sampling.constrainR = true }
      if let p = rTopP { sampling.rTopP = p }
      if rLevelInterpolation { sampling.rLevelInterpolation = true }
      if let f = fit { sampling.rLayerFit = f }
      opts.sampling = sampling
      let (codec, gpt) = try loadModelDirectory(model)
      let spots = noSpotRounding ? nil : try loadModelSpotRounding(model)
      let gen = try ShowerGenerator(codec: codec, gpt: gpt, options: opts.sampling, spotRounding: spots)
      let name = (URL(fileURLWithPath: model).standardizedFileURL.path as NSString).lastPathComponent
      let source = ShowerSource.model("'\(name)' (\(gpt.config.dataset.rawValue), \(gpt.config.preset) GPT), seed \(seed)"
        + (opts.shard.count > 1 ? ", shard \(opts.shard.index)/\(opts.shard.count)" : ""))
      let summary = try generateShowerFile(generator: gen, options: opts, outPath: out, source: source)
      if sampling != SamplingOptions() { print("sampling: \(describe(sampling))") }
      if spots != nil { print("spot rounding: \(model)/\(modelSpotRoundingFileName)") }
      print(String(format: "wrote %d showers to %@ in %.2f s (stage 2 %.3f ms/shower, stage 1 %.3f ms/shower)",
                   summary.showers, out, summary.totalSeconds, 1000 * summary.stage2Seconds / Double(summary.showers),
                   1000 * summary.stage1Seconds / Double(summary.showers)))
    }
  }
}

/// "temperature 1.15, R top-p 0.99" — the settings that differ from the paper's plain sampling.
func describe(_ s: SamplingOptions) -> String {
  let parts = s.differencesFromThePaper
  return parts.isEmpty ? "as in the paper" : parts.joined(separator: ", ")
}
