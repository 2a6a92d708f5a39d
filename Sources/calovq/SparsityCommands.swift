import ArgumentParser
import CaloModel
import CaloPipeline
import Foundation

/// `calovq calibrate-sparsity`: fits a spot-rounding table (SpotRounding.swift) on training showers.
struct CalibrateSparsityCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "calibrate-sparsity",
    abstract: "Fit a model's spot-rounding table so its showers are as sparse as the training data.",
    discussion: """
      The softmax decoders return showers with every voxel > 0. Spot rounding turns each voxel below a \
      threshold ε into a deposit (a spot) with probability x/ε, else 0; ε per energy bin and layer is \
      fitted so that the mean number of non-empty voxels matches the training showers. Unless \
      --no-widths, each layer is first raised to a power γ and rescaled to its energy (a softmax \
      temperature 1/γ), γ fitted so that the median RMS radius above the dataset's readout \
      threshold matches the training showers'. First of all (with --layer-scales) each layer of a \
      shower is multiplied by a fitted scale s and the shower rescaled to its energy, s fitted so that \
      the layer's typical share of the shower (at the middle of the training showers' non-empty ones) \
      matches the training showers' (a global model's softmax splits the energy between the layers \
      with a bias); with --layer-spreads a share x becomes ∝ s·p·(x/p)^b about the typical share p, b \
      fitted below and above p so that the share's 15th and 85th percentiles among the non-empty \
      showers match too (a decoder regresses to the mean). With --width-spreads each shower's γ in a \
      layer is γ·exp(ω·z), one normal z per shower, ω fitted so that the interquartile ratio of the \
      layer's RMS radius between showers matches the training showers' (the decoders' widths vary \
      too little), and γ of a layer whose training showers sit mostly (≥ half) in the innermost ring \
      is fitted at the middle of the others instead of the median. Before γ (with --radial-transport) each layer's energy is first moved \
      between rings, every angular column alike, by the monotone map of its mean radial profile onto the \
      training showers' (a ring the decoder leaves empty gets its share); then (unless --no-radial-weights) each layer's \
      radial bins are weighted so that its mean radial profile matches the training showers', since \
      the few deposits of a sparse layer land where the decoder puts its energy. With \
      --epsilon-energy-exponent κ a shower's ε in a layer is ε·(E_layer/MeV)^κ, so the number of \
      deposits grows with the layer's energy as slowly as in the data. The spots drawn in a layer \
      share the energy of its voxels below ε in random proportions (--equal-spot-sizes: equally; a \
      layer with such energy but no spot drawn gets one), so every layer keeps its decoded energy \
      exactly; --plain-spots gives each spot ε instead (expected energy kept per voxel). Between γ \
      and the rounding (unless --no-angular-spread) each voxel is multiplied by a lognormal factor of \
      spread σ and each ring rescaled to its energy, σ fitted so that the energy-weighted angular \
      variation of the rings matches the training showers' (the decoders make rings too symmetric). \
      Then (unless --no-centre-tilt) each layer's rings are multiplied by a random dipole \
      exp(τ(z₁ cos α + z₂ sin α)) and rescaled, τ fitted so that the mean distance of the layer's \
      centre of energy from the axis matches the training showers' (the decoders centre it too well). \
      Then (unless --no-single-deposits) a shower whose layer holds less than E_c gets that energy in \
      one voxel drawn ∝ its value, E_c fitted so that the share of layers with a single deposit \
      matches the training showers' (a MIP crossing a layer leaves one cell; the decoders spread it). \
      Then (unless --no-empty-layers) a shower whose layer holds less than E_0 gives that energy to its \
      other layers (the shower keeps its energy), E_0 fitted so that the share of layers reading out \
      empty (nothing at or above the readout threshold) matches the training showers' (a layer with any \
      energy always keeps a deposit otherwise). \
      Last (unless --no-random-rotation) each shower is turned about the axis by a random whole \
      number of angular bins, all layers alike, when the training showers are symmetric about the \
      axis (largest |z| of an angular bin's mean energy share ≤ 5; a decoder puts what it cannot \
      place, such as a MIP's angle, at the same few angles in every shower). \
      First of everything (with --total-energy-map) each shower is scaled as a whole so that the \
      distribution of E_tot/E_inc in its energy bin matches the training showers' (a quantile map of \
      the model's ratios onto the data's, 50 knots per bin, the model's ratio dithered over its R \
      level): the order of the showers stays, so R keeps its correlation with the codes. \
      Use training (or validation) showers here, never the evaluation reference. \
      With --model the model generates --count showers at the energies of the first --count rows of \
      --data and the table goes to MODEL/spot-rounding.json, which `calovq generate` and the explorer \
      then apply. With --dense FILE a file of dense showers (e.g. `calovq reconstruct` output) is fitted \
      against --data instead and --out is required.
      """)

  @Option(help: "Training showers (CaloChallenge HDF5) whose sparsity the model should match.") var data: String
  @Option(help: "Model folder; the table is written to MODEL/spot-rounding.json unless --out is given.") var model: String?
  @Option(help: "Dense showers to fit against --data instead of generating with --model.") var dense: String?
  @Option(help: "Showers to use from each side.") var count: Int = 10000
  @Option(help: "Random seed of the generated showers.") var seed: UInt64 = 1
  @Option(help: "Output JSON table.") var out: String?
  @Flag(name: .customLong("no-widths"), help: "Fit ε only (no per-layer exponents γ).") var noWidths = false
  @Flag(name: .customLong("plain-spots"),
        help: "Each spot holds ε (the tables of earlier versions) instead of a share of the layer's energy below ε.")
  var plainSpots = false
  @Option(help: "Largest exponent γ the width fit may choose (γ > 1 sharpens a layer).")
  var maxExponent: Double = SpotRoundingFit.defaultMaxExponent
  @Flag(name: .customLong("no-radial-weights"),
        help: "Do not reweight each layer's radial bins to the training showers' mean radial profile (tables before session 10).")
  var noRadialWeights = false
  @Option(help: "κ in [0, 1): each shower's ε scales with its layer energy^κ, so low-energy layers keep more, smaller deposits (0: one ε per energy bin and layer).")
  var epsilonEnergyExponent: Double = 0
  @Flag(name: .customLong("equal-spot-sizes"),
        help: "The spots of a layer share its energy below ε equally (tables before session 10) instead of in random proportions.")
  var equalSpotSizes = false
  @Flag(name: .customLong("no-angular-spread"),
        help: "Do not spread each ring's voxels by fitted lognormal factors (tables before session 11).")
  var noAngularSpread = false
  @Flag(name: .customLong("no-centre-tilt"),
        help: "Do not tilt each layer's rings by a fitted random dipole that moves its centre of energy (tables before session 12).")
  var noCentreTilt = false
  @Flag(name: .customLong("no-single-deposits"),
        help: "Do not collapse low-energy layers into one deposit (tables before session 12).")
  var noSingleDeposits = false
  @Flag(name: .customLong("no-random-rotation"),
        help: "Do not turn each shower about the axis by a random whole number of angular bins (tables before session 14).")
  var noRandomRotation = false
  @Flag(name: .customLong("no-empty-layers"),
        help: "Do not empty the layers that hold less than a fitted E_0 (tables before session 17).")
  var noEmptyLayers = false
  @Flag(name: .customLong("layer-scales"),
        help: "First scale each layer by a fitted factor, the shower keeping its energy, so each layer's typical share matches the training showers' (global models; off by default so earlier recipes refit the same tables).")
  var layerScales = false
  @Flag(name: .customLong("layer-spreads"),
        help: "With the layer scales, also fit exponents below and above each layer's typical share so the spread of the share matches the training showers' on both sides (implies --layer-scales).")
  var layerSpreads = false
  @Flag(name: .customLong("width-spreads"),
        help: "Spread each shower's layer exponents γ by exp(ω·z), one normal z per shower, ω fitted so the spread of the layer's RMS radius between showers matches the training showers'; a layer whose training showers sit mostly in the innermost ring gets γ fitted at the middle of the others.")
  var widthSpreads = false
  @Flag(name: .customLong("total-energy-map"),
        help: "First scale each shower as a whole by a quantile map of E_tot/E_inc fitted per energy bin, so its distribution matches the training showers' (the GPT's R spread; off by default so earlier recipes refit the same tables).")
  var totalEnergyMap = false
  @Flag(name: .customLong("radial-transport"),
        help: "Before the radial weights, move each layer's energy between rings (every angular column alike) by the monotone map of its mean radial profile onto the training showers', so rings the decoder leaves empty get their share.")
  var radialTransport = false

  func run() throws {
    try reportingErrors {
      guard (model == nil) != (dense == nil) else { throw CLIError.badArgument("give either --model DIR or --dense FILE") }
      guard count >= 1 else { throw CLIError.badArgument("--count must be ≥ 1") }
      guard epsilonEnergyExponent >= 0 && epsilonEnergyExponent < 1 else {
        throw CLIError.badArgument("--epsilon-energy-exponent must be in [0, 1)")
      }
      guard maxExponent > 0.3 && maxExponent <= 50 else { throw CLIError.badArgument("--max-exponent must be in (0.3, 50]") }
      let options = SpotRoundingFitOptions(exponents: !noWidths, conservingLayerEnergy: !plainSpots, maxExponent: maxExponent,
                                           radialWeights: !noRadialWeights, epsilonEnergyExponent: epsilonEnergyExponent,
                                           randomSpotSizes: !equalSpotSizes, angularSpreads: !noAngularSpread,
                                           centreTilts: !noCentreTilt, singleDeposits: !noSingleDeposits,
                                           randomRotation: !noRandomRotation, emptyLayers: !noEmptyLayers,
                                           layerScales: layerScales || layerSpreads, layerSpreads: layerSpreads,
                                           widthSpreads: widthSpreads, totalEnergyMap: totalEnergyMap,
                                           radialTransport: radialTransport)
      let cal: SpotRoundingCalibration
      let path: String
      if let model {
        path = out ?? model + "/" + modelSpotRoundingFileName
        cal = try calibrateSpotRounding(modelDirectory: model, dataPath: data, count: count, seed: seed, options: options)
      } else {
        guard let out else { throw CLIError.badArgument("--dense needs --out FILE for the table") }
        path = out
        cal = try calibrateSpotRounding(densePath: dense!, targetPath: data, limit: count, options: options)
      }
      try cal.table.save(to: path)
      print(describe(cal))
      print("wrote \(path)")
    }
  }

  /// Per layer: non-empty voxels per shower in the data, in the dense output, and ε (MeV), each for
  /// every energy bin that has showers.
  func describe(_ c: SpotRoundingCalibration) -> String {
    let t = c.table, g = t.dataset.geometry
    var lines = ["\(t.dataset.rawValue): \(c.showers) showers per side; per energy bin: non-empty voxels per shower "
      + "(data / dense) and the fitted ε in MeV"]
    for b in 0..<t.binCount where !c.targetOccupancy[b][0].isNaN {
      let e = pow(10, 0.5 * (t.log10EnergyEdges[b] + t.log10EnergyEdges[b + 1]))
      var cells: [String] = []
      for l in g.relevantLayerIndices {
        cells.append(String(format: "L%d %.0f/%.0f ε %.3g γ %.2f", g.layers[l].id, c.targetOccupancy[b][l], c.denseOccupancy[b][l],
                            t.thresholdsMeV[b][l], t.exponents?[b][l] ?? 1)
                     + (t.angularSpreads.map { String(format: " σ %.2f", $0[b][l]) } ?? "")
                     + (t.centreTilts.map { String(format: " τ %.2f", $0[b][l]) } ?? "")
                     + (t.singleDepositBelowMeV.map { $0[b][l] > 0 ? String(format: " 1× below %.3g", $0[b][l]) : "" } ?? "")
                     + (t.emptyBelowMeV.map { $0[b][l] > 0 ? String(format: " 0 below %.3g", $0[b][l]) : "" } ?? ""))
        let scale = t.layerScales.map { String(format: " s %.3g", $0[b][l]) } ?? ""
        let spread = t.layerSpreads(bin: b).map { String(format: " b %.2f/%.2f", $0.below[l], $0.above[l]) } ?? ""
        let omega = t.widthSpreads.map { $0[b][l] > 0 ? String(format: " ω %.2f", $0[b][l]) : "" } ?? ""
        cells[cells.count - 1] += scale + spread + omega
      }
      var total = ""
      if let d = t.totalRatioDense?[b], let q = t.totalRatioTarget?[b], d.count >= 2 {
        // The middle knot and the spread between the knots nearest the 16th and 84th percentiles.
        let m = d.count / 2, lo = Int(0.16 * Double(d.count)), hi = Int(0.84 * Double(d.count))
        total = String(format: "E_tot/E_inc %.4f→%.4f, 16–84 %% width %.4f→%.4f | ", d[m], q[m], d[hi] - d[lo], q[hi] - q[lo])
      }
      lines.append(String(format: "  %9.0f MeV: ", e) + total + cells.joined(separator: " | "))
    }
    let z = String(format: "%.2f", c.angularAsymmetry)
    lines.append(t.randomRotation == true
      ? "turns each shower about the axis at random (training showers symmetric: largest |z| \(z) ≤ \(SpotRoundingFit.symmetryLimit))"
      : "showers are not turned (" + (noRandomRotation ? "--no-random-rotation" : "training showers not symmetric about the axis: largest |z| \(z) > \(SpotRoundingFit.symmetryLimit)") + ")")
    return lines.joined(separator: "\n")
  }
}

/// `calovq spot-round IN --table T --out OUT`: applies a spot-rounding table to any shower file.
struct SpotRoundCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "spot-round",
    abstract: "Apply a spot-rounding table (from calibrate-sparsity) to a CaloChallenge file, e.g. reconstructions.")

  @Argument(help: "Showers (CaloChallenge HDF5) of the table's dataset.") var input: String
  @Option(help: "Spot-rounding table (JSON, or a model folder holding spot-rounding.json).") var table: String
  @Option(help: "Random seed.") var seed: UInt64 = 1
  @Option(help: "Output CaloChallenge HDF5 file.") var out: String

  func run() throws {
    try reportingErrors {
      var isDir: ObjCBool = false
      let path = FileManager.default.fileExists(atPath: table, isDirectory: &isDir) && isDir.boolValue
        ? table + "/" + modelSpotRoundingFileName : table
      let t = try SpotRoundingTable.load(from: path)
      let n = try spotRoundFile(inputPath: input, table: t, seed: seed, outPath: out)
      print("spot-rounded \(n) showers -> \(out)")
    }
  }
}
