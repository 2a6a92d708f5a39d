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
// the mean number of non-empty voxels matches theirs (`SpotRoundingFit`); the evaluation's cut plays
// no part in the fit.
import CaloGeometry
import CaloTensor
import Foundation

/// Thresholds ε (MeV) per incident-energy bin and layer, applied by `apply`.
/// Stored as `spot-rounding.json` in a model folder.
public struct SpotRoundingTable: Codable, Equatable, Sendable {
  /// The dataset the table was fitted for.
  public var dataset: DatasetKind
  /// Bin edges in log10(E_inc / MeV), ascending; bins = edges.count − 1. Energies outside the range
  /// use the first or last bin.
  public var log10EnergyEdges: [Double]
  /// ε in MeV, [bin][layer] over all layers of the geometry (0 = leave the layer as it is).
  public var thresholdsMeV: [[Double]]

  public init(dataset: DatasetKind, log10EnergyEdges: [Double], thresholdsMeV: [[Double]]) {
    self.dataset = dataset
    self.log10EnergyEdges = log10EnergyEdges
    self.thresholdsMeV = thresholdsMeV
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
    let layers = dataset.geometry.layers.count
    guard binCount >= 1, zip(log10EnergyEdges, log10EnergyEdges.dropFirst()).allSatisfy({ $0 < $1 }),
          log10EnergyEdges.allSatisfy(\.isFinite) else {
      throw SpotRoundingError("log10EnergyEdges must be at least two finite, increasing numbers")
    }
    guard thresholdsMeV.count == binCount, thresholdsMeV.allSatisfy({ $0.count == layers }) else {
      throw SpotRoundingError("thresholdsMeV must be \(binCount) rows (energy bins) of \(layers) values (the layers of \(dataset.rawValue))")
    }
    guard thresholdsMeV.allSatisfy({ $0.allSatisfy { $0.isFinite && $0 >= 0 } }) else {
      throw SpotRoundingError("thresholdsMeV must be finite and ≥ 0")
    }
  }

  /// Spot-rounds showers (N, voxels) in MeV in place. Shower i draws its uniforms from
  /// RNG(seed: seeds[i]), one per voxel below its threshold, in voxel order: the same seeds give the
  /// same showers, whatever the batching.
  public func apply(_ showers: inout [Float], energies: [Double], seeds: [UInt64]) {
    let g = dataset.geometry
    let v = g.voxelCount
    precondition(showers.count == energies.count * v && seeds.count == energies.count, "spot rounding: shapes")
    showers.withUnsafeMutableBufferPointer { buf in
      for i in 0..<energies.count {
        let eps = thresholdsMeV[bin(of: energies[i])]
        var rng = RNG(seed: seeds[i])
        for l in g.layers.indices where eps[l] > 0 {
          let t = Float(eps[l])
          for k in (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1]) {
            let x = buf[k]
            guard x < t else { continue }
            // Draw even for x ≤ 0 so that the stream position does not depend on the values.
            let u = rng.uniform()
            buf[k] = (x > 0 && u * t < x) ? t : 0
          }
        }
      }
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
    let tmp = path + ".tmp"
    try enc.encode(self).write(to: URL(fileURLWithPath: tmp))
    if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    try FileManager.default.moveItem(atPath: tmp, toPath: path)
  }
}

public struct SpotRoundingError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Fits a `SpotRoundingTable` from two streams of showers: target (training data) and dense
/// (the model's output at comparable energies). Both are accumulated batch by batch, so ds3 files
/// never have to be held in memory.
///
/// For each (energy bin, layer) the fit keeps the target's mean count of non-empty voxels per shower
/// and a fine log histogram (count and sum of x per bin) of the dense voxel values. After spot rounding
/// at ε, a dense voxel x is non-empty with probability min(1, x/ε), so the expected count per shower is
/// occ(ε) = #(x ≥ ε) + Σ_{x<ε} x / ε, which falls monotonically from #(x > 0) towards 0. ε solves
/// occ(ε) = target count, on the histogram's edges with linear interpolation between them.
public struct SpotRoundingFit: Sendable {
  public let dataset: DatasetKind
  public let edges: [Double]
  /// Histogram of dense values: log10(MeV) from `histLo` in steps of 1/`perDecade`.
  static let histLo = -8.0, histHi = 7.0, perDecade = 50.0
  static var histBins: Int { Int((histHi - histLo) * perDecade) }
  private var targetNonEmpty: [[Double]], targetShowers: [Double]
  private var denseCount: [[[Double]]], denseSum: [[[Double]]], denseShowers: [Double]

