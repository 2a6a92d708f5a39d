import ArgumentParser
import CaloGeometry
import CaloModel
import CaloPipeline
import CaloTensor
import Foundation

struct BenchGenerateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "generate",
    abstract: "Time shower generation (ms/shower for stage 2, stage 1 and total; peak memory).",
    discussion: "Random weights of the preset; median of --repeats runs after one warm-up per batch size.")

  // Optional so that `--model`, which brings its own dataset, normalisation and GPT, can refuse them.
  @Option(help: "Datasets, comma separated (ds1-photon, ds1-pion, ds2, ds3). (default: ds1-photon)") var dataset: String?
  @Option(help: "R normalisation: paper (the reference choice), global or layerwise. (default: paper)") var norm: String?
  @Option(help: "Batch sizes, comma separated.") var batch = "1,100,1000"
  @Option(help: "GPT preset: paper, sample or large. (default: paper)") var preset: String?
  @Option(help: "Timed runs per batch size.") var repeats = 5
  @Option(help: "Cores to use (default: all).") var lanes: Int?
  @Flag(help: "Time the tape-based Stage1Model.decode (the naive twin) instead of the fast decoder.") var naiveDecoder = false
  @Option(help: ArgumentHelp("Time this trained model folder (stage1 + stage2, its sampling.json and spot-rounding.json) instead of random-weight presets.",
                             valueName: "dir")) var model: String?

  func run() throws {
    try reportingErrors {
      if model != nil, dataset != nil || norm != nil || preset != nil {
        throw CLIError.badArgument("--model times the folder's own dataset, normalisation and GPT; leave out --dataset, --norm and --preset")
      }
      let preset = preset ?? "paper"
      let kinds = try (dataset ?? "ds1-photon").split(separator: ",").map { try parseDataset(String($0)) }
      let batches = try batch.split(separator: ",").map { s -> Int in
        guard let b = Int(s), b >= 1 else { throw ValidationError("--batch takes positive integers, e.g. 1,100,1000") }
        return b
      }
      guard repeats >= 1 else { throw ValidationError("--repeats must be ≥ 1") }
      if let model { return try benchModelFolder(model, batches: batches) }
      let lw: Bool?
      switch norm ?? "paper" {
      case "paper": lw = nil
      case "global": lw = false
      case "layerwise": lw = true
      default: throw ValidationError("--norm must be paper, global or layerwise")
      }
      printPreamble("\(preset) GPT presets, random weights, \(lanes ?? Compute.lanes) cores; "
                    + "stage 1 = the matching VQ-VAE preset with random weights, " + decoderName)
      for k in kinds {
        let cfg = try GPTPresets.config(dataset: k, layerwise: lw, preset: preset)
        let label = k.rawValue + (cfg.rTokens.valueCount > 1 ? "-lw" : "")
        let s1 = try Stage1Presets.config(dataset: k, norm: cfg.rTokens.valueCount > 1 ? .layerwise : .global,
                                          preset: preset)
        let codec = Stage1Model(config: s1, seed: 7)
        for row in try benchGenerate(config: cfg, label: label, batches: batches, repeats: repeats,
                                     lanes: lanes ?? Compute.lanes, codec: codec, naiveDecoder: naiveDecoder) {
          print(row.line)
        }
      }
    }
  }
}

extension BenchGenerateCommand {
  var decoderName: String { naiveDecoder ? "tape-based decode (naive twin)" : "fast decoder (Stage1Decoder)" }

  /// The lines above the table: what is timed, the units, the load, the column titles.
  func printPreamble(_ what: String) {
    print("Calo-VQ generation benchmark: " + what)
    print("ms = wall milliseconds per shower; cpu ms = CPU time of all threads per shower (getrusage); "
          + String(format: "load average at start %.2f", loadAverage()))
    print(GenerateBenchRow.header)
  }

  /// `--model DIR`: the folder's own weights, sampling options and spot rounding, as `calovq generate` uses them.
  func benchModelFolder(_ dir: String, batches: [Int]) throws {
    let (codec, gpt) = try loadModelDirectory(dir)
    let label = modelDisplayName(directory: dir)
    printPreamble("model folder \(dir) (\(gpt.config.dataset.rawValue)), \(lanes ?? Compute.lanes) cores; "
                  + decoderName + "; stage 1 includes assembly and spot rounding")
    for row in try benchGenerate(gpt: gpt, label: String(label.prefix(18)), batches: batches, repeats: repeats,
                                 lanes: lanes ?? Compute.lanes, codec: codec, options: try loadModelSampling(dir),
                                 spotRounding: try loadModelSpotRounding(dir), naiveDecoder: naiveDecoder) {
      print(row.line)
    }
  }
}

/// The 1-minute load average (0 when unavailable), to state how busy the machine was.
func loadAverage() -> Double {
  var l = [Double](repeating: 0, count: 3)
  return getloadavg(&l, 3) >= 1 ? l[0] : 0
}
