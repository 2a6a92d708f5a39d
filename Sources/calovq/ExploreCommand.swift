import ArgumentParser
import CaloGeometry
import CaloTUI
import Foundation

/// `calovq explore`: the terminal explorer, or with `--keys/--snapshot` a scripted render to a file.
struct ExploreCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "explore",
    abstract: "Explore showers in the terminal: heatmaps, profiles, metrics, codebook and tokens.",
    discussion: """
      Opens on sample-data/<dataset>.h5 (parameterised showers, not GEANT4) unless --reference is given. \
      Models come from sample-data/models/<dataset>-<global|layerwise>/ (stage1.safetensors + \
      stage2.safetensors) or --model DIR; where a dataset or normalisation has no model, `g` replays rows \
      of the reference file instead and the header says so. \
      Press ? inside for the keys. Non-interactive: --keys "g g n G" --snapshot out.txt [--ansi] [--size 100x30].
      """)

  @Option(help: "Dataset to open first: ds1-photon, ds1-pion, ds2, ds3 (default: ds1-photon, or the --reference file's).")
  var dataset: String?

  @Option(help: "CaloChallenge HDF5 file to use as the reference sample (fixes the dataset).")
  var reference: String?

  @Option(help: "Folder with the default reference files <dataset>.h5.")
  var sampleDir = "sample-data"

  @Option(help: ArgumentHelp("Model folder (stage1.safetensors + stage2.safetensors); opens its dataset and normalisation. "
                             + "Give it twice, a global and a layer-wise model of one dataset, to compare them with n.",
                             valueName: "dir"))
  var model: [String] = []

  @Option(help: "Folder with model folders <dataset>-global and <dataset>-layerwise (default: <sample-dir>/models).")
  var modelsDir: String?

  @Option(help: "Normalisation to open in: global or layerwise (default: --model's, else the one with a model).")
  var norm: String?

  @Option(help: "Incident energy to open at, in GeV (ds1 snaps to its 15 energies).")
  var energy: Double?

  @Option(help: "Colour theme name (a file themes/NAME.theme).")
  var theme = "viridis"

  @Option(help: "Folder with *.theme files (default: ./themes, then next to the executable).")
  var themesDir: String?

  @Option(help: "Colours to use: truecolor, 256, 16, 8 or none (default: what the terminal supports; NO_COLOR is honoured).")
  var colors: String?

  @Flag(help: "Draw without Unicode (ASCII glyphs only) for minimal terminals.")
  var ascii = false

  @Option(help: "Keys to play without a terminal, separated by spaces, e.g. \"g g n G\" (needs --snapshot).")
  var keys: String?

  @Option(help: "Write the final screen of --keys to this file as text.")
  var snapshot: String?

  @Flag(help: "With --snapshot: keep colours as ANSI escape sequences (depth from --colors, default 256).")
  var ansi = false

  @Option(help: "With --snapshot: screen size COLSxROWS (at least 80x24).")
  var size = "100x30"

  func run() throws {
    try reportingErrors {
      let env = ProcessInfo.processInfo.environment
      let requested = try colors.map { name -> ColorDepth in
        guard let d = ColorDepth(name: name) else {
          throw ValidationError("unknown --colors '\(name)'; use truecolor, 256, 16, 8 or none")
        }
        return d
      }
      let dir = ThemeLibrary.locate(explicit: themesDir, executablePath: CommandLine.arguments[0], environment: env)
      let themes: ThemeLibrary
      if let dir {
        themes = try ThemeLibrary(directory: dir)
      } else if theme == "viridis" {
        themes = .builtIn
      } else {
        throw ExplorerError.noThemes(searched: ["--themes-dir", "$CALOVQ_THEMES", "./themes", "next to calovq"])
      }
      let themeIndex = try themes.index(of: theme)

      let library = try ModelLibrary(modelsDir: modelsDir ?? (sampleDir as NSString).appendingPathComponent("models"),
                                     explicitModels: model)
      var paths: [DatasetKind: String] = [:]
      var datasets = DatasetKind.allCases
      var first = try dataset.map(parseDataset) ?? library.explicit?.kind ?? .ds1Photon
      if let e = library.explicit, e.kind != first {
        throw ValidationError("--model '\(e.directory)' is a \(e.kind.rawValue) model but the explorer opens "
          + "\(first.rawValue); drop --dataset or pick \(e.kind.rawValue)")
      }
      if let reference {
        let sample = try ReferenceSample(path: reference, expected: try dataset.map(parseDataset) ?? library.explicit?.kind)
        paths[sample.kind] = reference
        datasets = [sample.kind]
        first = sample.kind
      } else {
        for k in DatasetKind.allCases { paths[k] = (sampleDir as NSString).appendingPathComponent("\(k.rawValue).h5") }
      }
      let energyMeV = try energy.map { try EnergyScale(kind: first).typed(String($0)) }
      let normalisation: Normalisation
      switch norm?.lowercased() {
      case nil: normalisation = library.explicit?.normalisation ?? library.preferredNormalisation(for: first)
      case "global": normalisation = .global
      case "layerwise", "layer-wise": normalisation = .layerWise
      case let s?: throw ValidationError("unknown --norm '\(s)'; use global or layerwise")
      }
      let options = ExplorerOptions(
        datasets: datasets, dataset: first, energyMeV: energyMeV, normalisation: normalisation,
        worker: WorkerConfig(referencePaths: paths, sourceFactory: library.factory),
        themes: themes, themeIndex: themeIndex, ascii: ascii, colors: requested, environment: env,
        modelNormalisations: library.modelNormalisations(datasets))

      if keys != nil || snapshot != nil {
        guard let snapshot else { throw ValidationError("--keys needs --snapshot FILE to write the final screen to") }
        let script = try Key.parseScript(keys ?? "")
        let dims = size.lowercased().split(separator: "x").compactMap { Int($0) }
        guard dims.count == 2 else { throw ExplorerError.badSize(size) }
        guard dims[0] >= 80, dims[1] >= 24, dims[0] <= 1000, dims[1] <= 500 else {
          throw ExplorerError.terminalTooSmall(width: dims[0], height: dims[1])
        }
        let depth = ansi ? ColorDepth.resolve(terminal: .trueColor, requested: requested ?? .xterm256, environment: env)
          : .none
        let canvas = Explorer.script(options, keys: script, width: dims[0], height: dims[1], depth: depth)
        let text = ansi ? canvas.ansiText(depth: depth) : canvas.text()
        let tmp = snapshot + ".partial-\(getpid())"
        do {
          try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
          guard rename(tmp, snapshot) == 0 else { throw CocoaError(.fileWriteUnknown) }
        } catch {
          try? FileManager.default.removeItem(atPath: tmp)
          throw ValidationError("cannot write the snapshot to '\(snapshot)'; check the folder exists and is writable")
        }
        return
      }
      try Explorer.run(options)
    }
  }
}
