// Spot rounding: the sparsity post-processing of generated showers.
//
// Why: the ds1 and ds2 decoders end in a softmax, so every voxel of a generated shower is > 0. Real
// (and simulated) showers are sparse: energy arrives in discrete deposits and most voxels hold none.
// A dense decoder spreads a thin floor over the whole layer; the evaluation's readout cut (ds1: 1 MeV)
// then deletes that floor, and with it a large share of the energy at low incident energies, leaving a
// core that is too narrow (measured in Sources/CaloModel/README.md, "What limits the centres and
// widths"). Spot rounding turns each voxel below a threshold ε into either ε or 0, with probability
// x/ε of ε: every voxel keeps its expected energy exactly, but the floor becomes a few deposits of
// size ε, as in the data. ε is fitted per (incident-energy bin, layer) on *training* showers so that
// the mean number of non-empty voxels matches theirs (`SpotRoundingFit`).
//
// The dense decoders also make the layer's core too narrow (an L1-trained decoder returns the
// per-voxel median, which is 0 where the data's deposits are sporadic). Optionally the table also
// holds an exponent γ per (bin, layer): before rounding, the layer's voxels become x^γ rescaled to
// the same layer energy — a softmax temperature 1/γ on the decoder's logits. γ is fitted so that the
// median RMS radius of the layer, over voxels at or above the dataset's readout threshold (ds1 1 MeV,
// ds2/ds3 15.15 keV), matches the training showers'. Both fits use training showers only.
//
// Plain rounding keeps each voxel's expected energy but adds variance to the layer's total: in a layer
// whose energy is mostly floor (ds2's first and last layers, tens of voxels of ε ≈ 20–40 MeV), the
// layer energy becomes a multiple of ε, and the per-layer energy separation that layer-wise R tokens
// get right is lost (ds2 layer-wise reconstruction: E_layer median/worst 0.0048/0.043 dense,
// 0.063/0.30 rounded). With `conservesLayerEnergy` the spots drawn in a layer share the floor's energy
// (the sum of its voxels below ε) equally instead of holding ε each, and a layer with floor energy that
// draws no spot gets one, chosen with probability ∝ x: every layer keeps its decoded energy exactly,
// and a layer that holds energy has at least one deposit, as in the data. The ε fit counts that extra
// spot in its expected occupancy.
//
// Three refinements for sparse layers (session 10; measured in Sources/CaloModel/README.md): radial
// weights bring each layer's mean radial profile to the training showers' before γ (the decoders'
// profile has gaps and spikes where deposits are sporadic, and the few deposits land where x is);
// κ scales a shower's ε with its layer energy^κ (the data's deposit count grows more slowly than
// linearly with the layer's energy); random spot sizes split the floor in exponential proportions
// instead of equally (equal spots make a ring of deposits symmetric, and its width constant).
//
// A fourth (session 11): angular spread. Where a ring's voxels are all above ε they are not rounded,
// and the decoder's near-equal values make the ring symmetric in every shower (ds2 layer-wise, layer 2
// above 100 GeV: the 16 voxels of the innermost ring vary by 5 % around their mean against the data's
// 92 %), so the η/φ widths barely fluctuate. Each voxel is multiplied by a lognormal factor of spread σ
// fitted per (bin, layer), and each ring rescaled to its energy: the radial profile and layer energy stay.
//
// A fifth (session 12): centre tilt. A hadron shower's deposits are clumpy, so its centre of energy
// wanders off the axis, while the decoder's output stays centred (ds1-pion layer 13: the η centre's
// standard deviation 34.8 mm in the data, 12.5 mm generated). Each layer's rings are multiplied by a
// random dipole exp(τ(z₁ cos α + z₂ sin α)) and rescaled to their energies, τ fitted per (bin, layer) so
// that the mean distance of the centre from the axis matches the training showers'.
//
// An eighth (session 17): empty layers. A softmax over the whole shower never leaves a layer with
// nothing, and the conserving rounding then keeps a deposit there, while the data's deep layers are
// often empty (a shower that stopped early). A layer below a fitted E_0 hands its energy to the
// shower's other layers, so the shower keeps its energy and as many layers read out empty as in the
// training showers. (The sixth and seventh, single deposits and the random rotation, are described at
// their table fields below.)
import CaloGeometry
import CaloTensor
import Foundation

/// Thresholds ε (MeV) and exponents γ per incident-energy bin and layer, applied by `apply`.
/// Stored as `spot-rounding.json` in a model folder.
public struct SpotRoundingTable: Codable, Equatable, Sendable {
  /// The dataset the table was fitted for.
  public var dataset: DatasetKind
  /// Bin edges in log10(E_inc / MeV), ascending; bins = edges.count − 1. Energies outside the range
  /// use the first or last bin.
  public var log10EnergyEdges: [Double]
  /// ε in MeV, [bin][layer] over all layers of the geometry (0 = no rounding in that layer).
  public var thresholdsMeV: [[Double]]
  /// γ, [bin][layer] (1 = the layer's shape as decoded); nil = 1 everywhere.
  public var exponents: [[Double]]?
  /// The spots of a layer share the energy of the voxels below ε, so the layer keeps its energy (nil or
  /// false: each spot holds ε, the behaviour of tables written before this field existed).
  public var conservesLayerEnergy: Bool?
  /// Radial weights, [bin][layer][radial bin] (nR of the layer, 0 values for a layer without
  /// voxels): before γ, each voxel is multiplied by its radial bin's weight and the layer rescaled to
  /// its energy. nil = no reweighting (tables written before this field existed).
  public var radialWeights: [[[Double]]]?
  /// κ: a shower's threshold in a layer is ε · (E_layer / MeV)^κ, so ε is then in MeV^(1−κ) (nil or 0:
  /// ε in MeV, the same for every shower of the bin). Why: with one ε the number of deposits grows
  /// linearly with the layer's energy, while in the data it grows more slowly (ds2 layer 1, 5–20 GeV:
  /// 2.7 deposits at 10 MeV, 10.1 at 243 MeV), so a fixed ε gives the low-energy layers a single
  /// deposit — width 0 — far more often than the data does.
  public var epsilonEnergyExponent: Double?
  /// With `conservesLayerEnergy`: the spots of a layer split its floor energy in random proportions
  /// (independent exponential weights, i.e. a uniformly random split) instead of equally (nil or false).
  /// Why: equal spots make a layer whose floor is spread over a ring of angles perfectly symmetric, so its
  /// η/φ width is the ring's geometric one in almost every shower (ds2 layer-wise, layer 2: median width
  /// 1.65 mm, interquartile range 1.62–1.91, against the data's 1.81, 1.49–2.56; the largest deposit of
  /// the innermost ring holds a median 8 % of its energy against the data's 27 %).
  public var randomSpotSizes: Bool?
  /// σ, [bin][layer]: after γ and before rounding, each voxel of the layer is multiplied by
  /// exp(σ·z − σ²/2), z ~ N(0, 1) (a lognormal factor of mean 1), and each ring rescaled to its old sum,
  /// so only the angular distribution changes (0 = unchanged; nil = 0 everywhere, tables written before
  /// this field existed). The factors come from their own stream (`angularSpreadSeed`), so the rounding
  /// draws the same uniforms as without them.
  public var angularSpreads: [[Double]]?
  /// τ, [bin][layer]: after σ and before rounding, each voxel of an angular layer is multiplied by
  /// exp(τ·(z₁ cos α + z₂ sin α)), α its angular bin's centre and z₁, z₂ ~ N(0, 1) drawn once per shower
  /// and layer, and each ring rescaled to its old sum: a random dipole that moves the layer's centre of
  /// energy off the axis while its radial profile and energy stay (0 = unchanged; nil = 0 everywhere,
  /// tables written before this field existed). Why: a hadron shower's deposits are clumpy, so its
  /// centre of energy wanders, while the decoder's smooth output is nearly centred (ds1-pion layer 13:
  /// standard deviation of the η centre 34.8 mm in the data, 12.5 mm generated, runs/pi3). The two
  /// normals per layer come from their own stream (`centreTiltSeed`).
  public var centreTilts: [[Double]]?
  /// E_c in MeV, [bin][layer]: after τ and before rounding, a shower whose layer holds less than E_c
  /// (and more than 0) gets the layer's whole energy in one voxel, drawn with probability ∝ its value
  /// (0 = never; nil = 0 everywhere, tables written before this field existed). Why: a charged pion
  /// that has not yet showered crosses the first layers as a MIP and leaves its few MeV in one cell,
  /// while the decoder spreads that energy over the layer and the rounding keeps several deposits
  /// (ds1-pion, runs/pi4: one non-empty voxel in layer 1 in 73 % of the data's showers, 33 % of the
  /// generated ones; layer 2 41 % against 12 %), so the η/φ widths, 0 for one voxel, come out too
  /// large. The uniforms come from their own stream (`singleDepositSeed`).
  public var singleDepositBelowMeV: [[Double]]?
  /// After everything else, each shower is turned about the axis by a whole number k of angular bins,
  /// k drawn uniformly from 0..<A (A the largest angular bin count of the geometry; one uniform from its
  /// own stream, `rotationSeed`), every angular layer by the same angle (a layer of nA bins by
  /// ⌊k·nA/A⌋ bins). nil or false: not turned (tables written before this field existed). Why: a
  /// decoder that cannot tell where around the axis a MIP crossed puts it at the same few angles in
  /// every shower (ds1-pion global, runs/pig-w3: angular bins 4 and 5 hold 64 % of layer 1's innermost
  /// ring in its reconstructions, about 10 % each in the data), so the centres of energy cluster there.
  /// A turn of the whole shower keeps its shape and the correlations between its layers; the fit
  /// writes this only when the training showers are symmetric about the axis
  /// (`SpotRoundingFit.angularAsymmetry`).
  public var randomRotation: Bool?
  /// E_0 in MeV, [bin][layer]: after E_c and before rounding, a shower whose layer holds less than E_0
  /// gives that energy to its other layers (each scaled by the same factor, so the shower keeps its
  /// energy) and the layer reads out empty (0 = never; nil = 0 everywhere, tables written before this
  /// field existed). No random numbers: the other streams stay where they were. Why: a softmax over
  /// the whole shower (global normalisation) never puts exactly nothing in a layer, and the
  /// layer-conserving rounding then gives that layer a deposit, while the data's deep layers are often
  /// empty: a shower that stops early does not reach them (ds2 global after 3 stage-1 epochs, the
  /// calibrated reconstruction of 5,000 validation showers: layer 44 empty in 68 % of the data's
  /// showers and in none of the model's, which hold a median 1.4·10⁻³ of the shower there).
  public var emptyBelowMeV: [[Double]]?
  /// s, [bin][layer]: before everything else, each layer of a shower is multiplied by its s and the
  /// whole shower then by one factor that gives it back its energy, so only the split of the energy
  /// between the layers moves (nil = 1 everywhere, tables written before this field existed). No random
  /// numbers. A per-layer energy scale, like a calorimeter's per-layer calibration constant: it moves
  /// a layer's typical share of the shower, not the spread of that share. Why: with one R per shower
  /// (global normalisation) the decoder's softmax splits the energy between the layers, and it does so
  /// with a bias that no later step touches (ds2 global, session 17: the reconstruction with the true R
  /// put a median share of the shower in layer 0 half the data's, the worst per-layer energy line).
  public var layerScales: [[Double]]?
  /// The share p at which `layerScales` holds, [bin][layer], with `layerExponentsBelow` and
  /// `layerExponentsAbove` (b₋, b₊): a layer holding a share x of the shower is multiplied by
  /// s · (x/p)^(b − 1), b = b₋ below p and b₊ above, so its share becomes ∝ s·p·(x/p)^b; b > 1 widens
  /// the spread of the share on that side of p, b < 1 narrows it (nil: a plain scale s). Why: a
  /// decoder regresses to the mean, so its layer shares vary less from shower to shower than the
  /// data's, and not evenly (ds2 global reconstruction, session 18, layer 0 at 180 GeV – 1 TeV: the
  /// non-empty shares' 10th–50th percentiles span 0.35 decades against the data's 1.64, the 50th–90th
  /// 1.01 against 1.08).
  public var layerPivotShares: [[Double]]?
  public var layerExponentsBelow: [[Double]]?
  public var layerExponentsAbove: [[Double]]?
  /// ω, [bin][layer], with `exponents`: a shower's γ in the layer is γ·exp(ω·z), z ~ N(0, 1) drawn
  /// once per shower for all its layers from its own stream (`widthSpreadSeed`), so the layer's width
  /// varies from shower to shower about the width γ gives (0 = one γ; nil = 0 everywhere, tables
  /// written before this field existed). Why: the decoder's widths vary less than the data's (ds2
  /// global reconstruction, session 18, layer 6: the interquartile range of the η width 2.44–2.86 mm
  /// against the data's 2.17–3.24 at the same median); one z per shower keeps a wide shower wide in
  /// every layer.
  public var widthSpreads: [[Double]]?
  /// The E_tot/E_inc map, [bin][K] each: the model's (dense) and the training showers' E_tot/E_inc at
  /// the levels (k + ½)/K, k = 0…K−1. First of all, a shower whose total is r·E_inc, dithered to
  /// r + u·`totalRatioDither` (u uniform in [0, 1) from its own stream, `totalMapSeed`), is scaled
  /// as a whole to t(F(r))·E_inc, F the piecewise-linear level of r among the dense knots and t the
  /// target's quantile at that level (beyond the end knots: the end knots' ratio). So the spread of
  /// E_tot/E_inc in each energy bin becomes the training showers' while the order of the showers,
  /// and with it R's correlation with the codes the GPT drew after it, stays. nil: off; an empty row:
  /// that bin unchanged. Why: the GPT learns R's distribution last (ds2 global, session 18: from
  /// 178 GeV up the standard deviation of E_tot/E_inc 0.023 against the data's 0.008).
  public var totalRatioDense: [[Double]]?
  public var totalRatioTarget: [[Double]]?
  /// Width of the dither added to r before the map: one R level of a global model's linear quantiser
  /// (rMax / 2^bits), whose decoded value is its level's lower edge, so the dithered r spreads over the
  /// level instead of piling onto one value (nil: 0).
  public var totalRatioDither: Double?
  /// The radial transport, [bin][layer][nR + 1] each: the cumulative mean radial profile of the model's
  /// (dense) layer and of the training showers' at the ring edges (0 … 1). Before the radial weights,
  /// each angular column of the layer moves its energy between rings by the monotone map that turns
  /// the first profile into the second: ring j's energy goes to ring k in proportion to the overlap of
  /// their cumulative intervals (a ring the model leaves empty keeps what little it has). The layer
  /// keeps its energy and each column its own. nil: off. Why: the radial weights only scale rings, so
  /// a ring the decoder leaves (nearly) empty stays empty (ds3 global, session 19: the reconstruction
  /// put 0 % of layers 1, 3, 5 … into the innermost ring, where the data put 86–88 %, and the core one
  /// ring out, so its centres and widths there were 0.24–0.40 apart from the data's).
  public var radialTransportDense: [[[Double]]]?
  public var radialTransportTarget: [[[Double]]]?

