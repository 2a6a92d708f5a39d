// Per-shower high-level features of the CaloChallenge evaluation (HighLevelFeatures.py,
// calochallenge_facts.md §c): layer energies, centres and widths of energy in eta/phi/r, sparsity.
// Works on plain Float voxel arrays plus a Geometry; the threshold is applied on the fly.

import CaloGeometry
import Dispatch
import Foundation

/// Column layout of a `FeatureTable` row. The order is exactly the §d.3 feature vector order, so the
/// FPD/KPD vector is a column-wise transform of a row (log10 of energies, /100 of lengths):
///
///     [E_inc | E_l ×R | ⟨η⟩_l ×A | ⟨φ⟩_l ×A | σ_η,l ×A | σ_φ,l ×A | E_tot | sp_l ×R | ⟨r⟩_l ×R | σ_r,l ×R]
///
/// R = relevant layers, A = angular layers, both in ascending layer id (= document order here).
/// Width = 2 + 4R + 4A (30 ds1 photons, 46 ds1 pions, 362 ds2/ds3).
public struct FeatureLayout: Sendable, Equatable {
  /// Layer ids of the relevant layers (with voxels), ascending.
  public let relevantIds: [Int]
  /// Layer ids of the angular layers (n_α > 1), ascending.
  public let angularIds: [Int]

  public init(geometry: Geometry) {
    relevantIds = geometry.relevantLayerIndices.map { geometry.layers[$0].id }
    angularIds = geometry.angularLayerIndices.map { geometry.layers[$0].id }
  }

  public var r: Int { relevantIds.count }
  public var a: Int { angularIds.count }
  /// Columns per row.
  public var width: Int { 2 + 4 * r + 4 * a }

  public var incidentEnergy: Int { 0 }
  public var layerEnergy: Int { 1 }
  public var ecEta: Int { 1 + r }
  public var ecPhi: Int { 1 + r + a }
  public var widthEta: Int { 1 + r + 2 * a }
  public var widthPhi: Int { 1 + r + 3 * a }
  public var totalEnergy: Int { 1 + r + 4 * a }
  public var sparsity: Int { 2 + r + 4 * a }
  public var ecR: Int { 2 + 2 * r + 4 * a }
  public var widthR: Int { 2 + 3 * r + 4 * a }
}

/// High-level features of N showers, row-major (N, layout.width), all in Double.
public struct FeatureTable: Sendable {
  public let layout: FeatureLayout
  /// Shape (count, layout.width).
  public var values: [Double]

  public init(layout: FeatureLayout, values: [Double] = []) {
    precondition(values.count % layout.width == 0, "FeatureTable: \(values.count) values, width \(layout.width)")
    self.layout = layout
    self.values = values
  }

  /// Number of showers.
  public var count: Int { values.count / layout.width }
  /// Value of column `c` for shower `i`.
  public subscript(i: Int, c: Int) -> Double { values[i * layout.width + c] }
  /// Column `c` as an array (N).
  public func column(_ c: Int) -> [Double] {
    let w = layout.width
    return (0..<count).map { values[$0 * w + c] }
  }
  public mutating func append(_ other: FeatureTable) {
    precondition(other.layout == layout, "FeatureTable.append: different layouts")
    values += other.values
  }
}

/// Computes `FeatureTable` rows from voxel arrays. Precomputes voxel coordinates once per geometry.
///
/// Definitions (per layer l, S_l = Σ E_k, ε = 1e-16, voxels below `threshold` count as 0):
///   ⟨x⟩ = Σ x_k E_k / (S_l + ε),  σ_x = sqrt(max(Σ x_k² E_k / (S_l + ε) − ⟨x⟩², 0)),
///   sp_l = 1 − #{E_k > 0} / n_vox(l).   x ∈ {η = r cos α, φ = r sin α, r} in mm.
/// An empty layer gives 0 for centres and widths (never NaN) and sparsity 1.
public struct FeatureExtractor: Sendable {
  public let geometry: Geometry
  public let layout: FeatureLayout
  /// Voxel threshold in MeV (strict `<` sets a voxel to 0).
  public let threshold: Double
  let eta: [Double], phi: [Double], rad: [Double]
  /// Per relevant layer: (flat start, flat end, angular column index or -1).
  let layerRanges: [(start: Int, end: Int, angular: Int)]

