// `calovq info`: what a user wants to know first about a shower file.

import CaloData
import CaloGeometry
import Foundation

/// Summary statistics of a shower file, computed in one streaming pass.
public struct FileSummary {
  public var path: String
  public var kind: DatasetKind?
  public var count: Int
  public var voxels: Int
  public var energyMin: Double
  public var energyMax: Double
  /// Response E_tot/E_inc: mean and standard deviation over showers.
  public var responseMean: Double
  public var responseStd: Double
  /// Mean energy per relevant layer in MeV, keyed by layer id (ascending).
  public var layerMeans: [(id: Int, meanMeV: Double)]
  /// Fraction of voxels below the dataset's readout threshold.
  public var sparsity: Double

  /// Streams `reader` once with batches of `batchSize` showers.
  public init(reader: ShowerFileReader, batchSize: Int = 1000) throws {
    path = reader.path
    kind = reader.kind
    count = reader.count
    voxels = reader.voxelCount
    energyMin = reader.energies.min() ?? 0
    energyMax = reader.energies.max() ?? 0
    let geo = reader.geometry
    let threshold = Float(kind?.voxelThresholdMeV ?? 0)
    var sumR = 0.0, sumR2 = 0.0, zeros = 0
    var layerSums = [Double](repeating: 0, count: geo?.layers.count ?? 0)
    try reader.forEachBatch(size: batchSize) { batch in
      for i in 0..<batch.count {
        let row = batch.shower(i)
        var tot = 0.0
        for v in row {
          tot += Double(v)
          if v < threshold { zeros += 1 }
        }
        let r = tot / batch.energies[i]
        sumR += r
        sumR2 += r * r
        if let geo {
          for (l, layer) in geo.layers.enumerated() where layer.isRelevant {
            let base = row.startIndex
            var s = 0.0
            for k in geo.offsets[l]..<geo.offsets[l + 1] { s += Double(row[base + k]) }
            layerSums[l] += s
          }
        }
      }
    }
    let n = Double(max(count, 1))
    responseMean = sumR / n
    responseStd = (max(sumR2 / n - responseMean * responseMean, 0)).squareRoot()
    layerMeans = geo.map { g in g.relevantLayerIndices.map { (g.layers[$0].id, layerSums[$0] / n) } } ?? []
    sparsity = Double(zeros) / Double(max(count * voxels, 1))
  }

  /// The report printed by `calovq info`.
  public func report() -> String {
    var s = "file:        \(path)\n"
    s += "dataset:     \(kind?.rawValue ?? "custom binning") (\(voxels) voxels)\n"
    s += "showers:     \(count)\n"
    s += String(format: "E_inc:       %.4g – %.4g MeV\n", energyMin, energyMax)
    s += String(format: "E_tot/E_inc: mean %.4f, std %.4f\n", responseMean, responseStd)
    s += String(format: "sparsity:    %.3f of voxels below %.4g MeV\n", sparsity, kind?.voxelThresholdMeV ?? 0)
    s += "mean energy per layer (MeV):\n"
    for (id, m) in layerMeans { s += String(format: "  layer %2d  %12.3f\n", id, m) }
    return s
  }
}