  public init(dataset: DatasetKind, log10EnergyEdges: [Double], thresholdsMeV: [[Double]], exponents: [[Double]]? = nil,
              conservesLayerEnergy: Bool? = nil, radialWeights: [[[Double]]]? = nil, epsilonEnergyExponent: Double? = nil,
              randomSpotSizes: Bool? = nil, angularSpreads: [[Double]]? = nil, centreTilts: [[Double]]? = nil,
              singleDepositBelowMeV: [[Double]]? = nil, randomRotation: Bool? = nil, emptyBelowMeV: [[Double]]? = nil,
              layerScales: [[Double]]? = nil, layerPivotShares: [[Double]]? = nil,
              layerExponentsBelow: [[Double]]? = nil, layerExponentsAbove: [[Double]]? = nil,
              widthSpreads: [[Double]]? = nil, totalRatioDense: [[Double]]? = nil,
              totalRatioTarget: [[Double]]? = nil, totalRatioDither: Double? = nil,
              radialTransportDense: [[[Double]]]? = nil, radialTransportTarget: [[[Double]]]? = nil) {
    self.dataset = dataset
    self.log10EnergyEdges = log10EnergyEdges
    self.thresholdsMeV = thresholdsMeV
    self.exponents = exponents
    self.conservesLayerEnergy = conservesLayerEnergy
    self.radialWeights = radialWeights
    self.epsilonEnergyExponent = epsilonEnergyExponent
    self.randomSpotSizes = randomSpotSizes
    self.angularSpreads = angularSpreads
    self.centreTilts = centreTilts
    self.singleDepositBelowMeV = singleDepositBelowMeV
    self.randomRotation = randomRotation
    self.emptyBelowMeV = emptyBelowMeV
    self.layerScales = layerScales
    self.layerPivotShares = layerPivotShares
    self.layerExponentsBelow = layerExponentsBelow
    self.layerExponentsAbove = layerExponentsAbove
    self.widthSpreads = widthSpreads
    self.totalRatioDense = totalRatioDense
    self.totalRatioTarget = totalRatioTarget
    self.totalRatioDither = totalRatioDither
    self.radialTransportDense = radialTransportDense
    self.radialTransportTarget = radialTransportTarget
  }

  public var binCount: Int { log10EnergyEdges.count - 1 }

  /// The default binning of a dataset: ds1 one bin per discrete energy 2^8…2^22 MeV (edges halfway
  /// in log), ds2/ds3 twelve quarter-decade bins over 1 GeV–1 TeV.
  public static func defaultEdges(for kind: DatasetKind) -> [Double] {
    if kind.isDS1 {
      let step = Foundation.log10(2.0)
      return (0...15).map { (Double($0) + 7.5) * step }
    }
    return (0...12).map { 3 + Double($0) * 0.25 }
  }

  /// The bin of incident energy `e` (MeV), clamped to the table's range.
  public func bin(of e: Double) -> Int {
    let x = Foundation.log10(max(e, 1e-30))
    var b = 0
    while b + 1 < binCount && x >= log10EnergyEdges[b + 1] { b += 1 }
    return b
  }

  /// Checks shapes and values; a table read from disk goes through this before use.
  public func validate() throws {
    let g = dataset.geometry, layers = g.layers.count
    guard binCount >= 1, zip(log10EnergyEdges, log10EnergyEdges.dropFirst()).allSatisfy({ $0 < $1 }),
          log10EnergyEdges.allSatisfy(\.isFinite) else {
      throw SpotRoundingError("log10EnergyEdges must be at least two finite, increasing numbers")
    }
    /// A [bin][layer] field, when present: `binCount` rows of one value per layer, each finite and
    /// passing `valid` (else "NAME must be RULE"); `valid` nil checks the shape only.
    func check(_ name: String, _ values: [[Double]]?, _ rule: String = "", _ valid: ((Double) -> Bool)? = nil) throws {
      guard let values else { return }
      guard values.count == binCount, values.allSatisfy({ $0.count == layers }) else {
        throw SpotRoundingError("\(name) must be \(binCount) rows (energy bins) of \(layers) values (the layers of \(dataset.rawValue))")
      }
      if let valid, !values.allSatisfy({ $0.allSatisfy { $0.isFinite && valid($0) } }) {
        throw SpotRoundingError("\(name) must be \(rule)")
      }
    }
    try check("thresholdsMeV", thresholdsMeV, "finite and ≥ 0") { $0 >= 0 }
    try check("exponents", exponents, "in (0, 10]") { $0 > 0 && $0 <= 10 }
    if let radialWeights {
      guard radialWeights.count == binCount,
            radialWeights.allSatisfy({ $0.count == layers && zip($0, g.layers).allSatisfy { $0.count == $1.nR } }) else {
        throw SpotRoundingError("radialWeights must be \(binCount) rows (energy bins) of \(layers) layers, each with one weight per radial bin of \(dataset.rawValue)")
      }
      guard radialWeights.allSatisfy({ $0.allSatisfy { $0.allSatisfy { $0.isFinite && $0 > 0 } } }) else {
        throw SpotRoundingError("radialWeights must be finite and > 0")
      }
    }
    if let k = epsilonEnergyExponent, !(k >= 0 && k < 1) {
      throw SpotRoundingError("epsilonEnergyExponent must be in [0, 1)")
    }
    try check("angularSpreads", angularSpreads, "in [0, \(Self.maxAngularSpread)]") { $0 >= 0 && $0 <= Self.maxAngularSpread }
    try check("centreTilts", centreTilts, "in [0, \(Self.maxCentreTilt)]") { $0 >= 0 && $0 <= Self.maxCentreTilt }
    try check("singleDepositBelowMeV", singleDepositBelowMeV, "finite and ≥ 0") { $0 >= 0 }
    try check("emptyBelowMeV", emptyBelowMeV, "finite and ≥ 0") { $0 >= 0 }
    try check("layerScales", layerScales, "finite and > 0") { $0 > 0 }
    if widthSpreads != nil && exponents == nil { throw SpotRoundingError("widthSpreads need exponents") }
    try check("widthSpreads", widthSpreads, "in [0, \(Self.maxWidthSpread)]") { $0 >= 0 && $0 <= Self.maxWidthSpread }
    let spreads = [("layerPivotShares", layerPivotShares), ("layerExponentsBelow", layerExponentsBelow),
                   ("layerExponentsAbove", layerExponentsAbove)]
    if spreads.contains(where: { $0.1 != nil }) {
      guard layerScales != nil, spreads.allSatisfy({ $0.1 != nil }) else {
        throw SpotRoundingError("layerPivotShares, layerExponentsBelow and layerExponentsAbove go together, with layerScales")
      }
      for (name, values) in spreads { try check(name, values) }
      guard layerPivotShares!.allSatisfy({ $0.allSatisfy { $0.isFinite && $0 > 0 && $0 <= 1 } }) else {
        throw SpotRoundingError("layerPivotShares must be in (0, 1]")
      }
      let r = Self.layerExponentRange
      guard (layerExponentsBelow! + layerExponentsAbove!).allSatisfy({ $0.allSatisfy { $0.isFinite && r.contains($0) } }) else {
        throw SpotRoundingError("layerExponentsBelow and layerExponentsAbove must be in [\(r.lowerBound), \(r.upperBound)]")
      }
    }
    try validateTotalMap()
    try validateRadialTransport()
  }

  /// Checks the E_tot/E_inc map: both knot fields or neither, one row per bin, each row empty in both
  /// or of the same length ≥ 2 in both, finite, > 0 and non-decreasing; the dither finite and ≥ 0.
  func validateTotalMap() throws {
    if let d = totalRatioDither, !(d.isFinite && d >= 0) { throw SpotRoundingError("totalRatioDither must be finite and ≥ 0") }
    guard totalRatioDense != nil || totalRatioTarget != nil else { return }
    guard let dense = totalRatioDense, let target = totalRatioTarget else {
      throw SpotRoundingError("totalRatioDense and totalRatioTarget go together")
    }
    guard dense.count == binCount, target.count == binCount,
          zip(dense, target).allSatisfy({ $0.count == $1.count && ($0.isEmpty || $0.count >= 2) }) else {
      throw SpotRoundingError("totalRatioDense and totalRatioTarget must be \(binCount) rows (energy bins) each, "
        + "a row empty in both or of the same length ≥ 2 in both")
    }
    for row in dense + target {
      guard row.allSatisfy({ $0.isFinite && $0 > 0 }), zip(row, row.dropFirst()).allSatisfy({ $0 <= $1 }) else {
        throw SpotRoundingError("totalRatioDense and totalRatioTarget must be finite, > 0 and non-decreasing along each row")
      }
    }
  }

  /// Checks the radial transport: both fields or neither, [bin][layer][nR + 1], each row finite,
  /// non-decreasing, from 0 to 1 ([0] for a placeholder layer without voxels).
  func validateRadialTransport() throws {
    guard radialTransportDense != nil || radialTransportTarget != nil else { return }
    guard let dense = radialTransportDense, let target = radialTransportTarget else {
      throw SpotRoundingError("radialTransportDense and radialTransportTarget go together")
    }
    let g = dataset.geometry
    for f in [dense, target] {
      guard f.count == binCount, f.allSatisfy({ $0.count == g.layers.count && zip($0, g.layers).allSatisfy { $0.count == $1.nR + 1 } }) else {
        throw SpotRoundingError("radialTransportDense and radialTransportTarget must be \(binCount) rows (energy bins) of "
          + "\(g.layers.count) layers, each with one value per ring edge (radial bins + 1) of \(dataset.rawValue)")
      }
      for row in f.joined() where row.count > 1 || row.first != 0 {
        guard row.count > 1, row.allSatisfy(\.isFinite), zip(row, row.dropFirst()).allSatisfy({ $0 <= $1 }),
              abs(row.first!) < 1e-9, abs(row.last! - 1) < 1e-6 else {
          throw SpotRoundingError("radialTransportDense and radialTransportTarget must rise from 0 to 1 along each layer's ring edges")
        }
      }
    }
  }

  /// The transport matrix of one layer, (nR × nR) row-major: row j says which share of ring j's energy
  /// goes to each ring k, the overlap of [d_j, d_j+1] with [t_k, t_k+1] over d_j+1 − d_j; a ring of
  /// zero width in `d` keeps its energy. Every row sums to 1.
  static func transportMatrix(dense d: [Double], target t: [Double]) -> [Double] {
    let nR = d.count - 1
    var m = [Double](repeating: 0, count: nR * nR)
    for j in 0..<nR {
      let width = d[j + 1] - d[j]
      guard width > 1e-12 else { m[j * nR + j] = 1; continue }
      var sum = 0.0
      for k in 0..<nR {
        let overlap = Swift.min(d[j + 1], t[k + 1]) - Swift.max(d[j], t[k])
        if overlap > 0 { m[j * nR + k] = overlap / width; sum += overlap / width }
      }
      // Rounding can leave a row a hair off 1: renormalise so the layer keeps its energy exactly.
      if sum > 0 { for k in 0..<nR { m[j * nR + k] /= sum } } else { m[j * nR + j] = 1 }
    }
    return m
  }

