// The immutable data the worker publishes and the screens draw (htop: Machine after a scan).
// Arrays are copy-on-write, so publishing a snapshot copies no voxels.

import CaloGeometry

/// Everything the screens show that comes from data.
public struct ExplorerSnapshot: Sendable {
  /// Increases with every publication; the UI redraws when it changes.
  public var version = 0
  /// The context the data belongs to (nil before the first load).
  public var context: ExplorerContext?
  public var geometry: Geometry?
  /// The active source's honest name (e.g. "file sample-data/ds2.h5 (no model)").
  public var sourceName = ""
  public var sourceIsModel = false
  public var referencePath = ""
  /// Last shower from the source (active normalisation).
  public var current: SourceShower?
  /// A reference shower at the same energy (changes with every `g`).
  public var reference: SourceShower?
  /// Running voxel mean of the source's showers (MeV). Shape (voxels).
  public var generatedMean: [Float]?
  public var generatedCount = 0
  /// Voxel mean of the reference showers near this energy (MeV). Shape (voxels).
  public var referenceMean: [Float]?
  public var referenceCount = 0
  /// Mean production time per shower of the active source, ms.
  public var meanTimeMs: Double?
  /// Metrics for each normalisation variant that has produced showers (both stay visible).
  public var metrics: [Normalisation: MetricsTable] = [:]
  /// "loading ds2 reference ...", "generating 12/50"; nil when idle.
  public var busy: String?
  /// A problem to show instead of data (missing reference file ...).
  public var error: String?
  /// One-line outcome of the last request ("step-by-step generation needs a model ...").
  public var notice: String?
  /// Source name of each normalisation variant (shows which has a model).
  public var sourceNames: [Normalisation: String] = [:]
  /// The active model (nil when showers come from the reference file).
  public var model: ModelSummary?
  /// Code usage of the active model.
  public var codebook: CodebookUsage?
  /// Token sequence shown on the token screen.
  public var tokenPanel: TokenPanel?
  /// Decoded footprint of the selected code.
  public var footprint: CodeFootprint?

  public init() {}

  /// Voxels of `subject`, if available.
  public func voxels(_ subject: Subject) -> [Float]? {
    switch subject {
    case .shower: return current?.voxels
    case .reference: return reference?.voxels
    case .generatedMean: return generatedMean
    case .referenceMean: return referenceMean
    }
  }
}
