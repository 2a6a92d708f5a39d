// The explorer's running metrics: CaloMetrics' RunningSeparation (the CaloChallenge histograms and
// separation power ½ Σ (p−q)²/(p+q) of evaluate.py) against the reference showers near the chosen
// energy, plus the feature means of both samples from CaloMetrics' FeatureExtractor.

import CaloGeometry
import CaloMetrics
import Foundation

/// Metrics rows for E_tot/E_inc, E_layer, EC η/φ and widths η/φ per layer, and the voxel-energy
/// distribution, using the official CaloChallenge binnings (`histogramSpecs(kind:)`).
///
/// The per-energy response histograms of ds1 (`Etot/Einc_at_E`) and the helper-only ones (EC r,
/// width r, sparsity) are left out: the explorer compares showers of one energy, where the former
/// repeats E_tot/E_inc, and the latter are not part of evaluate.py's separation file.
public struct SeparationMetrics: MetricsProvider {
  private let running: RunningSeparation
  private let extractor: FeatureExtractor
  /// (spec index, row template, column of the feature table or nil) for every shown row.
  private let rows: [(spec: Int, row: MetricsRow, column: Int?)]
  private let box = SumBox()

  /// Running sums of the feature table columns of generated showers. A class so that `add` through a
  /// `let` copy of the provider keeps one accumulator, like RunningSeparation itself.
  private final class SumBox: @unchecked Sendable {
    let lock = NSLock()
    var sums: [Double] = []
    /// Σ E_tot/E_inc (a per-shower ratio, not a ratio of sums).
    var responseSum = 0.0
    var count = 0
  }

  /// Builds the reference histograms and means from `reference` (one voxel array per shower, MeV)
  /// with incident energies `energiesMeV`.
  public init(kind: DatasetKind, reference: [[Float]], energiesMeV: [Double]) {
    let flat = reference.flatMap { $0 }
    // The two passes of ReferenceHistograms.build over one in-memory batch; pass 1 also gives the
    // reference features for the means.
    var builder = ReferenceBuilder(kind: kind)
    let refTable = builder.addFeatures(energies: energiesMeV, showers: flat)
    builder.endFeaturePass()
    builder.addVoxels(showers: flat)
    running = RunningSeparation(reference: builder.finish())
    extractor = builder.extractor
    let L = extractor.layout
    func refMean(_ column: Int?) -> Double? {
      guard let column, refTable.count > 0 else { return nil }
      return SeparationMetrics.mean(refTable, column: column)
    }
    var rows: [(Int, MetricsRow, Int?)] = []
    for (i, spec) in running.reference.specs.enumerated() where spec.official {
      let name: String, unit: String, column: Int?
      let relIndex = spec.layer.flatMap { L.relevantIds.firstIndex(of: $0) }
      let angIndex = spec.layer.flatMap { L.angularIds.firstIndex(of: $0) }
      switch spec.feature {
      case .response: (name, unit, column) = ("E_tot/E_inc", "", L.totalEnergy)
      case .layerEnergy: (name, unit, column) = ("E_layer", "MeV", relIndex.map { L.layerEnergy + $0 })
      case .ecEta: (name, unit, column) = ("EC eta", "mm", angIndex.map { L.ecEta + $0 })
      case .ecPhi: (name, unit, column) = ("EC phi", "mm", angIndex.map { L.ecPhi + $0 })
      case .widthEta: (name, unit, column) = ("width eta", "mm", angIndex.map { L.widthEta + $0 })
      case .widthPhi: (name, unit, column) = ("width phi", "mm", angIndex.map { L.widthPhi + $0 })
      case .voxelEnergy: (name, unit, column) = ("voxel E", "MeV", nil)
      default: continue
      }
      var mean = refMean(column)
      if spec.feature == .response, refTable.count > 0 {
        mean = (0..<refTable.count).reduce(0.0) { $0 + refTable[$1, L.totalEnergy] / refTable[$1, L.incidentEnergy] }
          / Double(refTable.count)
      }
      rows.append((i, MetricsRow(feature: name, layer: spec.layer, unit: unit, referenceMean: mean,
                                 generatedMean: nil, separation: nil, histogram: nil), column))
    }
    self.rows = rows
    box.sums = Array(repeating: 0, count: L.width)
  }

  /// The factory the explorer uses by default.
  public static let factory: MetricsProviderFactory = { SeparationMetrics(kind: $0, reference: $1, energiesMeV: $2) }

  public mutating func add(_ voxels: [Float], energyMeV: Double) {
    running.add(energies: [energyMeV], showers: voxels)
    let t = extractor.features(energies: [energyMeV], showers: voxels)
    box.lock.lock()
    for c in 0..<t.layout.width { box.sums[c] += t[0, c] }
    box.responseSum += t[0, t.layout.totalEnergy] / energyMeV
    box.count += 1
    box.lock.unlock()
  }

  public func table() -> MetricsTable {
    let comparisons = running.histograms()
    box.lock.lock()
    let sums = box.sums, n = box.count, response = box.responseSum
    box.lock.unlock()
    let L = extractor.layout
    let out = rows.map { r -> MetricsRow in
      var row = r.row
      let c = comparisons[r.spec]
      if n > 0 {
        row.separation = c.separation
        if let col = r.column {
          row.generatedMean = (col == L.totalEnergy ? response : sums[col]) / Double(n)
        }
      }
      if let b = c.binning {
        func fractions(_ counts: [Int]) -> [Double] {
          let s = Double(counts.reduce(0, +))
          return s > 0 ? counts.map { Double($0) / s } : counts.map { _ in 0 }
        }
        row.histogram = FeatureHistogram(edges: b.edges, generated: fractions(c.generatedCounts),
                                         reference: fractions(c.referenceCounts))
      }
      return row
    }
    return MetricsTable(method: "CaloChallenge histograms, separation power", generatedCount: n,
                        referenceCount: running.reference.count, rows: out)
  }

  static func mean(_ t: FeatureTable, column: Int) -> Double {
    var s = 0.0
    for i in 0..<t.count { s += t[i, column] }
    return s / Double(t.count)
  }
}
