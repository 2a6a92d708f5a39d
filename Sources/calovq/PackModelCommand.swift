import ArgumentParser
import CaloPipeline

struct PackModelCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pack-model",
    abstract: "Copy a model folder with both stages in float16 (half the size), e.g. into sample-data/models/.",
    discussion: """
      Writes OUT/stage1.safetensors and OUT/stage2.safetensors in float16 and copies sampling.json and spot-rounding.json. \
      Rounding to half precision changes the showers slightly: evaluate the packed folder, not the source. \
      Example: calovq pack-model runs/ds1-photon-layerwise/model --out sample-data/models/ds1-photon-layerwise
      """)

  @Argument(help: "Trained model folder (stage1.safetensors + stage2.safetensors).") var model: String
  @Option(help: "Destination folder (created if missing).") var out: String

  func run() throws {
    try reportingErrors {
      let s = try packModelDirectory(from: model, to: out)
      print("packed \(model) → \(out): stage1 \(s.stage1Bytes) bytes, stage2 \(s.stage2Bytes) bytes (float16)"
        + (s.hasSampling ? ", sampling.json copied" : "") + (s.hasSpotRounding ? ", spot-rounding.json copied" : ""))
    }
  }
}
