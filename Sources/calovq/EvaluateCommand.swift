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

      --classifier low|high|both adds the CaloChallenge classifier test: a 3x2048 DNN trained to tell \
      the files apart (low: log10 E_inc and all voxels / E_inc; high: the 30/46/362 high-level \
      features), reporting the calibrated validation AUC and JSD (0.5 and 0 = indistinguishable). \
      Both classes must be equally large: the larger file is subsampled at random. Splits are the \
      official 80k/20k/rest (ds1) or 60k/20k/rest (ds2, ds3) scaled to the showers used. Training \
      takes minutes (high level, 10k vs 10k ds1) to hours (low level, ds2/ds3); progress goes to stderr.
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

  @Option(help: "Classifier test: low, high or both (default: none).")
  var classifier: String?

  @Option(help: "Independent classifier runs; the report gives mean and population std.")
  var repeats = 1

  @Option(help: "Use at most this many showers per class in the classifier (random subset).")
  var classifierShowers: Int?

  @Option(help: "Seed of the classifier's row choice, splits, initialisation and batch order (run r: seed + r).")
  var classifierSeed: UInt64 = 1

  @Option(help: "Width of the classifier's hidden layers (the challenge uses 2048).")
  var classifierWidth = 2048

  @Option(help: "Maximum classifier training epochs (the challenge uses 50).")
  var classifierEpochs = 50

  @Flag(help: "No per-epoch classifier progress on stderr.")
  var quiet = false

  func run() throws {
    let kind = try dataset.map(parseDataset)
    if let b = batchSize, b <= 0 { throw ValidationError("--batch-size must be positive, got \(b)") }
    let modes: [ClassifierMode]
    switch classifier?.lowercased() {
    case nil: modes = []
    case "low", "cls-low": modes = [.low]
    case "high", "cls-high": modes = [.high]
    case "both", "all": modes = [.low, .high]
    case let other?: throw ValidationError("--classifier must be low, high or both, got '\(other)'")
    }
    if repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
    if let c = classifierShowers, c < 10 { throw ValidationError("--classifier-showers must be at least 10, got \(c)") }
    if classifierWidth < 1 { throw ValidationError("--classifier-width must be positive, got \(classifierWidth)") }
    if classifierEpochs < 1 { throw ValidationError("--classifier-epochs must be positive, got \(classifierEpochs)") }
    if modes.isEmpty && (repeats != 1 || classifierShowers != nil) {
      throw ValidationError("--repeats and --classifier-showers need --classifier low|high|both")
    }
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
      o.classifierModes = modes
      o.classifier.repeats = repeats
      o.classifier.maxShowersPerClass = classifierShowers
      o.classifier.seed = classifierSeed
      o.classifier.hidden = classifierWidth
      o.classifier.maxEpochs = classifierEpochs
      if !quiet {
        o.classifier.progress = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
      }
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