  public init(geometry: Geometry, threshold: Double) {
    self.geometry = geometry
    self.threshold = threshold
    layout = FeatureLayout(geometry: geometry)
    let c = geometry.voxelCoordinates()
    eta = c.eta
    phi = c.phi
    rad = c.r
    var ranges: [(Int, Int, Int)] = []
    var ai = 0
    for l in geometry.relevantLayerIndices {
      let layer = geometry.layers[l]
      ranges.append((geometry.offsets[l], geometry.offsets[l + 1], layer.isAngular ? ai : -1))
      if layer.isAngular { ai += 1 }
    }
    layerRanges = ranges
  }

  /// The extractor of a CaloChallenge dataset with its official threshold.
  public init(kind: DatasetKind) { self.init(geometry: kind.geometry, threshold: kind.voxelThresholdMeV) }

  /// Features of a batch. Shapes: energies (N), showers (N·voxels) row-major. Runs on all cores.
  public func features(energies: [Double], showers: [Float]) -> FeatureTable {
    let v = geometry.voxelCount, n = energies.count, w = layout.width
    precondition(showers.count == n * v, "features: \(showers.count) values for \(n) showers of \(v) voxels")
    var out = [Double](repeating: 0, count: n * w)
    out.withUnsafeMutableBufferPointer { o in
      showers.withUnsafeBufferPointer { s in
        let chunks = parallelChunks(n)
        let op = Shared(o.baseAddress!), sp = Shared(s.baseAddress!)
        parallelFor(chunks.count) { ci in
          for i in chunks[ci] {
            featuresOfOne(sp.value + i * v, energy: energies[i], into: op.value + i * w)
          }
        }
      }
    }
    return FeatureTable(layout: layout, values: out)
  }

  /// Features of one shower (`voxels` values) into `row` (layout.width values).
  func featuresOfOne(_ x: UnsafePointer<Float>, energy: Double, into row: UnsafeMutablePointer<Double>) {
    let L = layout
    let t = threshold
    row[L.incidentEnergy] = energy
    var tot = 0.0
    eta.withUnsafeBufferPointer { etaP in
      phi.withUnsafeBufferPointer { phiP in
        rad.withUnsafeBufferPointer { radP in
          for (li, lr) in layerRanges.enumerated() {
            var s = 0.0, sr = 0.0, sr2 = 0.0, se = 0.0, se2 = 0.0, sp = 0.0, sp2 = 0.0
            var nz = 0
            if lr.angular >= 0 {
              for k in lr.start..<lr.end {
                let d = Double(x[k])
                let e = d < t ? 0 : d
                if e > 0 { nz += 1 }
                s += e
                let r = radP[k], h = etaP[k], p = phiP[k]
                sr += r * e; sr2 += r * r * e
                se += h * e; se2 += h * h * e
                sp += p * e; sp2 += p * p * e
              }
            } else {
              for k in lr.start..<lr.end {
                let d = Double(x[k])
                let e = d < t ? 0 : d
                if e > 0 { nz += 1 }
                s += e
                let r = radP[k]
                sr += r * e; sr2 += r * r * e
              }
            }
            tot += s
            let den = s + 1e-16
            row[L.layerEnergy + li] = s
            row[L.sparsity + li] = 1 - Double(nz) / Double(lr.end - lr.start)
            let mr = sr / den
            row[L.ecR + li] = mr
            row[L.widthR + li] = max(sr2 / den - mr * mr, 0).squareRoot()
            if lr.angular >= 0 {
              let a = lr.angular
              let me = se / den, mp = sp / den
              row[L.ecEta + a] = me
              row[L.ecPhi + a] = mp
              row[L.widthEta + a] = max(se2 / den - me * me, 0).squareRoot()
              row[L.widthPhi + a] = max(sp2 / den - mp * mp, 0).squareRoot()
            }
          }
        }
      }
    }
    row[L.totalEnergy] = tot
  }
}
