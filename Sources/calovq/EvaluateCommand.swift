import ArgumentParser
import CaloGeometry
import CaloPipeline
import Foundation

struct EvaluateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "evaluate",
    abstract: "CaloChallenge evaluation of generated showers against a reference file.",
    discussion: """
      Applies the dataset's voxel threshold to both files, then reports the separation power of every \
      CaloChallenge histogram (per layer: E_layer, EC eta/phi, width eta/phi; E_tot/E_inc; voxel energy; \
      ds1 per-energy E_tot/E_inc) and the Fréchet / kernel physics distances (FPD, KPD, x10^3). Both \
      files are streamed; the reference is read twice.
      """)

  @Argument(help: "Generated showers (CaloChallenge HDF5).")
  var generated: String

  @Argument(help: "Reference showers (CaloChallenge HDF5) of the same dataset.")
  var reference: String

  @Option(help: "Dataset (ds1-photon, ds1-pion, ds2, ds3); detected from the voxel count if omitted.")
  var dataset: String?

  @Option(help: "Also write the results as JSON to this file.")
  var json: String?

  @Option(help: "Write one SVG per histogram into this folder.")
  var plots: String?

  @Flag(help: "Skip FPD and KPD (faster; no feature vectors kept in memory).")
  var noFpd = false

  @Option(help: "Showers per read batch (default: about 25 MB per batch).")
  var batchSize: Int?

  func run() throws {
    let kind = try dataset.map(parseDataset)
    if let b = batchSize, b <= 0 { throw ValidationError("--batch-size must be positive, got \(b)") }
    // Check the output folder before a long evaluation rather than failing at the end.
    if let json {
      let d = (json as NSString).deletingLastPathComponent
      var isDir: ObjCBool = false
      if !d.isEmpty && !(FileManager.default.fileExists(atPath: d, isDirectory: &isDir) && isDir.boolValue) {
        throw ValidationError("--json: folder '\(d)' does not exist; create it or choose another path")
      }
    }
    try reportingErrors {
      var o = EvaluationOptions()
      o.dataset = kind
      o.distances = !noFpd
      o.batchSize = batchSize
      let result = try evaluate(generated: generated, reference: reference, options: o)
      print(result.report(), terminator: "")
      if let json {
        try writeEvaluationJSON(result, to: json)
        print("wrote \(json)")
      }
      if let plots {
        let paths = try writeHistogramPlots(result, to: plots)
        print("wrote \(paths.count) SVG histograms to \(plots)")
      }
    }
  }
}