  public init(dataset: DatasetKind, edges: [Double]? = nil) {
    self.dataset = dataset
    self.edges = edges ?? SpotRoundingTable.defaultEdges(for: dataset)
    let nb = self.edges.count - 1, nl = dataset.geometry.layers.count
    targetNonEmpty = Array(repeating: Array(repeating: 0, count: nl), count: nb)
    targetShowers = Array(repeating: 0, count: nb)
    denseCount = Array(repeating: Array(repeating: Array(repeating: 0, count: Self.histBins), count: nl), count: nb)
    denseSum = denseCount
    denseShowers = targetShowers
  }

  private var binner: SpotRoundingTable { SpotRoundingTable(dataset: dataset, log10EnergyEdges: edges, thresholdsMeV: []) }

  /// Adds target showers (N, voxels) in MeV.
  public mutating func addTarget(showers: [Float], energies: [Double]) {
    let g = dataset.geometry, v = g.voxelCount, t = binner
    for i in energies.indices {
      let b = t.bin(of: energies[i])
      targetShowers[b] += 1
      for l in g.layers.indices {
        var n = 0
        for k in (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1]) where showers[k] > 0 { n += 1 }
        targetNonEmpty[b][l] += Double(n)
      }
    }
  }

  /// Adds dense (model) showers (N, voxels) in MeV.
  public mutating func addDense(showers: [Float], energies: [Double]) {
    let g = dataset.geometry, v = g.voxelCount, t = binner, nh = Self.histBins
    for i in energies.indices {
      let b = t.bin(of: energies[i])
      denseShowers[b] += 1
      for l in g.layers.indices {
        for k in (i * v + g.offsets[l])..<(i * v + g.offsets[l + 1]) {
          let x = Double(showers[k])
          guard x > 0 else { continue }
          let h = min(nh - 1, max(0, Int(((Foundation.log10(x) - Self.histLo) * Self.perDecade).rounded(.down))))
          denseCount[b][l][h] += 1
          denseSum[b][l][h] += x
        }
      }
    }
  }

  /// Mean non-empty voxels per target shower, [bin][layer] (NaN where the bin has no showers).
  public var targetOccupancy: [[Double]] {
    zip(targetNonEmpty, targetShowers).map { row, n in row.map { n > 0 ? $0 / n : .nan } }
  }

  /// Mean non-empty voxels per dense shower before rounding, [bin][layer] (NaN where the bin is empty).
  public var denseOccupancy: [[Double]] {
    zip(denseCount, denseShowers).map { rows, n in rows.map { n > 0 ? $0.reduce(0, +) / n : .nan } }
  }

  /// Expected non-empty voxels per dense shower after rounding at ε, from the histogram (values in a
  /// histogram bin are taken as all below ε when the bin's upper edge is ≤ ε, else all at or above).
  public func expectedOccupancy(bin b: Int, layer l: Int, epsilon: Double) -> Double {
    guard denseShowers[b] > 0 else { return .nan }
    var occ = 0.0
    let cut = Int(((Foundation.log10(max(epsilon, 1e-300)) - Self.histLo) * Self.perDecade).rounded())
    for h in 0..<Self.histBins {
      if h < cut { occ += denseSum[b][l][h] / epsilon } else { occ += denseCount[b][l][h] }
    }
    return occ / denseShowers[b]
  }

  /// The fitted table. A (bin, layer) gets ε = 0 when either side has no showers there or the dense
  /// output is already as sparse as the target.
  public func table() -> SpotRoundingTable {
    let nb = edges.count - 1, nl = dataset.geometry.layers.count
    var eps = Array(repeating: Array(repeating: 0.0, count: nl), count: nb)
    let target = targetOccupancy
    for b in 0..<nb where targetShowers[b] > 0 && denseShowers[b] > 0 {
      for l in 0..<nl {
        let want = target[b][l]
        let have = denseCount[b][l].reduce(0, +) / denseShowers[b]
        guard have > want, want > 0 else { continue }
        // occ at histogram edge h is (Σ_{j<h} sum_j) / ε_h + Σ_{j≥h} count_j: monotone in h. Walk the
        // edges with running sums and interpolate (in log ε) between the pair that brackets `want`.
        var below = 0.0, above = have * denseShowers[b]
        var prevLogE = Self.histLo, prevOcc = have
        for h in 1...Self.histBins {
          below += denseSum[b][l][h - 1]
          above -= denseCount[b][l][h - 1]
          let logE = Self.histLo + Double(h) / Self.perDecade
          let o = (below / Foundation.pow(10, logE) + above) / denseShowers[b]
          if o <= want {
            let f = prevOcc > o ? (prevOcc - want) / (prevOcc - o) : 1
            eps[b][l] = Foundation.pow(10, prevLogE + f * (logE - prevLogE))
            break
          }
          prevLogE = logE; prevOcc = o
        }
      }
    }
    return SpotRoundingTable(dataset: dataset, log10EnergyEdges: edges, thresholdsMeV: eps)
  }
}