  /// Moves the energy of every angular column of layer `range` (voxels α·nR + r) between rings by `matrix`.
  static func transport(_ buf: UnsafeMutableBufferPointer<Float>, _ range: Range<Int>, nR: Int, matrix m: [Double]) {
    var y = [Double](repeating: 0, count: nR)
    for start in stride(from: range.lowerBound, to: range.upperBound, by: nR) {
      for k in 0..<nR { y[k] = 0 }
      for j in 0..<nR {
        let x = Double(buf[start + j])
        guard x != 0 else { continue }
        for k in 0..<nR where m[j * nR + k] != 0 { y[k] += x * m[j * nR + k] }
      }
      for k in 0..<nR { buf[start + k] = Float(y[k]) }
    }
  }

  /// The cumulative shares at the ring edges (nR + 1 values, 0 … 1) of a mean radial profile; an
  /// all-zero profile gives even steps (the identity transport).
  static func cumulativeProfile(_ p: [Double]) -> [Double] {
    guard !p.isEmpty else { return [0] }  // a placeholder layer without voxels
    let total = p.reduce(0, +)
    guard total > 0 else { return (0...p.count).map { Double($0) / Double(p.count) } }
    var c = [0.0], run = 0.0
    for v in p { run += v / total; c.append(Swift.min(run, 1)) }
    c[c.count - 1] = 1
    return c
  }

  /// Maps a dithered ratio r through one bin's knots (`totalRatioDense`): its piecewise-linear level
  /// among the dense knots `d`, then the target knots `t` at that level; below the first knot or above
  /// the last, r times the end knots' ratio (so the result stays > 0).
  static func mapRatio(_ r: Double, dense d: [Double], target t: [Double]) -> Double {
    let k = d.count
    guard k >= 2 else { return r }
    if r <= d[0] { return r * t[0] / d[0] }
    if r >= d[k - 1] { return r * t[k - 1] / d[k - 1] }
    var lo = 0, hi = k - 1  // d[lo] < r < d[hi] here; keep d[lo] ≤ r < d[hi]
    while hi - lo > 1 {
      let m = (lo + hi) / 2
      if d[m] <= r { lo = m } else { hi = m }
    }
    let f = (r - d[lo]) / (d[hi] - d[lo])
    return t[lo] + f * (t[hi] - t[lo])
  }

  /// Scales shower `range` (its incident energy `energy` in MeV) by the E_tot/E_inc map of one bin.
  /// Draws one uniform when `dither` > 0. A shower without energy is left alone.
  static func mapTotal(_ buf: UnsafeMutableBufferPointer<Float>, _ range: Range<Int>, energy: Double,
                       dense: [Double], target: [Double], dither: Double, rng: inout RNG) {
    var sum = 0.0
    for k in range { sum += Double(buf[k]) }
    guard sum > 0, energy > 0, dense.count >= 2 else { return }
    let r = sum / energy
    let u = dither > 0 ? Double(rng.uniform()) : 0
    let f = Float(mapRatio(r + u * dither, dense: dense, target: target) / r)
    for k in range { buf[k] *= f }
  }

  /// The seed of shower `seed`'s E_tot/E_inc dither stream.
  @inline(__always)
  static func totalMapSeed(_ seed: UInt64) -> UInt64 { seed &+ 0x6A09_E667_F3BC_C909 }

  /// Upper end of ω (the fit's search range and the validation bound): at ω = 1.5 a shower's γ is off
  /// by a factor 4.5 one time in three.
  public static let maxWidthSpread = 1.5

  /// The seed of shower `seed`'s width-spread stream (a fixed odd offset, as for the other streams).
  @inline(__always)
  static func widthSpreadSeed(_ seed: UInt64) -> UInt64 { seed &+ 0x3C6E_F372_FE94_F82B }

  /// The range of a layer scale at the fit's typical share (the fit's clamp): a factor 20 either way
  /// is far beyond any bias measured, so a value there means the fit had too few showers to go on.
  public static let layerScaleRange = 0.05...20.0
  /// The range of a layer exponent b (the fit's clamp and the validation bound).
  public static let layerExponentRange = 0.25...4.0

  /// Upper end of σ (the fit's search range and the validation bound): at σ = 3 one voxel of a ring
  /// already takes most of it.
  public static let maxAngularSpread = 3.0

  /// The seed of shower `seed`'s angular-spread stream: a fixed odd offset, so it is a different
  /// SplitMix64 start than the rounding's.
  @inline(__always)
  static func angularSpreadSeed(_ seed: UInt64) -> UInt64 { seed &+ 0x5DEE_CE66_D1CE_4E5B }

  /// Multiplies each voxel > 0 of one layer (radius fastest, `nR` radial bins) by exp(σ·z − σ²/2), one
  /// normal z per such voxel in order, and rescales each ring (radial bin) to its old sum. σ = 0, a
  /// layer without angular bins or an empty layer: unchanged (and nothing drawn).
  @inline(__always)
  static func spreadAngles(_ buf: UnsafeMutableBufferPointer<Float>, _ range: Range<Int>, nR: Int, sigma: Double, rng: inout RNG) {
    guard sigma > 0, nR > 0, range.count > nR else { return }
    let shift = sigma * sigma / 2
    scaleRings(buf, range, nR: nR) { _ in Foundation.exp(sigma * Double(rng.normal()) - shift) }
  }

