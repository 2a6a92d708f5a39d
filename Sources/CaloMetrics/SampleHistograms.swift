// Filling the evaluation histograms batch by batch: a two-pass builder for the reference (log-binned
// edges need the reference maxima first) and a one-pass accumulator for generated showers.

import CaloGeometry
import Dispatch
import Foundation

/// The reference side of an evaluation, frozen: every histogram's binning and reference counts.
public struct ReferenceHistograms: Sendable {
  public let kind: DatasetKind
  /// All histograms of the dataset (`histogramSpecs(kind:)`).
  public let specs: [HistogramSpec]
  /// Per spec; nil when the histogram is undefined (log binning whose reference maximum is at or
  /// below the threshold, i.e. the reference never has an entry there).
  public let histograms: [Histogram?]
  /// Reference showers seen.
  public let count: Int

  /// Builds the reference from a batch source that can be replayed. `forEachBatch` is called twice
  /// (feature pass, then voxel-histogram pass) and must deliver the same showers both times.
  /// Shapes per batch: energies (N), showers (N·voxels).
  public static func build(
    kind: DatasetKind,
    forEachBatch: ((_ energies: [Double], _ showers: [Float]) throws -> Void) throws -> Void
  ) rethrows -> ReferenceHistograms {
    var b = ReferenceBuilder(kind: kind)
    try forEachBatch { e, s in _ = b.addFeatures(energies: e, showers: s) }
    b.endFeaturePass()
    if b.voxelRowsNeeded > 0 { try forEachBatch { _, s in b.addVoxels(showers: s) } }
    return b.finish()
  }
}

/// Builds `ReferenceHistograms` in (at most) two streaming passes over the reference showers:
/// 1. `addFeatures` for every batch (features, fixed-binning histograms, maxima);
/// 2. `endFeaturePass()`, then `addVoxels` for the batches again, in the same order (the voxel
///    histogram, whose top edge is the reference's maximum voxel energy), then `finish()`.
///
/// Pass 2 is usually short: pass 1 already fills the voxel histogram in the binning of the running
/// maximum, restarting whenever a batch raises it. At the end that binning is the final one (the same
/// `Binning.geometric` call on the same maximum), so only showers before the batch that set the final
/// maximum still need counting: `voxelRowsNeeded` of them. `addVoxels` ignores rows past that, so
/// replaying every batch stays correct. Memory: the reference layer energies (N × relevant layers
/// doubles) until `endFeaturePass`.
public struct ReferenceBuilder: Sendable {
  public let kind: DatasetKind
  public let extractor: FeatureExtractor
  public let specs: [HistogramSpec]
  var histograms: [Histogram?]
  /// Reference layer energies (N, R) kept until their log binnings are known.
  var pendingLayerEnergies: [Double] = []
  var voxelMax: Double = 0
  var featurePassDone = false
  public private(set) var count = 0
  /// Voxel histogram of showers [voxelValidFrom, count) in the binning of the running `voxelMax`
  /// (nil while that binning is undefined).
  var provisionalVoxels: Histogram?
  var voxelValidFrom = 0
  /// Rows consumed by `addVoxels` so far (pass 2).
  var voxelRowsSeen = 0

  /// Showers from the start of the reference that pass 2 (`addVoxels`) still has to see; 0 means the
  /// voxel histogram is complete after pass 1. Valid after `endFeaturePass()`.
  public var voxelRowsNeeded: Int { voxelValidFrom }

  public init(kind: DatasetKind) {
    self.kind = kind
    extractor = FeatureExtractor(kind: kind)
    specs = histogramSpecs(kind: kind)
    histograms = specs.map { $0.fixedBinning.map(Histogram.init) }
  }

