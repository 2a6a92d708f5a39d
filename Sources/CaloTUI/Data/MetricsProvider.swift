// Running metrics of generated showers against the reference sample, as a table the metrics widgets
// draw. The built-in provider compares E_tot/E_inc and the energy per layer with a simple histogram
// separation power; CaloMetrics' full CaloChallenge set (centres of energy, widths, ...) replaces it
// through the same protocol.

import CaloGeometry
import Foundation

/// Normalised histograms of one feature: generated over reference on shared bins.
public struct FeatureHistogram: Sendable, Equatable {
  /// Bin edges, `bins + 1` values, in the feature's unit.
  public var edges: [Double]
  /// Fraction of generated showers per bin (sums to 1 when any exist). Shape (bins).
  public var generated: [Double]
  /// Fraction of reference showers per bin. Shape (bins).
  public var reference: [Double]
}

/// One row of the metrics table.
public struct MetricsRow: Sendable, Equatable {
  /// Feature name, e.g. "E_tot/E_inc", "E_layer".
  public var feature: String
  /// Layer id for per-layer features.
  public var layer: Int?
  /// Unit of the means ("" for ratios).
  public var unit: String
  public var referenceMean: Double
  /// Nil before any shower was generated.
  public var generatedMean: Double?
  /// Separation power in [0, 1] (0 = identical histograms); nil before any shower was generated.
  public var separation: Double?
  public var histogram: FeatureHistogram?

  /// "E_layer L12" or "E_tot/E_inc".
  public var label: String { layer.map { "\(feature) L\($0)" } ?? feature }
}

/// The metrics table at one moment.
public struct MetricsTable: Sendable, Equatable {
  /// Says how the numbers were computed (shown above the table).
  public var method: String
  public var generatedCount: Int
  public var referenceCount: Int
  public var rows: [MetricsRow]

  public static let empty = MetricsTable(method: "", generatedCount: 0, referenceCount: 0, rows: [])
}

/// Accumulates generated showers and reports metrics against a fixed reference sample.
public protocol MetricsProvider: Sendable {
  /// Adds one generated shower. Shape of `voxels`: (voxels) in MeV.
  mutating func add(_ voxels: [Float], energyMeV: Double)
  /// The current table.
  func table() -> MetricsTable
}

/// Makes a provider for the reference showers (voxels in MeV, one array per shower) and their energies.
public typealias MetricsProviderFactory =
  @Sendable (_ geometry: Geometry, _ reference: [[Float]], _ energiesMeV: [Double]) -> any MetricsProvider

/// Built-in metrics: E_tot/E_inc and E_layer per relevant layer, each with its mean and the separation
/// power ½ Σ (p−q)²/(p+q) of 20-bin histograms (log bins for energies, linear for the ratio) spanning the
/// reference range; values outside go to the first/last bin.
public struct LayerEnergyMetrics: MetricsProvider {
  private let geometry: Geometry
  private let names: [(feature: String, layer: Int?, unit: String, log: Bool)]
  private let edges: [[Double]]
  private let refHist: [[Double]]
  private let refMeans: [Double]
  private let refCount: Int
  private var genHist: [[Double]]
  private var genSums: [Double]
  private var genCount = 0
  public static let bins = 20

  public init(geometry: Geometry, reference: [[Float]], energiesMeV: [Double]) {
    self.geometry = geometry
    var names: [(String, Int?, String, Bool)] = [("E_tot/E_inc", nil, "", false)]
    for l in geometry.relevantLayerIndices { names.append(("E_layer", geometry.layers[l].id, "MeV", true)) }
    self.names = names
    let refFeatures = zip(reference, energiesMeV).map { LayerEnergyMetrics.features($0.0, $0.1, geometry) }
    var edges: [[Double]] = []
    for (j, n) in names.enumerated() {
      let vals = refFeatures.map { $0[j] }
      edges.append(LayerEnergyMetrics.binEdges(vals, log: n.3))
    }
    self.edges = edges
    refHist = (0..<names.count).map { j in
      LayerEnergyMetrics.normalised(LayerEnergyMetrics.histogram(refFeatures.map { $0[j] }, edges[j]))
    }
    refMeans = (0..<names.count).map { j in
      refFeatures.isEmpty ? 0 : refFeatures.map { $0[j] }.reduce(0, +) / Double(refFeatures.count)
    }
    refCount = reference.count
    genHist = edges.map { Array(repeating: 0, count: $0.count - 1) }
    genSums = Array(repeating: 0, count: names.count)
  }