  /// Multiplies each voxel > 0 of one layer (radius fastest, `nR` radial bins) by `factor(j)`, j its
  /// index in the layer, called once per such voxel in order, and rescales each ring to its old sum.
  /// The shared step of the angular spread and the centre tilt, which run for every layer of every
  /// generated shower: the per-ring sums live on the stack.
  @inline(__always)
  static func scaleRings(_ buf: UnsafeMutableBufferPointer<Float>, _ range: Range<Int>, nR: Int, factor: (Int) -> Double) {
    withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * nR) { sums in
      let before = sums.baseAddress!, after = before + nR
      before.initialize(repeating: 0, count: 2 * nR)
      for (j, k) in range.enumerated() where buf[k] > 0 {
        let y = Double(buf[k]) * factor(j)
        before[j % nR] += Double(buf[k])
        after[j % nR] += y
        buf[k] = Float(y)
      }
      for (j, k) in range.enumerated() where buf[k] > 0 {
        buf[k] = Float(Double(buf[k]) * before[j % nR] / after[j % nR])   // after > 0 wherever buf[k] > 0
      }
    }
  }

  /// Upper end of τ (the fit's search range and the validation bound): at τ = 1.5 a shower with the
  /// mean |z| = 1.25 has e^(2·1.5·1.25) ≈ 40 times more energy per voxel on one side of a ring than on
  /// the other. Where the target needs more the layer keeps τ = 0: with a bound of 3, ds1-pion layer 2
  /// took τ ≈ 2.2–2.8 above 32 GeV and its φ-width separation grew from 0.097 to 0.104 (runs/pi3).
  public static let maxCentreTilt = 1.5

  /// The seed of shower `seed`'s centre-tilt stream (another fixed odd offset, so neither the rounding's
  /// nor the angular spread's draws move).
  @inline(__always)
  static func centreTiltSeed(_ seed: UInt64) -> UInt64 { seed &+ 0x7F4A_7C15_9E37_79B9 }

  /// Multiplies each voxel of one layer (radius fastest) by exp(τ·(z₁ cos α + z₂ sin α)), α its angular
  /// bin's centre (`Layer.alphaCentre`), with two normals z drawn here, and rescales each ring to its old
  /// sum. τ = 0 or a layer without angular bins: unchanged and nothing drawn; an empty layer still draws
  /// its two normals, so the stream does not depend on the values.
  @inline(__always)
  static func tiltCentre(_ buf: UnsafeMutableBufferPointer<Float>, _ range: Range<Int>, layer: Layer, tau: Double, rng: inout RNG) {
    let nR = layer.nR, nA = layer.nAlpha
    guard tau > 0, layer.isAngular else { return }
    precondition(range.count == layer.voxelCount, "tiltCentre: \(range.count) values for a layer of \(layer.voxelCount)")
    let z1 = tau * Double(rng.normal()), z2 = tau * Double(rng.normal())
    withUnsafeTemporaryAllocation(of: Double.self, capacity: nA) { factors in
      for a in 0..<nA {
        let alpha = layer.alphaCentre(a)
        factors[a] = Foundation.exp(z1 * Foundation.cos(alpha) + z2 * Foundation.sin(alpha))
      }
      scaleRings(buf, range, nR: nR) { j in factors[j / nR] }
    }
  }


  /// The seed of shower `seed`'s single-deposit stream (a third fixed odd offset).
  @inline(__always)
  static func singleDepositSeed(_ seed: UInt64) -> UInt64 { seed &+ 0x2545_F491_4F6C_DD1D }

  /// The seed of shower `seed`'s rotation stream (a fourth fixed odd offset).
  @inline(__always)
  static func rotationSeed(_ seed: UInt64) -> UInt64 { seed &+ 0x1B87_3593_CC9E_2D51 }

  /// A, the number of turns `rotate` draws from: the geometry's largest angular bin count.
  static func rotationBins(_ g: Geometry) -> Int { g.layers.map(\.nAlpha).max() ?? 1 }

  /// Turns one shower (the `geometry.voxelCount` values from `start`) about the axis: k uniform in
  /// 0..<A (A = `bins`, `rotationBins(g)`) from one uniform, each angular layer's bin a moves to
  /// a + ⌊k·nA/A⌋ (mod nA). A geometry without angular layers (A = 1) draws nothing.
  static func rotate(_ buf: UnsafeMutableBufferPointer<Float>, shower start: Int, geometry g: Geometry, bins a: Int,
                     rng: inout RNG) {
    guard a > 1 else { return }
    let k = Swift.min(Int(rng.uniform() * Float(a)), a - 1)
    guard k > 0 else { return }
    for (l, layer) in g.layers.enumerated() where layer.isAngular {
      let nA = layer.nAlpha, nR = layer.nR, shift = k * nA / a
      guard shift > 0 else { continue }
      let lo = start + g.offsets[l], count = nA * nR
      withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { old in
        for i in 0..<count { old[i] = buf[lo + i] }
        for j in 0..<nA { for r in 0..<nR { buf[lo + ((j + shift) % nA) * nR + r] = old[j * nR + r] } }
      }
    }
  }

  /// When the voxels of `range` hold more than 0 and less than `below` MeV in all, moves that energy
  /// into one voxel chosen with probability ∝ its value (one uniform, drawn whenever `below` > 0, so
  /// the stream does not depend on the values) and zeroes the others.
  @inline(__always)
  static func collapse(_ buf: UnsafeMutableBufferPointer<Float>, _ range: Range<Int>, below: Double, rng: inout RNG) {
    guard below > 0 else { return }
    let u = Double(rng.uniform())
    var e = 0.0
    for k in range where buf[k] > 0 { e += Double(buf[k]) }
    guard e > 0, e < below else { return }
    var left = u * e, chosen = -1
    for k in range where buf[k] > 0 {
      chosen = k
      left -= Double(buf[k])
      if left < 0 { break }
    }
    for k in range { buf[k] = 0 }
    buf[chosen] = Float(e)
  }

  /// When the voxels of `range` hold less than `below` MeV in all, sets them to 0 (nothing drawn). The
  /// fit's per-layer trial; `emptyLayers` also hands the energy on.
  @inline(__always)
  static func empty(_ buf: UnsafeMutableBufferPointer<Float>, _ range: Range<Int>, below: Double) {
    guard below > 0 else { return }
    var e = 0.0
    for k in range where buf[k] > 0 { e += Double(buf[k]) }
    guard e < below else { return }
    for k in range { buf[k] = 0 }
  }

  /// Empties each layer of one shower (the `geometry.voxelCount` values from `start`) holding more
  /// than 0 and less than `floors[l]` MeV, and scales every other voxel by total / (total − emptied),
  /// so the shower keeps its energy. A shower that would lose every layer is left as it is.
  static func emptyLayers(_ buf: UnsafeMutableBufferPointer<Float>, shower start: Int, geometry g: Geometry, below floors: [Double]) {
    let layers = g.layers.count
    withUnsafeTemporaryAllocation(of: Double.self, capacity: layers) { sums in
      var total = 0.0, removed = 0.0
      for l in 0..<layers {
        var e = 0.0
        for k in (start + g.offsets[l])..<(start + g.offsets[l + 1]) where buf[k] > 0 { e += Double(buf[k]) }
        sums[l] = e
        total += e
        if e > 0 && e < floors[l] { removed += e }
      }
      guard removed > 0, total - removed > 0 else { return }
      let scale = Float(total / (total - removed))
      for l in 0..<layers {
        let emptied = sums[l] > 0 && sums[l] < floors[l]
        for k in (start + g.offsets[l])..<(start + g.offsets[l + 1]) { buf[k] = emptied ? 0 : buf[k] * scale }
      }
    }
  }

  /// The spread part of a layer map (`layerPivotShares`, `layerExponentsBelow`, `layerExponentsAbove`)
  /// for one energy bin.
  public struct LayerSpreads: Sendable {
    public var pivots, below, above: [Double]
    /// Pivots, b₋ and b₊ of 1 in each of `layers` layers: no stretch.
    static func none(layers: Int) -> LayerSpreads {
      let ones = Array(repeating: 1.0, count: layers)
      return LayerSpreads(pivots: ones, below: ones, above: ones)
    }
  }

  /// The factor of layer l holding a share x of its shower: s, and with `spreads` and x > 0 also
  /// (x/p_l)^(b − 1), b = b₋ below p_l, b₊ above. `scaleLayers` applies it; the fit maps shares with it.
  @inline(__always)
  static func layerFactor(share x: Double, scale s: Double, layer l: Int, spreads: LayerSpreads?) -> Double {
    guard let spreads, x > 0 else { return s }
    let r = x / spreads.pivots[l]
    return s * Foundation.pow(r, (r < 1 ? spreads.below[l] : spreads.above[l]) - 1)
  }

  /// Multiplies each layer l of one shower (the `geometry.voxelCount` values from `start`) by
  /// `scales[l]`, and with `spreads` a layer holding a share x > 0 of the shower also by
  /// (x/p_l)^(b − 1), b = b₋ below p_l, b₊ above; then the whole shower by one factor so that it keeps
  /// its energy. A shower with no energy is left as it is.
  static func scaleLayers(_ buf: UnsafeMutableBufferPointer<Float>, shower start: Int, geometry g: Geometry,
                          scales: [Double], spreads: LayerSpreads? = nil) {
    let layers = g.layers.count
    withUnsafeTemporaryAllocation(of: Double.self, capacity: layers) { sums in
      var before = 0.0
      for l in 0..<layers {
        var e = 0.0
        for k in (start + g.offsets[l])..<(start + g.offsets[l + 1]) where buf[k] > 0 { e += Double(buf[k]) }
        sums[l] = e
        before += e
      }
      guard before > 0 else { return }
      var after = 0.0
      for l in 0..<layers {
        let factor = layerFactor(share: sums[l] / before, scale: scales[l], layer: l, spreads: spreads)
        sums[l] = factor
        for k in (start + g.offsets[l])..<(start + g.offsets[l + 1]) where buf[k] > 0 { after += Double(buf[k]) * factor }
      }
      guard after > 0 else { return }
      let back = before / after
      for l in 0..<layers {
        let factor = Float(sums[l] * back)
        for k in (start + g.offsets[l])..<(start + g.offsets[l + 1]) { buf[k] *= factor }
      }
    }
  }

  /// The layer spreads of bin `b`, when the table has them.
  public func layerSpreads(bin b: Int) -> LayerSpreads? {
    guard let p = layerPivotShares?[b], let lo = layerExponentsBelow?[b], let hi = layerExponentsAbove?[b] else { return nil }
    return LayerSpreads(pivots: p, below: lo, above: hi)
  }

  /// (E_layer / MeV)^κ for the voxels of `range` (1 for κ = 0 or an empty layer): the factor of ε.
  @inline(__always)
  static func epsilonScale(_ buf: UnsafeBufferPointer<Float>, _ range: Range<Int>, kappa: Double) -> Double {
    guard kappa != 0 else { return 1 }
    var e = 0.0
    for k in range where buf[k] > 0 { e += Double(buf[k]) }
    return e > 0 ? Foundation.pow(e, kappa) : 1
  }

  /// Multiplies each voxel of one layer (radius fastest, `weights.count` radial bins) by its radial
  /// bin's weight and rescales the layer to its old sum. An empty layer is unchanged.
  @inline(__always)
  static func reweight(_ buf: UnsafeMutableBufferPointer<Float>, _ range: Range<Int>, weights: [Double]) {
    let nR = weights.count
    guard nR > 1 else { return }
    var before = 0.0, after = 0.0
    for (j, k) in range.enumerated() where buf[k] > 0 {
      before += Double(buf[k])
      let y = Double(buf[k]) * weights[j % nR]
      buf[k] = Float(y)
      after += y
    }
    guard after > 0 else { return }
    let scale = Float(before / after)
    for k in range { buf[k] *= scale }
  }

  /// Raises the voxels of one layer to the power γ and rescales them to their old sum (the decoder's
  /// softmax at temperature 1/γ). γ = 1 or an empty layer: unchanged.
  @inline(__always)
  static func sharpen(_ buf: UnsafeMutableBufferPointer<Float>, _ range: Range<Int>, gamma: Double) {
    guard gamma != 1 else { return }
    // Relative to the layer's largest voxel, so x^γ can neither overflow nor make the rescale infinite.
    var before = 0.0, top: Float = 0
    for k in range where buf[k] > 0 { before += Double(buf[k]); top = Swift.max(top, buf[k]) }
    guard top > 0 else { return }
    var after = 0.0
    for k in range where buf[k] > 0 {
      let y = Foundation.pow(Double(buf[k] / top), gamma)
      buf[k] = Float(y)
      after += y
    }
    let scale = Float(before / after)   // after ≥ 1: the largest voxel became 1
    for k in range { buf[k] *= scale }
  }

  /// Maps E_tot/E_inc (`totalRatioDense`), maps the layers (s, p, b₋, b₊), moves energy between rings
  /// (`radialTransportDense`), reweights radially (w), sharpens (γ, per shower γ·exp(ω·z)),
  /// spreads the angles (σ), tilts the centre (τ), collapses low-energy layers into one deposit (E_c),
  /// empties the layers below E_0 into the shower's others, spot-rounds (ε) and turns
  /// (`randomRotation`) showers (N, voxels) in MeV in place.
  /// Shower i draws its uniforms from RNG(seed: seeds[i]), one per voxel below its threshold in voxel
  /// order (then, with random spot sizes, one per spot), its angular factors from
  /// RNG(seed: angularSpreadSeed(seeds[i])), its tilts from RNG(seed: centreTiltSeed(seeds[i])) and its
  /// single-deposit choices from RNG(seed: singleDepositSeed(seeds[i])) and its turn (`randomRotation`)
  /// from RNG(seed: rotationSeed(seeds[i])) and its width factor (`widthSpreads`) from
  /// RNG(seed: widthSpreadSeed(seeds[i])) and its E_tot/E_inc dither from RNG(seed: totalMapSeed(seeds[i])):
  /// the same seeds give the same showers, whatever the batching.
  public func apply(_ showers: inout [Float], energies: [Double], seeds: [UInt64]) {
    let g = dataset.geometry
    let v = g.voxelCount
    precondition(showers.count == energies.count * v && seeds.count == energies.count, "spot rounding: shapes")
    let turns = randomRotation == true ? Self.rotationBins(g) : 1
    // The radial transport's matrices, built once per bin used (nil for a layer it leaves alone).
    var transports: [Int: [[Double]?]] = [:]
    func transportMatrices(bin b: Int) -> [[Double]?]? {
      guard let dense = radialTransportDense?[b], let target = radialTransportTarget?[b] else { return nil }
      if let m = transports[b] { return m }
      let m = g.layers.indices.map { dense[$0] == target[$0] ? nil : Self.transportMatrix(dense: dense[$0], target: target[$0]) }
      transports[b] = m
      return m
    }
    showers.withUnsafeMutableBufferPointer { buf in
      for i in 0..<energies.count {
        let b = bin(of: energies[i])
        let eps = thresholdsMeV[b]
        var rng = RNG(seed: seeds[i])
        if let dense = totalRatioDense?[b], let target = totalRatioTarget?[b], !dense.isEmpty {
          var mapRNG = RNG(seed: Self.totalMapSeed(seeds[i]))
          Self.mapTotal(buf, (i * v)..<((i + 1) * v), energy: energies[i], dense: dense, target: target,
                        dither: totalRatioDither ?? 0, rng: &mapRNG)
        }
        if let scales = layerScales?[b] {
          Self.scaleLayers(buf, shower: i * v, geometry: g, scales: scales, spreads: layerSpreads(bin: b))
        }
        if let matrices = transportMatrices(bin: b) {
          for l in g.layers.indices {
            guard let m = matrices[l] else { continue }
            Self.transport(buf, (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1]), nR: g.layers[l].nR, matrix: m)
          }
        }
        if let weights = radialWeights?[b] {
          for l in g.layers.indices { Self.reweight(buf, (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1]), weights: weights[l]) }
        }
        if let gammas = exponents?[b] {
          let omegas = widthSpreads?[b]
          var z = 0.0
          if omegas != nil {
            var widthRNG = RNG(seed: Self.widthSpreadSeed(seeds[i]))
            z = Double(widthRNG.normal())
          }
          for l in g.layers.indices {
            let gamma = omegas.map { gammas[l] * Foundation.exp($0[l] * z) } ?? gammas[l]
            Self.sharpen(buf, (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1]), gamma: gamma)
          }
        }
        if let sigmas = angularSpreads?[b] {
          var spreadRNG = RNG(seed: Self.angularSpreadSeed(seeds[i]))
          for l in g.layers.indices where sigmas[l] > 0 {
            Self.spreadAngles(buf, (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1]), nR: g.layers[l].nR,
                              sigma: sigmas[l], rng: &spreadRNG)
          }
        }
        if let taus = centreTilts?[b] {
          var tiltRNG = RNG(seed: Self.centreTiltSeed(seeds[i]))
          for l in g.layers.indices where taus[l] > 0 {
            Self.tiltCentre(buf, (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1]), layer: g.layers[l],
                            tau: taus[l], rng: &tiltRNG)
          }
        }
        if let below = singleDepositBelowMeV?[b] {
          var singleRNG = RNG(seed: Self.singleDepositSeed(seeds[i]))
          for l in g.layers.indices where below[l] > 0 {
            Self.collapse(buf, (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1]), below: below[l], rng: &singleRNG)
          }
        }
        if let floors = emptyBelowMeV?[b], floors.contains(where: { $0 > 0 }) {
          Self.emptyLayers(buf, shower: i * v, geometry: g, below: floors)
        }
        for l in g.layers.indices where eps[l] > 0 {
          let range = (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1])
          let scale = Self.epsilonScale(UnsafeBufferPointer(buf), range, kappa: epsilonEnergyExponent ?? 0)
          Self.round(buf, range, epsilon: Float(eps[l] * scale),
                     conserving: conservesLayerEnergy ?? false, randomSizes: randomSpotSizes ?? false, rng: &rng)
        }
        if randomRotation == true {
          var rotationRNG = RNG(seed: Self.rotationSeed(seeds[i]))
          Self.rotate(buf, shower: i * v, geometry: g, bins: turns, rng: &rotationRNG)
        }
      }
    }
  }

  /// Spot-rounds `range`: each voxel x < ε becomes a spot with probability x/ε, else 0 (one uniform
  /// per such voxel, in order). A spot holds ε, or with `conserving` an equal share of the energy of
  /// all voxels below ε in the range; conserving, a range with such energy but no spot drawn gets one,
  /// chosen ∝ x with one more uniform. Conserving with `randomSizes`, the spots split the floor in
  /// proportion to −ln u, one more uniform u per spot in voxel order.
  @inline(__always)
  static func round(_ buf: UnsafeMutableBufferPointer<Float>, _ range: Range<Int>, epsilon t: Float,
                    conserving: Bool = false, randomSizes: Bool = false, rng: inout RNG) {
    // Pass 1 decides: a spot is stored as −x (its original value, negated); a voxel below ε that is not
    // a spot keeps x for now; x ≤ 0 becomes 0; voxels ≥ ε are never touched.
    var floor = 0.0, spots = 0
    for k in range {
      let x = buf[k]
      guard x < t else { continue }
      // Draw even for x ≤ 0 so that the stream position does not depend on the values.
      let u = rng.uniform()
      guard x > 0 else { buf[k] = 0; continue }
      floor += Double(x)
      if u * t < x { buf[k] = -x; spots += 1 }
    }
    // Conserving, a layer with floor energy but no spot drawn gets one, chosen with probability ∝ x:
    // a layer that holds energy has at least one deposit, and the layer's energy is kept exactly.
    if conserving && spots == 0 && floor > 0 {
      var u = Double(rng.uniform()) * floor, last = -1
      for k in range where buf[k] > 0 && buf[k] < t {
        last = k
        u -= Double(buf[k])
        if u < 0 { break }
      }
      buf[last] = -buf[last]
      spots = 1
    }
    // Random sizes: each spot's mark becomes −w, an exponential weight, and the floor is shared ∝ w.
    let random = conserving && randomSizes && spots > 0
    var total = 0.0
    if random {
      for k in range where buf[k] < 0 {
        let weight = -Foundation.log(1 - rng.uniformDouble())   // 1 − u ∈ (0, 1]: finite
        buf[k] = -Float(Swift.max(weight, 1e-12))
        total += Double(-buf[k])
      }
    }
    // Pass 2 sizes: spots hold ε (plain), an equal share of the floor (conserving) or their share ∝ w
    // (random sizes); the rest become 0.
    let size = conserving && spots > 0 ? Float(floor / Double(spots)) : t
    for k in range {
      if buf[k] < 0 { buf[k] = random ? Float(floor * Double(-buf[k]) / total) : size } else if buf[k] < t { buf[k] = 0 }
    }
  }

  /// Reads and validates a table written by `save`.
  public static func load(from path: String) throws -> SpotRoundingTable {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw SpotRoundingError("cannot read '\(path)'")
    }
    let table: SpotRoundingTable
    do { table = try JSONDecoder().decode(SpotRoundingTable.self, from: data) } catch {
      throw SpotRoundingError("'\(path)' is not a spot-rounding table (\(error)); refit it with `calovq calibrate-sparsity` or delete it")
    }
    do { try table.validate() } catch let e as SpotRoundingError {
      throw SpotRoundingError("'\(path)': \(e.message); refit it with `calovq calibrate-sparsity` or delete it")
    }
    return table
  }

  /// Writes the table as JSON to a temporary name and renames it.
  public func save(to path: String) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    try enc.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)   // temporary file + rename
  }
}

