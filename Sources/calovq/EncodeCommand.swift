import ArgumentParser
import CaloPipeline

/// `calovq encode MODEL DATA --out codes.npy|.bin`: showers → stage-1 code grids.
struct EncodeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "encode", abstract: "Encode showers into stage-1 code grids (.npy int32 or .bin).")
  @Argument(help: "Stage-1 model file (stage1.safetensors).") var model: String
  @Argument(help: "Showers (CaloChallenge HDF5).") var data: String
  @Option(help: "Output file: .npy (int32, shape (N, grid...)) or .bin (CVQCODES).") var out: String
  @Option(help: "Also write the R values (float32 .npy, shape (N, nR)).") var rOut: String?
  @Option(help: "Encode only the first N showers.") var limit: Int?

  func run() throws {
    try reportingErrors {
      let s = try stage1Encode(modelPath: model, dataPath: data, out: out, rOut: rOut, limit: limit)
      print("encoded \(s.showers) showers -> \(out)" + (rOut.map { ", R -> \($0)" } ?? ""))
      let u = s.usage
      print(String(format: "codebook usage: %d of %d codes used (%.1f %%), %d dead, perplexity %.1f",
                   u.used, s.codebookSize, 100 * Double(u.used) / Double(s.codebookSize), u.dead, u.perplexity))
    }
  }
}
