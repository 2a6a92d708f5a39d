import ArgumentParser
import CaloPipeline

/// `calovq reconstruct MODEL DATA --out rec.h5`: encode → decode with the true R (stage-1 quality check).
struct ReconstructCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reconstruct", abstract: "Reconstruct showers through the stage-1 model (codes and true R) into an HDF5 file.")
  @Argument(help: "Stage-1 model file (stage1.safetensors).") var model: String
  @Argument(help: "Showers (CaloChallenge HDF5).") var data: String
  @Option(help: "Output CaloChallenge HDF5 file.") var out: String
  @Option(help: "Reconstruct only the first N showers.") var limit: Int?

  func run() throws {
    try reportingErrors {
      let n = try stage1Reconstruct(modelPath: model, dataPath: data, out: out, limit: limit)
      print("reconstructed \(n) showers -> \(out)")
    }
  }
}
