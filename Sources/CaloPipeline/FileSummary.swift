// `calovq info`: what a user wants to know first about a shower file, computed in one streaming pass.
// Pure statistics and text; the CLI only parses arguments and prints `report()`.

import CaloData
import CaloGeometry
import Foundation

/// Summary statistics of a shower file, computed in one streaming pass (memory: one batch).
public struct FileSummary {
  public var path: String
  public var kind: DatasetKind?
  /// The binning used for per-layer sums: `--binning` if given, else the dataset's preset.
  public var geometry: Geometry?
  public var count: Int
  public var voxels: Int
  /// Stored element type of `showers` ("float32", "float64").
  public var storedType: String
  /// The `calovq_source` root attribute (nil when absent, e.g. in official GEANT4 files).
  public var source: String?
  public var energyMin: Double
  public var energyMax: Double
  /// Incident-energy histogram: ds1 one row per discrete energy 2^8 … 2^22 MeV (plus "other" when a value
  /// is not one of them), otherwise ten log-spaced bins from `energyMin` to `energyMax`.
  public var energyHistogram: [(label: String, count: Int)]
  /// Response E_tot/E_inc: mean and standard deviation over showers.
  public var responseMean: Double
  public var responseStd: Double
  /// Mean energy per relevant layer in MeV, keyed by layer id (document order).
  public var layerMeans: [(id: Int, meanMeV: Double)]
  /// Voxel readout threshold used for sparsity, MeV (0 for a custom binning without a dataset).
  public var thresholdMeV: Double
  /// Fraction of voxels below the dataset's readout threshold (or exactly 0 without one).
  public var sparsity: Double