  /// A factory for the explorer.
  public static let factory: MetricsProviderFactory = { LayerEnergyMetrics(geometry: $0, reference: $1, energiesMeV: $2) }

  public mutating func add(_ voxels: [Float], energyMeV: Double) {
    let f = LayerEnergyMetrics.features(voxels, energyMeV, geometry)
    for j in f.indices {
      genSums[j] += f[j]
      genHist[j][LayerEnergyMetrics.bin(f[j], edges[j])] += 1
    }
    genCount += 1
  }

  public func table() -> MetricsTable {
    let rows = names.indices.map { j -> MetricsRow in
      let g = genCount > 0 ? LayerEnergyMetrics.normalised(genHist[j]) : nil
      let sep = g.map { g in
        0.5 * zip(g, refHist[j]).reduce(0.0) { acc, pq in
          let s = pq.0 + pq.1
          return s > 0 ? acc + (pq.0 - pq.1) * (pq.0 - pq.1) / s : acc
        }
      }
      return MetricsRow(
        feature: names[j].feature, layer: names[j].layer, unit: names[j].unit, referenceMean: refMeans[j],
        generatedMean: genCount > 0 ? genSums[j] / Double(genCount) : nil, separation: sep,
        histogram: FeatureHistogram(edges: edges[j], generated: g ?? Array(repeating: 0, count: refHist[j].count),
                                    reference: refHist[j]))
    }
    return MetricsTable(method: "built-in: means and separation power of \(LayerEnergyMetrics.bins)-bin histograms",
                        generatedCount: genCount, referenceCount: refCount, rows: rows)
  }

  /// [E_tot/E_inc, E_layer for each relevant layer].
  static func features(_ v: [Float], _ e: Double, _ g: Geometry) -> [Double] {
    var out: [Double] = [0]
    var tot = 0.0
    for l in g.relevantLayerIndices {
      var s = 0.0
      for k in g.offsets[l]..<g.offsets[l + 1] { s += Double(v[k]) }
      tot += s
      out.append(s)
    }
    out[0] = tot / e
    return out
  }

  static func binEdges(_ vals: [Double], log useLog: Bool) -> [Double] {
    let n = bins
    if useLog {
      let pos = vals.filter { $0 > 0 }
      let lo = max(pos.min() ?? 1e-3, 1e-6), hi = max(pos.max() ?? 1, lo * 10)
      let a = Foundation.log10(lo), b = Foundation.log10(hi)
      return (0...n).map { pow(10, a + (b - a) * Double($0) / Double(n)) }
    }
    let lo = vals.min() ?? 0, hi = vals.max() ?? 1
    let span = hi > lo ? hi - lo : max(abs(lo), 1) * 0.1
    return (0...n).map { lo + span * Double($0) / Double(n) }
  }

  static func bin(_ x: Double, _ edges: [Double]) -> Int {
    var lo = 0, hi = edges.count - 1  // binary search for the last edge <= x
    if x < edges[1] { return 0 }
    if x >= edges[edges.count - 2] { return edges.count - 2 }
    while hi - lo > 1 {
      let m = (lo + hi) / 2
      if edges[m] <= x { lo = m } else { hi = m }
    }
    return lo
  }

  static func histogram(_ vals: [Double], _ edges: [Double]) -> [Double] {
    var h = [Double](repeating: 0, count: edges.count - 1)
    for v in vals { h[bin(v, edges)] += 1 }
    return h
  }

  static func normalised(_ h: [Double]) -> [Double] {
    let s = h.reduce(0, +)
    return s > 0 ? h.map { $0 / s } : h
  }
}