  /// Pass 1: adds a batch of reference showers. Returns the batch's features (for FPD/KPD vectors).
  @discardableResult
  public mutating func addFeatures(energies: [Double], showers: [Float]) -> FeatureTable {
    precondition(!featurePassDone, "ReferenceBuilder.addFeatures after endFeaturePass")
    let t = extractor.features(energies: energies, showers: showers)
    fillTableHistograms(&histograms, specs: specs, table: t)
    let L = t.layout
    for i in 0..<t.count {
      for j in 0..<L.r { pendingLayerEnergies.append(t[i, L.layerEnergy + j]) }
    }
    let batchMax = Double(maxVoxel(showers))
    if batchMax > voxelMax {
      // New maximum, new binning: earlier showers are left to pass 2.
      voxelMax = batchMax
      voxelValidFrom = count
      provisionalVoxels = Binning.geometric(from: extractor.threshold, to: voxelMax,
                                            edgeCount: voxelSpec?.logEdgeCount ?? 2).map(Histogram.init)
    }
    if voxelSpec != nil, var h = provisionalVoxels {
      provisionalVoxels = nil  // keep `h` uniquely referenced while filling
      fillVoxelHistogram(&h, showers: showers, threshold: extractor.threshold)
      provisionalVoxels = h
    }
    count += t.count
    return t
  }

  /// The voxel-energy spec of this dataset (every CaloChallenge catalogue has one).
  var voxelSpec: HistogramSpec? { specs.first { $0.feature == .voxelEnergy } }

  /// Ends pass 1: fixes the log binnings from the reference maxima and fills the layer-energy histograms.
  public mutating func endFeaturePass() {
    precondition(!featurePassDone, "endFeaturePass called twice")
    featurePassDone = true
    let L = extractor.layout
    let n = pendingLayerEnergies.count / max(L.r, 1)
    let t = extractor.threshold
    for (si, spec) in specs.enumerated() where spec.fixedBinning == nil {
      if spec.feature == .voxelEnergy {
        let final = Binning.geometric(from: t, to: voxelMax, edgeCount: spec.logEdgeCount)
        precondition(final == provisionalVoxels?.binning, "voxel binning differs from the provisional one")
        histograms[si] = provisionalVoxels
        provisionalVoxels = nil
        if final == nil { voxelValidFrom = 0 }
        continue
      }
      let j = spec.column! - L.layerEnergy
      var mx = -Double.infinity
      for i in 0..<n { mx = max(mx, pendingLayerEnergies[i * L.r + j]) }
      guard var h = Binning.geometric(from: t, to: mx, edgeCount: spec.logEdgeCount).map(Histogram.init) else {
        histograms[si] = nil
        continue
      }
      for i in 0..<n { h.add(pendingLayerEnergies[i * L.r + j]) }
      histograms[si] = h
    }
    pendingLayerEnergies = []
  }

  /// Pass 2: adds the voxels of the next batch (batches in pass-1 order, from the first shower) to the
  /// voxel-energy histogram. Only showers below `voxelRowsNeeded` are counted (the rest already were);
  /// callers may stop once they have passed that many showers. `showers` must be whole showers.
  public mutating func addVoxels(showers: [Float]) {
    precondition(featurePassDone, "ReferenceBuilder.addVoxels before endFeaturePass")
    let v = extractor.geometry.voxelCount
    let rows = showers.count / v
    let first = voxelRowsSeen
    voxelRowsSeen += rows
    let take = max(0, min(rows, voxelValidFrom - first))
    guard take > 0, let vi = specs.firstIndex(where: { $0.feature == .voxelEnergy }), var h = histograms[vi] else {
      return
    }
    histograms[vi] = nil
    fillVoxelHistogram(&h, showers: take == rows ? showers : Array(showers[0..<(take * v)]),
                       threshold: extractor.threshold)
    histograms[vi] = h
  }

  /// The frozen reference (call after pass 2).
  public func finish() -> ReferenceHistograms {
    precondition(featurePassDone, "ReferenceBuilder.finish before endFeaturePass")
    precondition(voxelRowsSeen >= voxelValidFrom,
                 "ReferenceBuilder.finish: pass 2 saw \(voxelRowsSeen) of \(voxelValidFrom) needed showers")
    return ReferenceHistograms(kind: kind, specs: specs, histograms: histograms, count: count)
  }
}

