// The official CaloChallenge histograms of each dataset and their binnings (calochallenge_facts.md §d.4),
// plus the helper binnings (EC r, width r, sparsity) that evaluate.py only plots.

import CaloGeometry
import Foundation

/// Which high-level quantity a histogram shows.
public enum HistogramFeature: String, Sendable, Codable, CaseIterable {
  case response = "Etot/Einc"
  case layerEnergy = "E_layer"
  case ecEta = "EC_eta"
  case ecPhi = "EC_phi"
  case widthEta = "width_eta"
  case widthPhi = "width_phi"
  case responseAtEnergy = "Etot/Einc_at_E"
  case voxelEnergy = "voxel_energy"
  case ecR = "EC_r"
  case widthR = "width_r"
  case sparsity = "sparsity"
}

/// One histogram of the evaluation: what it shows, for which layer or energy range, and where its
/// binning comes from.
public struct HistogramSpec: Sendable, Equatable {
  public let feature: HistogramFeature
  /// Layer id for per-layer features.
  public let layer: Int?
  /// For `.responseAtEnergy`: incident energies [lo, hi) in MeV.
  public let energyRange: Range<Double>?
  /// Part of evaluate.py's separation-power file (false for the helper-only EC r, width r, sparsity).
  public let official: Bool
  /// The label evaluate.py writes (e.g. "E layer 3", "EC Eta layer 1", "Voxel distribution").
  public let label: String
  /// A file-name stem for plots (e.g. "E_layer_3").
  public let fileStem: String
  /// Column of the `FeatureTable` (nil for response, per-energy response and voxel energy).
  let column: Int?
  /// Fixed binning; nil when the edges come from the reference maximum (log binnings).
  let fixedBinning: Binning?
  /// For log binnings: the reference column whose maximum sets the top edge (nil → voxel maximum).
  let logEdgeCount: Int
}

/// The histograms of a CaloChallenge dataset, in the order of evaluate.py's `histogram_chi2_<ds>.txt`
/// followed by the helper-only histograms (EC r, width r, sparsity per relevant layer).
public func histogramSpecs(kind: DatasetKind) -> [HistogramSpec] {
  let L = FeatureLayout(geometry: kind.geometry)
  var s: [HistogramSpec] = []
  func add(_ f: HistogramFeature, layer: Int? = nil, range: Range<Double>? = nil, official: Bool = true,
           label: String, stem: String, column: Int?, binning: Binning?, logEdges: Int = 0)
  {
    s.append(HistogramSpec(feature: f, layer: layer, energyRange: range, official: official, label: label,
                           fileStem: stem, column: column, fixedBinning: binning, logEdgeCount: logEdges))
  }
  let ds1 = kind.isDS1
  add(.response, label: "Etot / Einc", stem: "Etot_Einc", column: nil, binning: .linear(0.5, 1.5, bins: 100))
  for (i, id) in L.relevantIds.enumerated() {
    add(.layerEnergy, layer: id, label: "E layer \(id)", stem: "E_layer_\(id)", column: L.layerEnergy + i,
        binning: nil, logEdges: 40)
  }
  // Angular ranges: ds1 ids 12, 13 are the hadronic (TileBar) layers with wider showers.
  func ecRange(_ id: Int) -> Binning {
    ds1 ? (id == 12 || id == 13 ? .linear(-500, 500, bins: 100) : .linear(-100, 100, bins: 100))
      : .linear(-30, 30, bins: 100)
  }
  func widthRange(_ id: Int) -> Binning {
    ds1 ? (id == 12 || id == 13 ? .linear(0, 400, bins: 100) : .linear(0, 100, bins: 100))
      : .linear(0, 30, bins: 100)
  }
  for (i, id) in L.angularIds.enumerated() {
    add(.ecEta, layer: id, label: "EC Eta layer \(id)", stem: "ECEta_layer_\(id)", column: L.ecEta + i,
        binning: ecRange(id))
  }
  for (i, id) in L.angularIds.enumerated() {
    add(.ecPhi, layer: id, label: "EC Phi layer \(id)", stem: "ECPhi_layer_\(id)", column: L.ecPhi + i,
        binning: ecRange(id))
  }
  for (i, id) in L.angularIds.enumerated() {
    add(.widthEta, layer: id, label: "Width Eta layer \(id)", stem: "WidthEta_layer_\(id)",
        column: L.widthEta + i, binning: widthRange(id))
  }
  for (i, id) in L.angularIds.enumerated() {
    add(.widthPhi, layer: id, label: "Width Phi layer \(id)", stem: "WidthPhi_layer_\(id)",
        column: L.widthPhi + i, binning: widthRange(id))
  }
  if ds1 {
    // evaluate.py switches photons to [0.9, 1.1] at 2^12 MeV and never switches back.
    for k in 8...22 {
      let lo = Double(1 << k), hi = Double(1 << (k + 1))
      let narrow = kind == .ds1Photon && k >= 12
      let b: Binning = narrow ? .linear(0.9, 1.1, bins: 20) : .linear(0.4, 1.4, bins: 20)
      add(.responseAtEnergy, range: lo..<hi, label: "Etot / Einc at E = \(Int(lo))",
          stem: "Etot_Einc_E_\(Int(lo))", column: nil, binning: b)
    }
  }
  add(.voxelEnergy, label: "Voxel distribution", stem: "voxel_energy", column: nil, binning: nil, logEdges: 50)
  // Helper-only binnings (plot_ECR, plot_ECWidthR, plot_sparsity).
  func rRange(_ id: Int, ds23: Double) -> Binning {
    ds1 ? (id >= 12 && id <= 14 ? .linear(0, 1500, bins: 100) : .linear(0, 500, bins: 100))
      : .linear(0, ds23, bins: 100)
  }
  for (i, id) in L.relevantIds.enumerated() {
    add(.ecR, layer: id, official: false, label: "EC R layer \(id)", stem: "ECR_layer_\(id)",
        column: L.ecR + i, binning: rRange(id, ds23: 42))
  }
  for (i, id) in L.relevantIds.enumerated() {
    add(.widthR, layer: id, official: false, label: "Width R layer \(id)", stem: "WidthR_layer_\(id)",
        column: L.widthR + i, binning: rRange(id, ds23: 20))
  }
  for (i, id) in L.relevantIds.enumerated() {
    add(.sparsity, layer: id, official: false, label: "Sparsity layer \(id)", stem: "Sparsity_layer_\(id)",
        column: L.sparsity + i, binning: .linear(0, 1, bins: 20))
  }
  return s
}
