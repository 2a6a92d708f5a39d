import ArgumentParser
import CaloPipeline

struct FitRSupportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fit-r-support",
    abstract: "Record which R digits the training showers use at each energy, for the sampler's R constraint.",
    discussion: """
      Tokenises the R values of training showers and stores, per bin of incident energy and per R value, \
      which leading digits occurred (an empty layer among them), in the model's stage2.safetensors. With the \
      R constraint on (--constrain-r, or {"constrainR": true} in the folder's sampling.json) the GPT then \
      draws no leading digit that training never showed near that energy, e.g. no empty layer in the middle \
      of a 50 GeV shower. With --empty-rates N it also fits, in N rounds of drawing the R tokens of \
      --empty-rate-showers showers, per-bin offsets of the logit of leading digit 0 so that the GPT, running \
      free, leaves each value empty (0) as often as the training showers do. Each bin's support is the union over it and --neighbours bins on each side. \
      Run it before pack-model and calibrate-sparsity (the calibration fits the showers the model then makes). \
      Example: calovq fit-r-support runs/ds3-layerwise/model --data cache/ds3-train.h5
      """)

  @Argument(help: "Model folder (stage1.safetensors + stage2.safetensors); its stage2.safetensors is rewritten.")
  var model: String
  @Option(help: "Training showers (CaloChallenge HDF5) of the model's dataset.") var data: String
  @Option(help: "Use the first N showers (default: all).") var count: Int?
  @Option(help: "Energy bins per factor 10.") var binsPerDecade: Int = 4
  @Option(help: "Bins on each side merged into a bin's support.") var neighbours: Int = 1
  @Option(help: "Also fit, in this many rounds, per-bin offsets of the logit of an empty value so that the GPT leaves values empty as often as the training showers (e.g. 6; 0: off).")
  var emptyRates: Int = 0
  @Option(help: "Showers the GPT draws per round of --empty-rates.") var emptyRateShowers: Int = 5000
  @Option(help: "Random seed of those draws.") var seed: UInt64 = 1

  func run() throws {
    try reportingErrors {
      let s = try fitRSupport(modelDirectory: model, dataPath: data, count: count, binsPerDecade: binsPerDecade,
                              neighbours: neighbours, emptyRateIterations: emptyRates, emptyRateShowers: emptyRateShowers,
                              seed: seed, log: { print($0) })
      let lo = s.support.logEnergyStart, hi = lo + Double(s.support.binCount) * s.support.binWidth
      print("R support from \(s.showers) showers: \(s.support.binCount) energy bins (log10 E/MeV \(fmt(lo))–\(fmt(hi))), "
        + "\(s.cells / s.support.binCount) values; leading digit 0 excluded in \(s.zeroExcluded) of \(s.cells) cells, "
        + "\(fmt(s.meanAllowedDigits)) leading digits allowed per cell on average")
      print("wrote \(model)/stage2.safetensors; the R constraint (--constrain-r or {\"constrainR\": true} in sampling.json) applies it")
    }
  }

  private func fmt(_ x: Double) -> String { String(format: "%.2f", x) }
}
