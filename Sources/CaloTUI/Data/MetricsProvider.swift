// Running metrics of generated showers against the reference sample, as a table the metrics widgets
// draw. The provider the explorer uses is `SeparationMetrics` (CaloMetrics' RunningSeparation with the
// CaloChallenge histograms); the protocol keeps screens independent of how the numbers are made.

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
  /// Mean over the reference sample; nil for features without a per-shower value (voxel distribution).
  public var referenceMean: Double?
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

/// Makes a provider for a dataset's reference showers (voxels in MeV, one array per shower, shape
/// (voxels)) and their incident energies (MeV).
public typealias MetricsProviderFactory =
  @Sendable (_ kind: DatasetKind, _ reference: [[Float]], _ energiesMeV: [Double]) -> any MetricsProvider