  /// Streams `reader` once.
  /// - Parameters:
  ///   - geometry: a binning (from `--binning`) that overrides the dataset preset; its voxel count must
  ///     equal the file's.
  ///   - batchSize: showers per read; by default about 16 M voxel values (64 MB) per batch.
  public init(reader: ShowerFileReader, geometry: Geometry? = nil, batchSize: Int? = nil) throws {
    path = reader.path
    kind = reader.kind
    count = reader.count
    voxels = reader.voxelCount
    storedType = reader.storedType
    source = reader.source
    energyMin = reader.energies.min() ?? 0
    energyMax = reader.energies.max() ?? 0
    let geo = geometry ?? reader.geometry
    precondition(geo == nil || geo!.voxelCount == voxels,
                 "FileSummary: binning has \(geo!.voxelCount) voxels, file \(voxels)")
    self.geometry = geo
    energyHistogram = FileSummary.histogram(reader.energies, discrete: kind?.isDS1 ?? false)
    thresholdMeV = kind?.voxelThresholdMeV ?? 0
    let threshold = Float(thresholdMeV)
    var sumR = 0.0, sumR2 = 0.0, zeros = 0
    var layerSums = [Double](repeating: 0, count: geo?.layers.count ?? 0)
    let batch = batchSize ?? max(1, (16 << 20) / max(voxels, 1))
    try reader.forEachBatch(size: batch) { batch in
      for i in 0..<batch.count {
        let row = batch.shower(i)
        var tot = 0.0
        for v in row {
          tot += Double(v)
          if v < threshold || v == 0 { zeros += 1 }
        }
        let r = tot / batch.energies[i]
        sumR += r
        sumR2 += r * r
        if let geo {
          let base = row.startIndex
          for (l, layer) in geo.layers.enumerated() where layer.isRelevant {
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

  /// Counts per ds1 energy (`discrete`), or ten log-spaced bins between the extremes.
  static func histogram(_ energies: [Double], discrete: Bool) -> [(label: String, count: Int)] {
    guard let lo = energies.min(), let hi = energies.max() else { return [] }
    if discrete {
      var counts = [Int](repeating: 0, count: DatasetKind.ds1Energies.count)
      var other = 0
      for e in energies {
        // The official files store exact powers of two; allow float32 rounding and nothing more.
        if let k = DatasetKind.ds1Energies.firstIndex(where: { abs($0 - e) <= 1e-6 * $0 }) {
          counts[k] += 1
        } else {
          other += 1
        }
      }
      // Exact MeV values: these are the labels the official files and papers use (2^8 … 2^22 MeV).
      var rows = zip(DatasetKind.ds1Energies, counts).map { (e, c) in (String(format: "%7.0f MeV", e), c) }
      if other > 0 { rows.append(("other", other)) }
      return rows
    }
    let bins = 10
    guard hi > lo else { return [(formatEnergy(lo), energies.count)] }
    let (llo, lhi) = (log(lo), log(hi))
    var counts = [Int](repeating: 0, count: bins)
    for e in energies { counts[min(bins - 1, Int((log(e) - llo) / (lhi - llo) * Double(bins)))] += 1 }
    // Enough significant digits that neighbouring edges print differently, even for a narrow range.
    let step = (lhi - llo) / Double(bins)
    let digits = min(10, max(3, Int((-log10(step)).rounded(.up)) + 2))
    return (0..<bins).map { b in
      let a = exp(llo + (lhi - llo) * Double(b) / Double(bins))
      let z = exp(llo + (lhi - llo) * Double(b + 1) / Double(bins))
      return (formatEnergy(a, digits: digits) + " – " + formatEnergy(z, digits: digits), counts[b])
    }
  }

  /// 256 MeV, 4.1 GeV, 1 TeV: `digits` significant digits (default 3) in the natural unit.
  static func formatEnergy(_ mev: Double, digits: Int = 3) -> String {
    if mev >= 1e6 { return String(format: "%.*g TeV", digits, mev / 1e6) }
    if mev >= 1e3 { return String(format: "%.*g GeV", digits, mev / 1e3) }
    return String(format: "%.*g MeV", digits, mev)
  }

  /// The report printed by `calovq info`.
  public func report() -> String {
    var s = "file:        \(path)\n"
    let name = kind?.rawValue ?? "custom binning"
    s += "dataset:     \(name) (\(voxels) voxels, stored as \(storedType))\n"
    if let source {
      s += "source:      \(source)\n"
      if ShowerSource.isSimulator(source) && !source.contains("not GEANT4") { s += "             parameterised (CaloVQ simulator), not GEANT4\n" }
    } else if FileSummary.looksLikeSimulatorSample(path) {
      s += "source:      parameterised (CaloVQ simulator), not GEANT4 (from the file's location)\n"
    }
    s += "showers:     \(count)\n"
    guard count > 0 else { return s }
    s += "E_inc:       \(FileSummary.formatEnergy(energyMin)) – \(FileSummary.formatEnergy(energyMax))"
      + String(format: " (%.6g – %.6g MeV)\n", energyMin, energyMax)
    s += (kind?.isDS1 ?? false) ? "E_inc histogram (showers per discrete energy):\n"
      : "E_inc histogram (10 log-spaced bins):\n"
    let top = max(energyHistogram.map(\.count).max() ?? 1, 1)
    let width = energyHistogram.map(\.label.count).max() ?? 0
    for (label, c) in energyHistogram {
      let bar = String(repeating: "#", count: (c * 40 + top - 1) / top)
      s += "  " + label.padding(toLength: width, withPad: " ", startingAt: 0)
        + String(format: " %8d ", c) + bar + "\n"
    }
    s += String(format: "E_tot/E_inc: mean %.4f, std %.4f\n", responseMean, responseStd)
    s += thresholdMeV > 0
      ? String(format: "sparsity:    %.3f of voxels below %.4g MeV\n", sparsity, thresholdMeV)
      : String(format: "sparsity:    %.3f of voxels are zero\n", sparsity)
    if !layerMeans.isEmpty {
      s += "mean energy per layer (MeV):\n"
      for (id, m) in layerMeans { s += String(format: "  layer %2d  %12.3f\n", id, m) }
    }
    return s
  }

  /// Bundled samples (under `sample-data/`) and files named `calovq-sim*` / `calovq_sim*` come from the
  /// parameterised simulator even when an older writer left out the `calovq_source` attribute.
  public static func looksLikeSimulatorSample(_ path: String) -> Bool {
    let p = path.lowercased()
    let file = (p as NSString).lastPathComponent
    return p.contains("sample-data/") || file.hasPrefix("calovq-sim") || file.hasPrefix("calovq_sim")
  }
}