/// Histograms of a generated sample in the reference's binnings, filled in one pass.
public struct SampleHistograms: Sendable {
  public let extractor: FeatureExtractor
  public let specs: [HistogramSpec]
  /// Per spec; nil where the reference histogram is undefined.
  public private(set) var histograms: [Histogram?]
  public private(set) var count = 0

  public init(reference: ReferenceHistograms) {
    extractor = FeatureExtractor(kind: reference.kind)
    specs = reference.specs
    histograms = reference.histograms.map { $0.map { Histogram(binning: $0.binning) } }
  }

  /// Adds a batch. Shapes: energies (N), showers (N·voxels). Returns the batch's features.
  @discardableResult
  public mutating func add(energies: [Double], showers: [Float]) -> FeatureTable {
    let t = extractor.features(energies: energies, showers: showers)
    add(table: t, showers: showers)
    return t
  }

  /// Adds a batch whose features were already computed (`table` must describe `showers`).
  public mutating func add(table t: FeatureTable, showers: [Float]) {
    fillTableHistograms(&histograms, specs: specs, table: t)
    if let vi = specs.firstIndex(where: { $0.feature == .voxelEnergy }), var h = histograms[vi] {
      histograms[vi] = nil
      fillVoxelHistogram(&h, showers: showers, threshold: extractor.threshold)
      histograms[vi] = h
    }
    count += t.count
  }
}

/// One row of a separation-power table.
public struct SeparationEntry: Sendable, Equatable, Codable {
  public var feature: HistogramFeature
  /// Layer id (per-layer features).
  public var layer: Int?
  /// Lower edge of the incident-energy range in MeV (ds1 per-energy response).
  public var incidentEnergy: Double?
  /// evaluate.py's label ("E layer 3", ...).
  public var label: String
  /// In evaluate.py's separation file (false for EC r, width r, sparsity).
  public var official: Bool
  /// Separation power in [0, 1]; nil when undefined (a histogram with no entry in range).
  public var value: Double?

  public init(feature: HistogramFeature, layer: Int?, incidentEnergy: Double?, label: String, official: Bool, value: Double?) {
    self.feature = feature
    self.layer = layer
    self.incidentEnergy = incidentEnergy
    self.label = label
    self.official = official
    self.value = value
  }
}

/// A reference/generated histogram pair, for tables and drawings.
public struct HistogramComparison: Sendable {
  public let spec: HistogramSpec
  /// nil when undefined.
  public let binning: Binning?
  /// Counts per bin (empty when undefined).
  public let referenceCounts: [Int]
  public let generatedCounts: [Int]
  public let separation: Double?
}

/// Pairs every reference histogram with the generated one.
public func compare(reference: ReferenceHistograms, generated: SampleHistograms) -> [HistogramComparison] {
  reference.specs.indices.map { i in
    let r = reference.histograms[i], g = generated.histograms[i]
    let sep = (r != nil && g != nil) ? separationPower(reference: r!, generated: g!) : nil
    return HistogramComparison(spec: reference.specs[i], binning: r?.binning, referenceCounts: r?.counts ?? [],
                               generatedCounts: g?.counts ?? [], separation: sep)
  }
}

/// Separation power of every histogram, in catalogue order.
public func separations(_ comparisons: [HistogramComparison]) -> [SeparationEntry] {
  comparisons.map { c in
    SeparationEntry(feature: c.spec.feature, layer: c.spec.layer, incidentEnergy: c.spec.energyRange?.lowerBound,
                    label: c.spec.label, official: c.spec.official, value: c.separation)
  }
}

// MARK: - Filling

