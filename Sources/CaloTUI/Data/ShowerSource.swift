// Where the explorer's "generated" showers come from: a model folder (`ModelShowerSource`) or, when
// a dataset/normalisation has no model, rows of the reference file (`ReferenceFileSource`). The
// worker gets them through `ShowerSourceFactory`.

import CaloGeometry

/// One shower produced by a source.
public struct SourceShower: Sendable {
  /// Incident energy in MeV.
  public var energyMeV: Double
  /// Voxel energies in MeV in the dataset's flat order. Shape (voxels).
  public var voxels: [Float]
  /// Wall time to produce this shower, in milliseconds.
  public var timeMs: Double
  /// Where it came from, e.g. "file row 1234" or "model ds2-global seed 123".
  public var origin: String
  /// The token sequence a model drew it from (nil for file rows).
  public var tokens: ShowerTokens?

  public init(energyMeV: Double, voxels: [Float], timeMs: Double, origin: String, tokens: ShowerTokens? = nil) {
    self.energyMeV = energyMeV
    self.voxels = voxels
    self.timeMs = timeMs
    self.origin = origin
    self.tokens = tokens
  }
}

/// Which normalisation variant of a dataset's model a source stands for (`n` toggles it).
public enum Normalisation: String, CaseIterable, Sendable {
  case global = "global"
  case layerWise = "layer-wise"

  public var toggled: Normalisation { self == .global ? .layerWise : .global }
}

/// Produces showers for the explorer. Called only from the explorer's worker thread, one call at a
/// time, so implementations need no locking.
public protocol ShowerSource: AnyObject {
  /// Shown in the header, e.g. "file sample-data/ds2.h5 (no model)". Say honestly what it is.
  var name: String { get }
  /// True when showers come from a generative model (enables "generated" wording in the UI).
  var isModel: Bool { get }
  /// The next shower at (or, for file-backed sources, nearest to) `energyMeV`.
  func nextShower(energyMeV: Double) throws -> SourceShower
  /// The next `count` showers (sources that batch, such as models, override this).
  func nextShowers(energyMeV: Double, count: Int) throws -> [SourceShower]
}

extension ShowerSource {
  public func nextShowers(energyMeV: Double, count: Int) throws -> [SourceShower] {
    try (0..<count).map { _ in try nextShower(energyMeV: energyMeV) }
  }
}

/// Makes the source for a dataset and normalisation; `reference` is the opened reference sample,
/// which file-backed sources reuse. Called on the worker thread.
public typealias ShowerSourceFactory =
  @Sendable (_ kind: DatasetKind, _ normalisation: Normalisation, _ reference: ReferenceSample) throws
  -> ShowerSource