public struct SpotRoundingError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Fits a `SpotRoundingTable` from target showers (training data) and dense showers (the model's
/// output at comparable energies), both added batch by batch and kept per energy bin in memory
/// (ds3: pass a few thousand showers).
///
/// ε: after rounding at ε a dense voxel x is non-empty with probability min(1, x/ε), so the expected
/// count per shower, occ(ε) = Σ min(1, x/ε) / showers, falls monotonically from #(x > 0) towards 0;
/// ε solves occ(ε) = the target's mean non-empty count (bisection in log ε). γ (with `exponents`):
/// bisection on γ ∈ [0.3, 2] (angular layers) for the median RMS radius above the readout threshold, each trial
/// sharpened, given its own ε and rounded with one fixed stream (common random numbers, so the
/// median moves smoothly with γ).
public struct SpotRoundingFit: Sendable {
  public let dataset: DatasetKind
  public let edges: [Double]
  private let geometry: Geometry
  private var target: [[Float]], dense: [[Float]]
  /// Each shower's E_tot/E_inc, per bin, in the order of the rows.
  private var targetRatios: [[Double]], denseRatios: [[Double]]
  /// Showers per bin on each side (one ratio per shower).
  private var targetShowers: [Int] { targetRatios.map(\.count) }
  private var denseShowers: [Int] { denseRatios.map(\.count) }

  public init(dataset: DatasetKind, edges: [Double]? = nil) {
    self.dataset = dataset
    self.edges = edges ?? SpotRoundingTable.defaultEdges(for: dataset)
    geometry = dataset.geometry
    let nb = self.edges.count - 1
    target = Array(repeating: [], count: nb)
    dense = target
    targetRatios = Array(repeating: [], count: nb)
    denseRatios = targetRatios
  }

  private var binner: SpotRoundingTable { SpotRoundingTable(dataset: dataset, log10EnergyEdges: edges, thresholdsMeV: []) }

  /// Adds target showers (N, voxels) in MeV.
  public mutating func addTarget(showers: [Float], energies: [Double]) {
    Self.add(showers, energies, into: &target, ratios: &targetRatios, voxels: geometry.voxelCount,
             binner: binner)
  }

  /// Adds dense (model) showers (N, voxels) in MeV.
  public mutating func addDense(showers: [Float], energies: [Double]) {
    Self.add(showers, energies, into: &dense, ratios: &denseRatios, voxels: geometry.voxelCount,
             binner: binner)
  }

  /// Appends each shower to its energy bin's rows, and its E_tot/E_inc to the bin's ratios.
  private static func add(_ showers: [Float], _ energies: [Double], into rows: inout [[Float]],
                          ratios: inout [[Double]], voxels v: Int, binner: SpotRoundingTable) {
    for i in energies.indices {
      let b = binner.bin(of: energies[i])
      let shower = showers[(i * v)..<((i + 1) * v)]
      rows[b] += shower
      ratios[b].append(shower.reduce(0.0) { $0 + Double($1) } / energies[i])
    }
  }

  /// Knots of the E_tot/E_inc map (`SpotRoundingTable.totalRatioDense`): K values at the levels
  /// (k + ½)/K of `values`, each linearly interpolated between the sorted values (empty for no values).
  static func quantileKnots(_ values: [Double], count k: Int) -> [Double] {
    let x = values.sorted()
    guard !x.isEmpty else { return [] }
    return (0..<k).map { j in
      let pos = (Double(j) + 0.5) / Double(k) * Double(x.count - 1)
      let lo = Int(pos.rounded(.down)), hi = Swift.min(lo + 1, x.count - 1)
      return x[lo] + (pos - Double(lo)) * (x[hi] - x[lo])
    }
  }

  /// Knots per map; 50 levels put one knot per ~16 showers of a bin at 10,000 training showers.
  public static let totalMapKnots = 50

  /// The fewest showers on each side for which a bin's E_tot/E_inc map is fitted (else left empty).
  static let minTotalMapShowers = 50

  /// Mean non-empty voxels per shower of `data` (showers × voxels) in each layer.
  private func occupancy(_ data: [Float], _ n: Int) -> [Double] {
    geometry.layers.indices.map { l in
      guard n > 0 else { return .nan }
      var c = 0
      for i in 0..<n { for k in (i * geometry.voxelCount + geometry.offsets[l])..<(i * geometry.voxelCount + geometry.offsets[l + 1]) where data[k] > 0 { c += 1 } }
      return Double(c) / Double(n)
    }
  }

  /// Mean non-empty voxels per target shower, [bin][layer] (NaN where the bin has no showers).
  public var targetOccupancy: [[Double]] { zip(target, targetShowers).map { occupancy($0, $1) } }

  /// Mean non-empty voxels per dense shower before rounding, [bin][layer] (NaN where the bin is empty).
  public var denseOccupancy: [[Double]] { zip(dense, denseShowers).map { occupancy($0, $1) } }

  /// One layer of one bin's showers, (showers × layer voxels) row-major.
  private func layer(_ data: [Float], _ n: Int, _ l: Int) -> [Float] {
    let v = geometry.voxelCount, lo = geometry.offsets[l], hi = geometry.offsets[l + 1]
    var out: [Float] = []
    out.reserveCapacity(n * (hi - lo))
    for i in 0..<n { out += data[(i * v + lo)..<(i * v + hi)] }
    return out
  }

  /// Expected non-empty voxels per dense shower of bin `b`, layer `l`, after rounding at ε.
  public func expectedOccupancy(bin b: Int, layer l: Int, epsilon: Double, conserving: Bool = false) -> Double {
    let n = denseShowers[b]
    guard n > 0 else { return .nan }
    return Self.expectedCount(layer(dense[b], n, l), showers: n, epsilon: epsilon, conserving: conserving) / Double(n)
  }

  /// Each shower's ε factor (E_layer / MeV)^κ for layer values `x` (n showers × w voxels); nil for κ = 0.
  static func epsilonScales(_ x: [Float], showers n: Int, kappa: Double) -> [Double]? {
    guard kappa != 0 else { return nil }
    let w = x.count / n
    return x.withUnsafeBufferPointer { buf in (0..<n).map { SpotRoundingTable.epsilonScale(buf, ($0 * w)..<(($0 + 1) * w), kappa: kappa) } }
  }

  /// Expected non-empty voxels of layer values `x` (n showers × w voxels) after rounding at ε, summed
  /// over showers: Σ min(1, x/ε), plus, conserving, the chance that a shower with floor energy draws
  /// no spot (it then gets one), Π(1 − x/ε) over its voxels below ε. With `scales`, shower i uses
  /// ε · scales[i].
  static func expectedCount(_ x: [Float], showers n: Int, epsilon: Double, conserving: Bool = false,
                            scales: [Double]? = nil) -> Double {
    var s = 0.0
    let w = x.count / n
    for i in 0..<n {
      var none = 1.0, floor = false
      let e = epsilon * (scales?[i] ?? 1)
      for v in x[(i * w)..<((i + 1) * w)] where v > 0 {
        let p = Double(v) / e
        if p < 1 { none *= 1 - p; floor = true }
        s += Swift.min(1, p)
      }
      if conserving && floor { s += none }
    }
    return s
  }

  /// ε with expected non-empty count per shower `want` for layer values `x` of `n` showers; 0 when
  /// the values are already that sparse.
  static func epsilon(_ x: [Float], showers n: Int, want: Double, conserving: Bool = false, kappa: Double = 0) -> Double {
    let have = Double(x.filter { $0 > 0 }.count) / Double(n)
    guard want > 0, have > want else { return 0 }
    let scales = epsilonScales(x, showers: n, kappa: kappa)
    var lo = -12.0, hi = 12.0   // log10 MeV (MeV^(1−κ))
    for _ in 0..<50 {
      let mid = 0.5 * (lo + hi)
      let c = expectedCount(x, showers: n, epsilon: Foundation.pow(10, mid), conserving: conserving, scales: scales)
      if c / Double(n) > want { lo = mid } else { hi = mid }
    }
    return Foundation.pow(10, 0.5 * (lo + hi))
  }

  /// Median over showers of the RMS radius of layer values `x` (showers × nR·nA, radius fastest)
  /// counting voxels ≥ `threshold`; showers with nothing above it are left out (NaN if none is left).
  static func medianRMSRadius(_ x: [Float], showers n: Int, rCentres: [Double], threshold: Float) -> Double {
    let radii = rmsRadii(x, showers: n, rCentres: rCentres, threshold: threshold)
    guard !radii.isEmpty else { return .nan }
    let m = radii.count / 2
    return radii.count % 2 == 1 ? radii[m] : 0.5 * (radii[m - 1] + radii[m])
  }

  /// The RMS radius (as `medianRMSRadius`) at quantile `level` of the showers: the median (exactly
  /// `medianRMSRadius`) at 0.5, else the radius at index ⌊level · count⌋ of the ascending radii.
  static func rmsRadiusQuantile(_ x: [Float], showers n: Int, rCentres: [Double], threshold: Float, level: Double) -> Double {
    guard level != 0.5 else { return medianRMSRadius(x, showers: n, rCentres: rCentres, threshold: threshold) }
    let radii = rmsRadii(x, showers: n, rCentres: rCentres, threshold: threshold)
    guard !radii.isEmpty else { return .nan }
    return radii[Swift.min(radii.count - 1, Int(level * Double(radii.count)))]
  }

  /// The quantile level at which γ is fitted: 0.5, or when at least half of the showers' RMS radii
  /// lie at the smallest one (everything in the innermost ring), f + (1 − f)/2 with f that share. Why:
  /// there the median is the innermost ring's centre whatever the rest does, so a γ that leaves half
  /// the showers in the ring meets it (ds2 layer 1: 54–84 % of the data's showers per energy bin sit
  /// there, 15–53 % of the calibrated reconstruction's, session 18).
  static func radiusLevel(_ x: [Float], showers n: Int, rCentres: [Double], threshold: Float) -> Double {
    let radii = rmsRadii(x, showers: n, rCentres: rCentres, threshold: threshold)
    guard let smallest = radii.first else { return 0.5 }
    let f = Double(radii.prefix { $0 <= smallest * (1 + 1e-9) }.count) / Double(radii.count)
    return f >= 0.5 ? Swift.min(f + 0.5 * (1 - f), 1) : 0.5
  }

  /// ln(75th / 25th percentile) of the showers' RMS radii (as `medianRMSRadius`): how much the layer's
  /// width varies from shower to shower. NaN with fewer than 4 radii or a 25th percentile of 0.
  static func radiusSpread(_ x: [Float], showers n: Int, rCentres: [Double], threshold: Float) -> Double {
    let radii = rmsRadii(x, showers: n, rCentres: rCentres, threshold: threshold)
    guard radii.count >= 4 else { return .nan }
    let lo = radii[radii.count / 4], hi = radii[(3 * radii.count) / 4]
    return lo > 0 ? Foundation.log(hi / lo) : .nan
  }

  /// Each shower's RMS radius of the voxels ≥ `threshold` (layer values `x`, n showers × layer voxels,
  /// radius fastest), ascending; showers with nothing ≥ `threshold` are left out.
  static func rmsRadii(_ x: [Float], showers n: Int, rCentres: [Double], threshold: Float) -> [Double] {
    guard n > 0 else { return [] }
    let w = x.count / n, nR = rCentres.count
    var radii: [Double] = []
    for i in 0..<n {
      var e = 0.0, e2 = 0.0
      for k in 0..<w where x[i * w + k] >= threshold {
        let r = rCentres[k % nR]
        e += Double(x[i * w + k]); e2 += Double(x[i * w + k]) * r * r
      }
      if e > 0 { radii.append((e2 / e).squareRoot()) }
    }
    return radii.sorted()
  }

  /// Mean over showers of the distance of a layer's centre of energy from the axis, √(⟨η⟩² + ⟨φ⟩²),
  /// counting voxels ≥ `threshold` (η = r cos α, φ = r sin α at the bin centres, as the evaluation's
  /// centres). Layer values `x` are showers × `layer.voxelCount`, radius fastest; showers with nothing ≥
  /// `threshold` are left out (NaN if none is left, or for a layer without angular bins).
  static func meanCentreOffset(_ x: [Float], showers n: Int, layer: Layer, threshold: Float) -> Double {
    guard layer.isAngular else { return .nan }
    let nR = layer.nR, w = layer.voxelCount, rCentres = layer.rCentres
    precondition(x.count == n * w, "meanCentreOffset: \(x.count) values for \(n) showers of \(w)")
    let cosA = (0..<layer.nAlpha).map { Foundation.cos(layer.alphaCentre($0)) }
    let sinA = (0..<layer.nAlpha).map { Foundation.sin(layer.alphaCentre($0)) }
    var sum = 0.0, used = 0
    for i in 0..<n {
      var e = 0.0, ex = 0.0, ey = 0.0
      for k in 0..<w where x[i * w + k] >= threshold {
        let v = Double(x[i * w + k]), r = rCentres[k % nR]
        e += v; ex += v * r * cosA[k / nR]; ey += v * r * sinA[k / nR]
      }
      guard e > 0 else { continue }
      sum += ((ex / e) * (ex / e) + (ey / e) * (ey / e)).squareRoot()
      used += 1
    }
    return used > 0 ? sum / Double(used) : .nan
  }

  /// Among the showers with something ≥ `threshold` in the layer (values `x`, showers × width), the
  /// fraction with exactly one such voxel (NaN if there are none).
  static func singleDepositFraction(_ x: [Float], showers n: Int, threshold: Float) -> Double {
    let w = x.count / n
    var used = 0, single = 0
    for i in 0..<n {
      var c = 0
      for k in 0..<w where x[i * w + k] >= threshold { c += 1 }
      if c > 0 { used += 1 }
      if c == 1 { single += 1 }
    }
    return used > 0 ? Double(single) / Double(used) : .nan
  }

  /// The fraction of showers whose layer (values `x`, showers × width) has nothing ≥ `threshold`: it
  /// reads out empty (NaN for no showers).
  static func emptyFraction(_ x: [Float], showers n: Int, threshold: Float) -> Double {
    guard n > 0 else { return .nan }
    let w = x.count / n
    var empty = 0
    for i in 0..<n where !x[(i * w)..<((i + 1) * w)].contains(where: { $0 >= threshold }) { empty += 1 }
    return Double(empty) / Double(n)
  }

  /// Mean over showers of a layer's angular variation: each ring's coefficient of variation over its
  /// angular bins (standard deviation / mean of the voxels, counting those ≥ `threshold`), weighted by
  /// the ring's energy. Layer values `x` are showers × nR·nA, radius fastest; showers with nothing ≥
  /// `threshold` are left out (NaN if none is left). One voxel of nA holding the ring gives √(nA − 1),
  /// equal voxels 0.
  static func meanAngularCV(_ x: [Float], showers n: Int, nR: Int, threshold: Float) -> Double {
    let w = x.count / n, nA = w / nR
    guard nA > 1 else { return .nan }
    var sum = 0.0, used = 0
    var s1 = [Double](repeating: 0, count: nR), s2 = s1
    for i in 0..<n {
      for r in 0..<nR { s1[r] = 0; s2[r] = 0 }
      for k in 0..<w where x[i * w + k] >= threshold {
        let v = Double(x[i * w + k])
        s1[k % nR] += v; s2[k % nR] += v * v
      }
      let total = s1.reduce(0, +)
      guard total > 0 else { continue }
      var weighted = 0.0
      for r in 0..<nR where s1[r] > 0 {
        let mean = s1[r] / Double(nA)
        let variance = Swift.max(0, s2[r] / Double(nA) - mean * mean)
        weighted += s1[r] * variance.squareRoot() / mean
      }
      sum += weighted / total
      used += 1
    }
    return used > 0 ? sum / Double(used) : .nan
  }

  /// Default upper end of the γ search (`table(maxExponent:)`). A pion's first layers are mostly one
  /// MIP deposit (median one non-empty voxel in ds1-pion layer 1); their γ fits end at this bound.
  public static let defaultMaxExponent = 2.0

  /// The fitted table; with `exponents` also γ per (bin, layer) for the angularly segmented layers
  /// (where η/φ widths are defined; the others keep γ = 1). A (bin, layer) keeps ε = 0 and γ = 1 when
  /// either side has no showers there. `conservingLayerEnergy` is written into the table and used by
  /// the γ fit's trial roundings, as are `epsilonEnergyExponent` κ (ε then solved with each shower's
  /// factor) and `randomSpotSizes` (written only when conserving). With `radialWeights` the weights are
  /// fitted first (`radialWeights(dense:…)`) and γ and ε on the reweighted layer. With `angularSpreads`
  /// (and `exponents`, whose layers it shares) σ is fitted after γ, by bisection for the target's
  /// `meanAngularCV`, and ε on the spread layer. With `centreTilts` (and `exponents`) τ is fitted last,
  /// by bisection for the target's `meanCentreOffset`, and ε on the tilted layer. With `singleDeposits`
  /// (and `exponents`) E_c follows, a quantile of the model's layer energies found by bisection for the
  /// target's `singleDepositFraction`, and ε on the collapsed layer. With `emptyLayers` (and
  /// `exponents`) E_0 comes next, again a quantile of the model's layer energies, found by bisection
  /// for the target's `emptyFraction`, and ε on the emptied layer. With `randomRotation` the table
  /// turns showers when the target's `angularAsymmetry` is within `symmetryLimit`. With `layerScales`
  /// the layer scales are fitted first, per bin on whole showers (`layerScales(dense:…)`), and every
  /// other step on the rescaled showers. With `totalEnergyMap` the E_tot/E_inc map comes before all
  /// of them: `totalMapKnots` quantiles of each bin's dense ratios (dithered by up to
  /// `totalRatioDither`) and of its target ratios, bins with fewer than `minTotalMapShowers` on a
  /// side left empty; the dense showers are mapped before the other steps are fitted.
  public func table(exponents fitExponents: Bool = false, conservingLayerEnergy conserve: Bool = false,
                    maxExponent: Double = SpotRoundingFit.defaultMaxExponent,
                    radialWeights fitWeights: Bool = false, epsilonEnergyExponent kappa: Double = 0,
                    randomSpotSizes randomSizes: Bool = false, angularSpreads fitSpreads: Bool = false,
                    centreTilts fitTilts: Bool = false, singleDeposits fitSingles: Bool = false,
                    randomRotation fitRotation: Bool = false, emptyLayers fitEmpties: Bool = false,
                    layerScales fitScales: Bool = false, layerSpreads fitSpreadsOfLayers: Bool = false,
                    widthSpreads fitWidthSpreads: Bool = false, totalEnergyMap fitTotal: Bool = false,
                    totalRatioDither dither: Double = 0, radialTransport fitTransport: Bool = false) -> SpotRoundingTable {
    precondition(kappa >= 0 && kappa < 1, "SpotRoundingFit.table: epsilonEnergyExponent must be in [0, 1)")
    precondition(maxExponent > 0.3, "SpotRoundingFit.table: maxExponent must exceed the lower bound 0.3")
    let nb = edges.count - 1, nl = geometry.layers.count
    let threshold = Float(dataset.voxelThresholdMeV)
    var eps = Array(repeating: Array(repeating: 0.0, count: nl), count: nb)
    var gam = Array(repeating: Array(repeating: 1.0, count: nl), count: nb)
    var spread = Array(repeating: Array(repeating: 0.0, count: nl), count: nb)
    var tilt = spread, single = spread, floor = spread, omega = spread
    var rw = (0..<nb).map { _ in geometry.layers.map { Array(repeating: 1.0, count: $0.nR) } }
    // Layer scales first, on whole showers: every later step is fitted on the rescaled showers, the
    // order `apply` uses.
    var scales = Array(repeating: Array(repeating: 1.0, count: nl), count: nb)
    var layerMaps = Array(repeating: SpotRoundingTable.LayerSpreads.none(layers: nl), count: nb)
    var rescaled = dense
    // The E_tot/E_inc map before everything, as `apply` orders it: each dense shower of a bin is scaled
    // by its mapped ratio (dithered from a fixed stream) before the other steps are fitted.
    var ratioDense = Array(repeating: [Double](), count: nb), ratioTarget = ratioDense
    if fitTotal {
      precondition(dither.isFinite && dither >= 0, "SpotRoundingFit.table: totalRatioDither must be finite and ≥ 0")
      for b in 0..<nb where targetShowers[b] >= Self.minTotalMapShowers && denseShowers[b] >= Self.minTotalMapShowers {
        var rng = RNG(seed: 0x7137_0000 &+ UInt64(b))
        let dithered = denseRatios[b].map { $0 + (dither > 0 ? Double(rng.uniform()) * dither : 0) }
        ratioDense[b] = Self.quantileKnots(dithered, count: Self.totalMapKnots)
        ratioTarget[b] = Self.quantileKnots(targetRatios[b], count: Self.totalMapKnots)
        guard (ratioDense[b] + ratioTarget[b]).allSatisfy({ $0 > 0 }) else {
          ratioDense[b] = []; ratioTarget[b] = []; continue  // a bin with empty showers: left alone
        }
        let v = geometry.voxelCount
        for i in 0..<denseShowers[b] where denseRatios[b][i] > 0 {
          let f = Float(SpotRoundingTable.mapRatio(dithered[i], dense: ratioDense[b], target: ratioTarget[b]) / denseRatios[b][i])
          for k in (i * v)..<((i + 1) * v) { rescaled[b][k] *= f }
        }
      }
    }
    if fitScales || fitSpreadsOfLayers {
      for b in 0..<nb where targetShowers[b] > 0 && denseShowers[b] > 0 {
        (scales[b], layerMaps[b]) = Self.layerScales(dense: rescaled[b], showers: denseShowers[b], target: target[b],
                                                     targetShowers: targetShowers[b], geometry: geometry,
                                                     spreads: fitSpreadsOfLayers)
        rescaled[b].withUnsafeMutableBufferPointer { buf in
          for i in 0..<denseShowers[b] {
            SpotRoundingTable.scaleLayers(buf, shower: i * geometry.voxelCount, geometry: geometry, scales: scales[b],
                                          spreads: fitSpreadsOfLayers ? layerMaps[b] : nil)
          }
        }
      }
    }
    let denseRows = rescaled
    let jobs = (0..<nb).flatMap { b in (0..<nl).map { (b, $0) } }.filter { b, l in
      targetShowers[b] > 0 && denseShowers[b] > 0 && geometry.layers[l].voxelCount > 0
    }
    // Each (bin, layer) is independent: spread them over the cores.
    let maxR = geometry.layers.map(\.nR).max() ?? 1
    // Per layer, equal dense and target profiles: the identity transport, which `apply` skips.
    let unmoved = geometry.layers.map { SpotRoundingTable.cumulativeProfile(Array(repeating: 1.0, count: $0.nR)) }
    let results = FitResults(UnsafeMutableBufferPointer<(Double, Double, Double, Double, Double, Double, Double)>.allocate(capacity: max(jobs.count, 1)),
                             UnsafeMutableBufferPointer<Double>.allocate(capacity: max(jobs.count * maxR, 1)),
                             UnsafeMutableBufferPointer<Double>.allocate(capacity: max(jobs.count * 2 * (maxR + 1), 1)))
    defer { results.p.deallocate(); results.w.deallocate(); results.c.deallocate() }
    DispatchQueue.concurrentPerform(iterations: jobs.count) { j in
      let (b, l) = jobs[j]
      let n = denseShowers[b], nt = targetShowers[b]
      var decoded = layer(denseRows[b], n, l)
      let t = layer(target[b], nt, l)
      let want = Double(t.filter { $0 > 0 }.count) / Double(nt)
      let lay = geometry.layers[l]
      // The radial transport first, then the radial weights: γ and ε are then fitted on the moved and
      // reweighted layer, the order `apply` uses.
      var cdfDense = unmoved[l], cdfTarget = unmoved[l]
      if fitTransport && lay.nR > 1 {
        let goal = Self.radialProfile(t, showers: nt, nR: lay.nR)
        if goal.contains(where: { $0 > 0 }) {
          cdfDense = SpotRoundingTable.cumulativeProfile(Self.radialProfile(decoded, showers: n, nR: lay.nR))
          cdfTarget = SpotRoundingTable.cumulativeProfile(goal)
          let m = SpotRoundingTable.transportMatrix(dense: cdfDense, target: cdfTarget)
          decoded.withUnsafeMutableBufferPointer { SpotRoundingTable.transport($0, 0..<(n * lay.voxelCount), nR: lay.nR, matrix: m) }
        }
      }
      for r in 0...lay.nR {
        results.c[j * 2 * (maxR + 1) + r] = cdfDense[r]
        results.c[j * 2 * (maxR + 1) + maxR + 1 + r] = cdfTarget[r]
      }
      // Radial weights next: γ and ε are then fitted on the reweighted layer, the order `apply` uses.
      let weights = fitWeights ? Self.radialWeights(dense: decoded, showers: n, target: t, targetShowers: nt, nR: lay.nR)
                               : Array(repeating: 1.0, count: lay.nR)
      for r in 0..<lay.nR { results.w[j * maxR + r] = weights[r] }
      if fitWeights { Self.reweight(&decoded, showers: n, weights: weights) }
      let x = decoded
      // γ only for angular layers whose target has something above the threshold; else ε alone.
      // With width spreads, a layer whose training showers sit mostly in the innermost ring is fitted
      // at the middle of the others (`radiusLevel`); else at the median.
      let level = fitWidthSpreads ? Self.radiusLevel(t, showers: nt, rCentres: lay.rCentres, threshold: threshold) : 0.5
      let goal = fitExponents && lay.isAngular
        ? Self.rmsRadiusQuantile(t, showers: nt, rCentres: lay.rCentres, threshold: threshold, level: level) : .nan
      guard goal.isFinite else {
        results.p[j] = (Self.epsilon(x, showers: n, want: want, conserving: conserve, kappa: kappa), 1, 0, 0, 0, 0, 0)
        return
      }
      let w = lay.voxelCount
      // Sharpened by γ, spread by σ, tilted by τ, collapsed below E_c, emptied below E_0 and rounded,
      // each with one fixed stream (common random numbers, so the statistics move smoothly with the
      // parameters); returns the values and their ε.
      // ω, once fitted, spreads γ in every later trial: one normal per shower from a fixed stream.
      var widthSpread = 0.0
      let widthNormals: [Double] = {
        var rng = RNG(seed: UInt64(b * 1000 + l) &+ 17)
        return (0..<n).map { _ in Double(rng.normal()) }
      }()
      func trial(_ g: Double, _ sigma: Double, _ tau: Double = 0, _ below: Double = 0,
                 _ emptyBelow: Double = 0) -> (y: [Float], eps: Double) {
        var y = x
        y.withUnsafeMutableBufferPointer { buf in
          for i in 0..<n {
            let gamma = widthSpread > 0 ? g * Foundation.exp(widthSpread * widthNormals[i]) : g
            SpotRoundingTable.sharpen(buf, (i * w)..<((i + 1) * w), gamma: gamma)
          }
          if sigma > 0 {
            var rng = RNG(seed: UInt64(b * 1000 + l) &+ 7)
            for i in 0..<n { SpotRoundingTable.spreadAngles(buf, (i * w)..<((i + 1) * w), nR: lay.nR, sigma: sigma, rng: &rng) }
          }
          if tau > 0 {
            var rng = RNG(seed: UInt64(b * 1000 + l) &+ 11)
            for i in 0..<n { SpotRoundingTable.tiltCentre(buf, (i * w)..<((i + 1) * w), layer: lay, tau: tau, rng: &rng) }
          }
          if below > 0 {
            var rng = RNG(seed: UInt64(b * 1000 + l) &+ 13)
            for i in 0..<n { SpotRoundingTable.collapse(buf, (i * w)..<((i + 1) * w), below: below, rng: &rng) }
          }
          if emptyBelow > 0 {
            for i in 0..<n { SpotRoundingTable.empty(buf, (i * w)..<((i + 1) * w), below: emptyBelow) }
          }
        }
        let e = Self.epsilon(y, showers: n, want: want, conserving: conserve, kappa: kappa)
        if e > 0 {
          var rng = RNG(seed: UInt64(b * 1000 + l))
          y.withUnsafeMutableBufferPointer { buf in
            for i in 0..<n {
              let scale = SpotRoundingTable.epsilonScale(UnsafeBufferPointer(buf), (i * w)..<((i + 1) * w), kappa: kappa)
              SpotRoundingTable.round(buf, (i * w)..<((i + 1) * w), epsilon: Float(e * scale), conserving: conserve,
                                      randomSizes: randomSizes, rng: &rng)
            }
          }
        }
        return (y, e)
      }
      func radius(_ y: [Float]) -> Double {
        Self.rmsRadiusQuantile(y, showers: n, rCentres: lay.rCentres, threshold: threshold, level: level)
      }
      // Smaller γ spreads the layer (larger radius): bisect for the target's median.
      var lo = 0.3, hi = maxExponent   // γ at a bound means the target is out of reach
      for _ in 0..<10 {
        let mid = 0.5 * (lo + hi)
        let r = radius(trial(mid, 0).y)
        if r.isNaN || r > goal { lo = mid } else { hi = mid }
      }
      let g = 0.5 * (lo + hi)
      // ω: a larger spread of γ between showers, a wider spread of their radii about the median;
      // bisect for the target's interquartile log ratio, or keep 0 when the layer already varies as much.
      if fitWidthSpreads {
        func spread(_ y: [Float]) -> Double {
          Self.radiusSpread(y, showers: n, rCentres: lay.rCentres, threshold: threshold)
        }
        let found = Self.smallestReaching(Self.radiusSpread(t, showers: nt, rCentres: lay.rCentres, threshold: threshold),
                                          bound: SpotRoundingTable.maxWidthSpread) {
          widthSpread = $0
          return spread(trial(g, 0).y)
        }
        widthSpread = found
      }
      // σ (ring-wise, so the radius stays): larger σ, larger angular variation; bisect for the target's
      // mean, or keep 0 when the rounded layer already varies as much.
      let sigma = !fitSpreads ? 0 : Self.smallestReaching(
        Self.meanAngularCV(t, showers: nt, nR: lay.nR, threshold: threshold), bound: SpotRoundingTable.maxAngularSpread) {
        Self.meanAngularCV(trial(g, $0).y, showers: n, nR: lay.nR, threshold: threshold)
      }
      // τ (ring-wise as well): larger τ moves the centre of energy further off the axis; bisect for the
      // target's mean offset, or keep 0 when the rounded layer already wanders as far.
      let tau = !fitTilts ? 0 : Self.smallestReaching(
        Self.meanCentreOffset(t, showers: nt, layer: lay, threshold: threshold), bound: SpotRoundingTable.maxCentreTilt) {
        Self.meanCentreOffset(trial(g, sigma, $0).y, showers: n, layer: lay, threshold: threshold)
      }
      // The model's layer energies, ascending, for the E_c and E_0 quantiles (γ, σ and τ keep each
      // layer's energy, so `x` gives them); not needed when neither is fitted.
      let energies = !(fitSingles || fitEmpties) ? [] : (0..<n).map { i in
        x[(i * w)..<((i + 1) * w)].reduce(0.0) { $0 + Double(Swift.max($1, 0)) }
      }.filter { $0 > 0 }.sorted()
      // E_c: collapsing the showers whose layer energy lies below a quantile q of this bin's raises the
      // share of single-deposit layers; bisect q for the target's share, or keep 0 when the rounded
      // layer already has as many.
      var below = 0.0
      if fitSingles {
        let goalSingle = Self.singleDepositFraction(t, showers: nt, threshold: threshold)
        below = Self.energyQuantileReaching(goalSingle, energies: energies) {
          Self.singleDepositFraction(trial(g, sigma, tau, $0).y, showers: n, threshold: threshold)
        }
      }
      // E_0: emptying the showers whose layer energy lies below a quantile of this bin's raises the
      // share of layers that read out empty; the same bisection for the target's share. (Layer by
      // layer: the other layers' small gain from the emptied energy is left out of the fit.)
      var emptyBelow = 0.0
      if fitEmpties {
        let goalEmpty = Self.emptyFraction(t, showers: nt, threshold: threshold)
        emptyBelow = Self.energyQuantileReaching(goalEmpty, energies: energies) {
          Self.emptyFraction(trial(g, sigma, tau, below, $0).y, showers: n, threshold: threshold)
        }
      }
      results.p[j] = (trial(g, sigma, tau, below, emptyBelow).eps, g, sigma, tau, below, emptyBelow, widthSpread)
    }
    // Layers without a fit keep the identity.
    var transportDense = Array(repeating: unmoved, count: nb)
    var transportTarget = transportDense
    for (j, (b, l)) in jobs.enumerated() {
      (eps[b][l], gam[b][l], spread[b][l], tilt[b][l], single[b][l], floor[b][l], omega[b][l]) = results.p[j]
      for r in rw[b][l].indices { rw[b][l][r] = results.w[j * maxR + r] }
      let nR = geometry.layers[l].nR
      transportDense[b][l] = (0...nR).map { results.c[j * 2 * (maxR + 1) + $0] }
      transportTarget[b][l] = (0...nR).map { results.c[j * 2 * (maxR + 1) + maxR + 1 + $0] }
    }
    return SpotRoundingTable(dataset: dataset, log10EnergyEdges: edges, thresholdsMeV: eps,
                             exponents: fitExponents ? gam : nil, conservesLayerEnergy: conserve ? true : nil,
                             radialWeights: fitWeights ? rw : nil, epsilonEnergyExponent: kappa != 0 ? kappa : nil,
                             randomSpotSizes: conserve && randomSizes ? true : nil,
                             angularSpreads: fitSpreads && fitExponents ? spread : nil,
                             centreTilts: fitTilts && fitExponents ? tilt : nil,
                             singleDepositBelowMeV: fitSingles && fitExponents ? single : nil,
                             randomRotation: fitRotation && angularAsymmetry <= Self.symmetryLimit ? true : nil,
                             emptyBelowMeV: fitEmpties && fitExponents ? floor : nil,
                             layerScales: fitScales || fitSpreadsOfLayers ? scales : nil,
                             layerPivotShares: fitSpreadsOfLayers ? layerMaps.map(\.pivots) : nil,
                             layerExponentsBelow: fitSpreadsOfLayers ? layerMaps.map(\.below) : nil,
                             layerExponentsAbove: fitSpreadsOfLayers ? layerMaps.map(\.above) : nil,
                             widthSpreads: fitWidthSpreads && fitExponents ? omega : nil,
                             totalRatioDense: fitTotal ? ratioDense : nil, totalRatioTarget: fitTotal ? ratioTarget : nil,
                             totalRatioDither: fitTotal && dither > 0 ? dither : nil,
                             radialTransportDense: fitTransport ? transportDense : nil,
                             radialTransportTarget: fitTransport ? transportTarget : nil)
  }

  /// The fewest target showers with the layer non-empty for which a layer scale is fitted (else 1),
  /// and for which its exponents are fitted (else 1).
  static let minLayerScaleShowers = 20, minLayerSpreadShowers = 50

  /// Layer scales s and, with `spreads`, pivots p and exponents b₋, b₊ (`SpotRoundingTable.layerScales`,
  /// `layerPivotShares`, …) for one energy bin: the dense showers `x` (n × voxels), each mapped with
  /// `scaleLayers`, put the same share of the shower into each layer as the target showers `t` (nt ×
  /// voxels) at the middle of the target's non-empty showers, q = f + 0.5(1 − f) with f the share of
  /// showers whose layer is empty (so the empty-layer step, E_0, can then empty the bottom f), and with
  /// `spreads` also the same ratios to it at f + 0.15(1 − f) (b₋) and f + 0.85(1 − f) (b₊). p is the
  /// dense share at q. Fixed-point steps, 40 of them (the rescale back to the shower's energy couples
  /// the layers): s by goal/have at q, each b by the ratio of the target's log distance from the
  /// middle to the mapped one, clamped to `layerExponentRange`; s divided by the median over the
  /// fitted layers and clamped to `layerScaleRange`. A layer with fewer than `minLayerScaleShowers`
  /// (`minLayerSpreadShowers` for b) non-empty target showers, or no energy in the dense showers,
  /// keeps 1.
  static func layerScales(dense x: [Float], showers n: Int, target t: [Float], targetShowers nt: Int,
                          geometry g: Geometry, spreads fitB: Bool = false) -> (scales: [Double], spreads: SpotRoundingTable.LayerSpreads) {
    let nl = g.layers.count, v = g.voxelCount
    let ones = Array(repeating: 1.0, count: nl)
    /// Each shower's share of its energy in each layer, [shower][layer] (showers without energy left out).
    func shares(_ d: [Float], _ m: Int) -> [[Double]] {
      (0..<m).compactMap { i in
        let e = (0..<nl).map { l in
          d[(i * v + g.offsets[l])..<(i * v + g.offsets[l + 1])].reduce(0.0) { $0 + Double(Swift.max($1, 0)) }
        }
        let total = e.reduce(0, +)
        return total > 0 ? e.map { $0 / total } : nil
      }
    }
    func quantile(_ sorted: [Double], _ q: Double) -> Double {
      let p = q * Double(sorted.count - 1), k = Int(p)
      return k + 1 < sorted.count ? sorted[k] + (p - Double(k)) * (sorted[k + 1] - sorted[k]) : sorted[k]
    }
    struct Goal { var lo, mid, hi: Double; var qLo, qMid, qHi: Double; var spread: Bool }
    var goals = [Goal?](repeating: nil, count: nl)
    let target = shares(t, nt)
    for l in 0..<nl {
      let column = target.map { $0[l] }.sorted()
      let filled = column.filter { $0 > 0 }.count
      guard filled >= minLayerScaleShowers else { continue }
      let f = Double(column.count - filled) / Double(column.count)
      let q = (f + 0.15 * (1 - f), f + 0.5 * (1 - f), f + 0.85 * (1 - f))
      goals[l] = Goal(lo: quantile(column, q.0), mid: quantile(column, q.1), hi: quantile(column, q.2),
                      qLo: q.0, qMid: q.1, qHi: q.2, spread: fitB && filled >= minLayerSpreadShowers)
    }
    let dense = shares(x, n)
    let unchanged = (ones, SpotRoundingTable.LayerSpreads.none(layers: nl))
    guard !dense.isEmpty else { return unchanged }
    let pivots = (0..<nl).map { l in goals[l].map { quantile(dense.map { $0[l] }.sorted(), $0.qMid) } ?? 1 }
    let fitted = (0..<nl).filter { goals[$0] != nil && pivots[$0] > 0 }
    guard !fitted.isEmpty else { return unchanged }
    // A layer whose dense share at q is 0 is not fitted: its b stays 1, so pivot 1 leaves it as it is.
    var s = ones, map = SpotRoundingTable.LayerSpreads(pivots: pivots.map { $0 > 0 ? $0 : 1 }, below: ones, above: ones)
    let sRange = SpotRoundingTable.layerScaleRange, bRange = SpotRoundingTable.layerExponentRange
    func clampB(_ b: Double) -> Double { Swift.min(Swift.max(b, bRange.lowerBound), bRange.upperBound) }
    for _ in 0..<40 {
      let have = dense.map { row in
        let y = (0..<nl).map { l in
          row[l] * SpotRoundingTable.layerFactor(share: row[l], scale: s[l], layer: l, spreads: map)
        }
        let total = y.reduce(0, +)
        return y.map { $0 / total }
      }
      for l in fitted {
        let goal = goals[l]!
        let column = have.map { $0[l] }.sorted()
        let mid = quantile(column, goal.qMid)
        guard mid > 0 else { continue }
        s[l] *= goal.mid / mid
        guard goal.spread else { continue }
        let lo = quantile(column, goal.qLo), hi = quantile(column, goal.qHi)
        if lo > 0, lo < mid, goal.lo > 0, goal.lo < goal.mid {
          map.below[l] = clampB(map.below[l] * Foundation.log(goal.mid / goal.lo) / Foundation.log(mid / lo))
        }
        if hi > mid, goal.hi > goal.mid {
          map.above[l] = clampB(map.above[l] * Foundation.log(goal.hi / goal.mid) / Foundation.log(hi / mid))
        }
      }
      let median = fitted.map { s[$0] }.sorted()[fitted.count / 2]
      for l in fitted { s[l] = Swift.min(Swift.max(s[l] / median, sRange.lowerBound), sRange.upperBound) }
    }
    return (s, map)
  }

  /// An energy E among the model's layer energies (`energies`, > 0 and ascending) at which
  /// `statistic(E)`, non-decreasing in E with `statistic(0)` the untouched layer, reaches `goal`: 0 when
  /// the goal is not finite, there are no energies, or `statistic(0)` already reaches it; otherwise the
  /// quantile q ∈ [0, 1] of the energies found by 12 bisection steps, taken halfway between
  /// neighbouring energies so that "below E" separates them cleanly. E_c and E_0 are fitted with it.
  static func energyQuantileReaching(_ goal: Double, energies: [Double], _ statistic: (Double) -> Double) -> Double {
    guard goal.isFinite, !energies.isEmpty else { return 0 }
    let s0 = statistic(0)
    guard s0.isFinite, s0 < goal else { return 0 }
    func quantile(_ q: Double) -> Double {
      let k = Swift.min(energies.count - 1, Int(q * Double(energies.count)))
      return k + 1 < energies.count ? 0.5 * (energies[k] + energies[k + 1]) : energies[k] * 1.0001
    }
    var lo = 0.0, hi = 1.0
    for _ in 0..<12 {
      let mid = 0.5 * (lo + hi)
      if statistic(quantile(mid)) < goal { lo = mid } else { hi = mid }
    }
    return quantile(0.5 * (lo + hi))
  }

  /// The largest |z| `angularAsymmetry` may reach for the fit to turn showers (`randomRotation`): the
  /// test runs once per angular bin of every angular layer (ds3: 2,250), so a symmetric sample reaches
  /// about 3.5–4 by chance.
  public static let symmetryLimit = 5.0

  /// How far the target (training) showers are from symmetric about the axis: over every angular
  /// layer and angular bin a, pooling the energy bins, |mean share of a − 1/nA| / its standard error,
  /// the share being the fraction of a shower's layer energy in bin a (showers with an empty layer left
  /// out); the largest such z. 0 for a geometry without angular layers or no target showers. Real
  /// CaloChallenge showers drop in unchanged: if their angular profile is not flat (a magnetic field
  /// bending charged tracks, say), the fit sees it here and leaves the showers unturned.
  public var angularAsymmetry: Double {
    var worst = 0.0
    let v = geometry.voxelCount
    for (l, layer) in geometry.layers.enumerated() where layer.isAngular {
      let nA = layer.nAlpha, nR = layer.nR
      var s1 = [Double](repeating: 0, count: nA), s2 = s1, share = s1, used = 0
      for (rows, n) in zip(target, targetShowers) {
        for i in 0..<n {
          let lo = i * v + geometry.offsets[l]
          var total = 0.0
          for j in 0..<nA {
            share[j] = 0
            for r in 0..<nR { share[j] += Double(Swift.max(rows[lo + j * nR + r], 0)) }
            total += share[j]
          }
          guard total > 0 else { continue }
          used += 1
          for j in 0..<nA { let f = share[j] / total; s1[j] += f; s2[j] += f * f }
        }
      }
      guard used > 1 else { continue }
      let n = Double(used)
      for j in 0..<nA {
        let mean = s1[j] / n, variance = Swift.max(0, s2[j] / n - mean * mean) * n / (n - 1)
        let se = (variance / n).squareRoot(), d = Swift.abs(mean - 1 / Double(nA))
        worst = Swift.max(worst, se > 0 ? d / se : (d > 1e-12 ? .infinity : 0))
      }
    }
    return worst
  }

  /// The parameter p in [0, `bound`) at which `statistic(p)`, increasing in p, reaches `goal`: 0 when
  /// the goal is not finite or `statistic(0)` already reaches it, 10 bisection steps otherwise (a NaN
  /// statistic counts as short of the goal). When the bisection ends at the bound the goal is out of
  /// reach, and the result is 0 too: the layer is left as it is rather than distorted for nothing (a
  /// sparse layer whose deposits vary more than any σ makes them; a layer needing a tilt beyond
  /// `maxCentreTilt`). The angular spread σ and the centre tilt τ are fitted with it.
  static func smallestReaching(_ goal: Double, bound: Double, _ statistic: (Double) -> Double) -> Double {
    guard goal.isFinite else { return 0 }
    let s0 = statistic(0)
    guard s0.isFinite, s0 < goal else { return 0 }
    var lo = 0.0, hi = bound
    for _ in 0..<10 {
      let mid = 0.5 * (lo + hi)
      let s = statistic(mid)
      if s.isNaN || s < goal { lo = mid } else { hi = mid }
    }
    return hi < bound ? 0.5 * (lo + hi) : 0
  }

  /// Mean over showers of each radial bin's share of the layer (values `x`, n showers × nR·nA, radius
  /// fastest); showers with an empty layer are left out (all zeros if every one is).
  static func radialProfile(_ x: [Float], showers n: Int, nR: Int) -> [Double] {
    let w = x.count / n
    var mean = Array(repeating: 0.0, count: nR), used = 0
    var s = Array(repeating: 0.0, count: nR)
    for i in 0..<n {
      for r in 0..<nR { s[r] = 0 }
      var total = 0.0
      for k in 0..<w where x[i * w + k] > 0 { s[k % nR] += Double(x[i * w + k]); total += Double(x[i * w + k]) }
      guard total > 0 else { continue }
      used += 1
      for r in 0..<nR { mean[r] += s[r] / total }
    }
    return used > 0 ? mean.map { $0 / Double(used) } : mean
  }

  /// `reweight` on every shower of layer values `x` (n showers × nR·nA).
  static func reweight(_ x: inout [Float], showers n: Int, weights: [Double]) {
    let w = x.count / n
    x.withUnsafeMutableBufferPointer { buf in
      for i in 0..<n { SpotRoundingTable.reweight(buf, (i * w)..<((i + 1) * w), weights: weights) }
    }
  }

  /// Bounds of a radial weight relative to the geometric mean of a layer's weights: a factor cannot
  /// fill a radial bin the dense output leaves (nearly) empty, and one the target never fills only
  /// needs to be small.
  static let radialWeightRange = 1e-3...1e3

  /// Radial weights that give the dense layer values `x` the target's mean radial profile (each
  /// shower's profile a share of its layer, `radialProfile`): damped multiplicative steps
  /// w_r ← w_r · (p_target(r) / p_dense(r))^½ (the per-shower rescale couples the bins, so a full step
  /// overshoots), each followed by scaling the weights to geometric mean 1 and clamping them to
  /// `radialWeightRange`. Why: the dense decoders' mean radial profile in sparse layers has gaps and
  /// spikes (ds2 layer-wise stage-1 reconstruction, layer 30: 0.11 / 0.61 / 0.07 / 0.002 / 0.16 in the first five radial bins
  /// against the data's 0.36 / 0.21 / 0.15 / 0.10 / 0.07), and spot rounding draws the few deposits of
  /// such a layer ∝ x, so they land at the decoder's radii, not the data's.
  static func radialWeights(dense x: [Float], showers n: Int, target t: [Float], targetShowers nt: Int, nR: Int) -> [Double] {
    var w = Array(repeating: 1.0, count: nR)
    guard nR > 1 else { return w }
    let goal = radialProfile(t, showers: nt, nR: nR)
    guard goal.contains(where: { $0 > 0 }) else { return w }
    let tiny = 1e-9
    for _ in 0..<12 {
      var y = x
      reweight(&y, showers: n, weights: w)
      let have = radialProfile(y, showers: n, nR: nR)
      var logW = (0..<nR).map { r in Foundation.log(w[r]) + 0.5 * Foundation.log((goal[r] + tiny) / (have[r] + tiny)) }
      let meanLog = logW.reduce(0, +) / Double(nR)
      logW = logW.map { $0 - meanLog }
      w = logW.map { min(max(Foundation.exp($0), radialWeightRange.lowerBound), radialWeightRange.upperBound) }
    }
    return w
  }
}

/// The choices of a `SpotRoundingFit.table` fit, in one value so that `calovq calibrate-sparsity` and
/// both calibration jobs hand them on unchanged. Defaults: the command's (γ, layer-conserving spots of
/// random sizes, radial weights, angular spreads, no κ).
public struct SpotRoundingFitOptions: Sendable, Equatable {
  public var exponents: Bool
  public var conservingLayerEnergy: Bool
  public var maxExponent: Double
  public var radialWeights: Bool
  public var epsilonEnergyExponent: Double
  public var randomSpotSizes: Bool
  public var angularSpreads: Bool
  public var centreTilts: Bool
  public var singleDeposits: Bool
  public var randomRotation: Bool
  public var emptyLayers: Bool
  public var layerScales: Bool
  public var layerSpreads: Bool
  public var widthSpreads: Bool
  /// Fit the E_tot/E_inc map (`SpotRoundingTable.totalRatioDense`).
  public var totalEnergyMap: Bool
  /// Its dither: the model's R level width (`calibrateSpotRounding` sets it from the GPT's quantiser).
  public var totalRatioDither: Double
  /// Fit the radial transport (`SpotRoundingTable.radialTransportDense`).
  public var radialTransport: Bool

  public init(exponents: Bool = true, conservingLayerEnergy: Bool = true,
              maxExponent: Double = SpotRoundingFit.defaultMaxExponent, radialWeights: Bool = true,
              epsilonEnergyExponent: Double = 0, randomSpotSizes: Bool = true, angularSpreads: Bool = true,
              centreTilts: Bool = true, singleDeposits: Bool = true, randomRotation: Bool = true, emptyLayers: Bool = true,
              layerScales: Bool = false, layerSpreads: Bool = false, widthSpreads: Bool = false,
              totalEnergyMap: Bool = false, totalRatioDither: Double = 0, radialTransport: Bool = false) {
    self.exponents = exponents
    self.conservingLayerEnergy = conservingLayerEnergy
    self.maxExponent = maxExponent
    self.radialWeights = radialWeights
    self.epsilonEnergyExponent = epsilonEnergyExponent
    self.randomSpotSizes = randomSpotSizes
    self.angularSpreads = angularSpreads
    self.centreTilts = centreTilts
    self.singleDeposits = singleDeposits
    self.randomRotation = randomRotation
    self.emptyLayers = emptyLayers
    self.layerScales = layerScales
    self.layerSpreads = layerSpreads
    self.widthSpreads = widthSpreads
    self.totalEnergyMap = totalEnergyMap
    self.totalRatioDither = totalRatioDither
    self.radialTransport = radialTransport
  }
}

extension SpotRoundingFit {
  /// `table(exponents:…)` with the choices of `options`.
  public func table(_ options: SpotRoundingFitOptions) -> SpotRoundingTable {
    table(exponents: options.exponents, conservingLayerEnergy: options.conservingLayerEnergy,
          maxExponent: options.maxExponent, radialWeights: options.radialWeights,
          epsilonEnergyExponent: options.epsilonEnergyExponent, randomSpotSizes: options.randomSpotSizes,
          angularSpreads: options.angularSpreads, centreTilts: options.centreTilts,
          singleDeposits: options.singleDeposits, randomRotation: options.randomRotation, emptyLayers: options.emptyLayers,
          layerScales: options.layerScales, layerSpreads: options.layerSpreads, widthSpreads: options.widthSpreads,
          totalEnergyMap: options.totalEnergyMap, totalRatioDither: options.totalRatioDither,
          radialTransport: options.radialTransport)
  }
}

/// The fit's per-job results, written by `concurrentPerform` lanes at disjoint indices (the call joins
/// before they are read): (ε, γ, σ, τ, E_c, E_0) per job, and `maxR` radial weights per job.
private struct FitResults: @unchecked Sendable {
  let p: UnsafeMutableBufferPointer<(Double, Double, Double, Double, Double, Double, Double)>
  let w: UnsafeMutableBufferPointer<Double>
  /// Per job, the radial transport's two cumulative profiles, `maxR + 1` values each.
  let c: UnsafeMutableBufferPointer<Double>
  init(_ p: UnsafeMutableBufferPointer<(Double, Double, Double, Double, Double, Double, Double)>, _ w: UnsafeMutableBufferPointer<Double>,
       _ c: UnsafeMutableBufferPointer<Double>) { self.p = p; self.w = w; self.c = c }
}