/// Fills every table-based histogram (all but the voxel histogram) from the rows of `table`.
func fillTableHistograms(_ hs: inout [Histogram?], specs: [HistogramSpec], table t: FeatureTable) {
  let L = t.layout, n = t.count, w = L.width
  t.values.withUnsafeBufferPointer { v in
    for (si, spec) in specs.enumerated() {
      guard spec.feature != .voxelEnergy, var h = hs[si] else { continue }
      hs[si] = nil  // keep `h` uniquely referenced while filling
      switch spec.feature {
      case .response:
        for i in 0..<n { h.add(v[i * w + L.totalEnergy] / v[i * w + L.incidentEnergy]) }
      case .responseAtEnergy:
        let r = spec.energyRange!
        for i in 0..<n where r.contains(v[i * w + L.incidentEnergy]) {
          h.add(v[i * w + L.totalEnergy] / v[i * w + L.incidentEnergy])
        }
      default:
        let c = spec.column!
        for i in 0..<n { h.add(v[i * w + c]) }
      }
      hs[si] = h
    }
  }
}

/// Adds every thresholded voxel of `showers` to `h` (zeros fall below the first edge and are dropped).
func fillVoxelHistogram(_ h: inout Histogram, showers: [Float], threshold: Double) {
  let b = h.binning
  let lookup = FloatBinLookup(b)
  let chunks = parallelBlocks(showers.count)
  var partial = [Int](repeating: 0, count: chunks.count * b.count)
  partial.withUnsafeMutableBufferPointer { pp in
    showers.withUnsafeBufferPointer { s in
      let pp = Shared(pp.baseAddress!), sp = Shared(s.baseAddress!)
      parallelFor(chunks.count) { ci in
        let c = pp.value + ci * b.count
        let lo = max(threshold, b.edges[0])
        for k in chunks[ci] {
          let x = sp.value[k]
          // Thresholded zeros and anything below the first edge are dropped alike.
          if Double(x) < lo { continue }
          if let i = lookup.bin(of: x) { c[i] += 1 }
        }
      }
    }
  }
  for ci in chunks.indices { for i in 0..<b.count { h.counts[i] += partial[ci * b.count + i] } }
}

/// Bin lookup for positive Float values through a table indexed by the top 16 bits of the float
/// (sign, exponent, 7 mantissa bits): the table holds the bin of the smallest float with those bits,
/// and at most a step or two up against the exact edges finishes the search. Same result as
/// `Binning.bin(of: Double(x))`, about twice as fast on voxel arrays.
struct FloatBinLookup: Sendable {
  let binning: Binning
  let table: [Int32]

  init(_ b: Binning) {
    binning = b
    var t = [Int32](repeating: -1, count: 1 << 15)
    for key in 0..<(1 << 15) {
      let x = Double(Float(bitPattern: UInt32(key) << 16))
      if x.isFinite, x >= b.edges[0], let i = b.bin(of: x) { t[key] = Int32(i) }
      else if x.isFinite, x < b.edges[0] { t[key] = 0 }
      else { t[key] = Int32(b.count - 1) }
    }
    table = t
  }

  @inline(__always)
  func bin(of x: Float) -> Int? {
    let d = Double(x)
    let e = binning.edges
    let n = e.count - 1
    guard d >= e[0] && d <= e[n] else { return nil }
    let key = Int(x.bitPattern >> 16)
    guard key < table.count else { return binning.bin(of: d) }
    var i = Int(table[key])
    while i < n - 1 && d >= e[i + 1] { i += 1 }
    while i > 0 && d < e[i] { i -= 1 }
    return i
  }
}

/// Largest voxel value of a batch (0 for an empty batch).
func maxVoxel(_ showers: [Float]) -> Float {
  let chunks = parallelBlocks(showers.count)
  var partial = [Float](repeating: 0, count: chunks.count)
  partial.withUnsafeMutableBufferPointer { pp in
    showers.withUnsafeBufferPointer { s in
      let pp = Shared(pp.baseAddress!), sp = Shared(s.baseAddress!)
      parallelFor(chunks.count) { ci in
        var m: Float = 0
        for k in chunks[ci] { m = max(m, sp.value[k]) }
        pp.value[ci] = m
      }
    }
  }
  return partial.max() ?? 0
}
